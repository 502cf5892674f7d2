package launch

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Host is a tool run as a child process.
type Host struct {
	Argv    []string          // program and arguments
	Env     map[string]string // added to the inherited environment; may be printed
	Secrets map[string]string // added likewise; never printed
	Dir     string            // working directory; "" = the runner's
	// Redact lists argument values that are secret (an API key a tool only
	// takes on its command line); String shows them as <redacted>.
	Redact []string
	// Grace is how long an interrupted tool may take to write its files
	// before it is killed; 10s when zero.
	Grace time.Duration
}

// String is the command line with its environment, secrets redacted, for
// dry runs and logs.
func (h Host) String() string {
	var parts []string
	for _, kv := range envList(h.Env) {
		parts = append(parts, shellQuote([]string{kv}))
	}
	for _, kv := range envList(h.Secrets) {
		k, _, _ := strings.Cut(kv, "=")
		parts = append(parts, k+"=<redacted>")
	}
	return strings.TrimSpace(strings.Join(append(parts, shellQuote(redact(h.Argv, h.Redact))), " "))
}

// RunHost runs the tool, streaming its output, and waits for it. A non-zero
// exit is an *ExitError carrying the last lines of output. When ctx ends the
// tool's process group gets SIGINT, then SIGKILL after the grace period.
func RunHost(ctx context.Context, h Host, out Output) error {
	if len(h.Argv) == 0 {
		return errNoArgs
	}
	cmd := exec.Command(h.Argv[0], h.Argv[1:]...)
	cmd.Dir = h.Dir
	if len(h.Env)+len(h.Secrets) > 0 {
		cmd.Env = append(cmd.Environ(), envList(h.Env)...)
		cmd.Env = append(cmd.Env, envList(h.Secrets)...)
	}
	lw := newLineWriter(out, 20)
	cmd.Stdout, cmd.Stderr = lw, lw
	ownGroup(cmd)
	// A worker that outlives the tool and keeps its stdout open must not
	// hold Wait forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", h.Argv[0], err)
	}
	grace := h.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = signalGroup(cmd.Process, sigInterrupt)
		select {
		case err = <-done:
		case <-time.After(grace):
			_ = signalGroup(cmd.Process, sigKill)
			err = <-done
		}
	}
	lw.Flush()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		code := exit.ExitCode()
		if ctx.Err() != nil {
			return fmt.Errorf("%s interrupted (exit %d): %w", h.Argv[0], code, ctx.Err())
		}
		return &ExitError{Tool: h.Argv[0], ExitCode: code, LastLines: lw.lines()}
	default:
		return fmt.Errorf("%s: %w", h.Argv[0], err)
	}
}

// HostVersion runs argv (e.g. guidellm --version) and parses the version it
// prints.
func HostVersion(ctx context.Context, argv ...string) (string, error) {
	if len(argv) == 0 {
		return "", errNoArgs
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(b)))
	}
	v, err := ParseVersion(string(b))
	if err != nil {
		return "", fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return v, nil
}
