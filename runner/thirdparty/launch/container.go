package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/topology"
)

// Mount is a host directory bound into a container.
type Mount struct {
	Host, Container string
	ReadOnly        bool
}

// Container is a tool run in a container with host networking, pinned to
// its own cpuset (the load generator must not share the engine's cores).
type Container struct {
	Name       string // container name; the driver appends nothing, so make it unique
	Image      string
	Entrypoint []string // nil = the image's
	Cmd        []string // arguments after the entrypoint
	Env        map[string]string
	Secrets    map[string]string // never printed
	CPUs, Mems []int
	Mounts     []Mount
	WorkDir    string
	User       string            // e.g. "1000:1000" so that result files belong to the caller
	Labels     map[string]string // io.servebench.role=loadgen is always set
	Grace      time.Duration     // SIGTERM-to-SIGKILL on cancel; 10s when zero
	Redact     []string          // secret values inside Cmd; String shows <redacted>
}

// Spec is exactly what RunContainer asks Docker to create.
func (c Container) Spec() (*container.Config, *container.HostConfig) {
	env := maps.Clone(c.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, c.Secrets)
	labels := maps.Clone(c.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[contract.ContainerRoleLabel] = string(contract.RoleLoadgen)
	cfg := &container.Config{
		Image:      c.Image,
		Cmd:        strslice.StrSlice(c.Cmd),
		Env:        envList(env),
		Labels:     labels,
		WorkingDir: c.WorkDir,
		User:       c.User,
	}
	if c.Entrypoint != nil {
		cfg.Entrypoint = strslice.StrSlice(c.Entrypoint)
	}
	host := &container.HostConfig{
		NetworkMode:   network.NetworkHost,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			CpusetCpus: topology.FormatList(c.CPUs),
			CpusetMems: topology.FormatList(c.Mems),
		},
	}
	for _, m := range c.Mounts {
		b := m.Host + ":" + m.Container
		if m.ReadOnly {
			b += ":ro"
		}
		host.Binds = append(host.Binds, b)
	}
	return cfg, host
}

// String is the equivalent `docker run` line, secrets redacted.
func (c Container) String() string {
	argv := []string{"docker", "run", "--rm", "--name", c.Name, "--network", "host"}
	if s := topology.FormatList(c.CPUs); s != "" {
		argv = append(argv, "--cpuset-cpus", s)
	}
	if s := topology.FormatList(c.Mems); s != "" {
		argv = append(argv, "--cpuset-mems", s)
	}
	for _, m := range c.Mounts {
		v := m.Host + ":" + m.Container
		if m.ReadOnly {
			v += ":ro"
		}
		argv = append(argv, "-v", v)
	}
	if c.WorkDir != "" {
		argv = append(argv, "-w", c.WorkDir)
	}
	if c.User != "" {
		argv = append(argv, "--user", c.User)
	}
	for _, kv := range envList(c.Env) {
		argv = append(argv, "-e", kv)
	}
	for _, k := range sortedKeys(c.Secrets) {
		argv = append(argv, "-e", k+"=<redacted>")
	}
	if c.Entrypoint != nil {
		argv = append(argv, "--entrypoint", strings.Join(c.Entrypoint, " "))
	}
	argv = append(argv, c.Image)
	return shellQuote(append(argv, redact(c.Cmd, c.Redact)...))
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for _, kv := range envList(m) {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k)
	}
	return out
}

// RunContainer pulls the image if needed, runs the container to completion
// streaming its output, and removes it (also on error and cancellation). A
// non-zero exit is an *ExitError with the last lines of output.
func RunContainer(ctx context.Context, api engine.DockerAPI, c Container, out Output, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := engine.EnsureImage(ctx, api, c.Image, log); err != nil {
		return err
	}
	cfg, host := c.Spec()
	created, err := api.ContainerCreate(ctx, cfg, host, nil, nil, c.Name)
	if err != nil {
		return fmt.Errorf("create container %s: %w", c.Name, err)
	}
	cleanup := context.WithoutCancel(ctx)
	defer func() {
		rctx, cancel := context.WithTimeout(cleanup, 30*time.Second)
		defer cancel()
		if err := api.ContainerRemove(rctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
			log.Warn("removing load generator container", "name", c.Name, "err", err)
		}
	}()
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", c.Name, err)
	}
	lw := newLineWriter(out, 20)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		rc, err := api.ContainerLogs(cleanup, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			log.Warn("load generator logs unavailable", "name", c.Name, "err", err)
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(lw, lw, rc)
	}()
	okC, errC := api.ContainerWait(cleanup, created.ID, container.WaitConditionNotRunning)
	var code int64 = -1
	interrupted := false
	for code < 0 {
		select {
		case r := <-okC:
			code = r.StatusCode
		case err := <-errC:
			return fmt.Errorf("waiting for container %s: %w", c.Name, err)
		case <-ctx.Done():
			if interrupted {
				continue
			}
			interrupted = true
			secs := 10
			if c.Grace > 0 {
				secs = int(c.Grace / time.Second)
			}
			sctx, cancel := context.WithTimeout(cleanup, time.Duration(secs+10)*time.Second)
			_ = api.ContainerStop(sctx, created.ID, container.StopOptions{Timeout: &secs})
			cancel()
		}
	}
	select {
	case <-logsDone:
	case <-time.After(5 * time.Second):
	}
	lw.Flush()
	switch {
	case interrupted:
		return fmt.Errorf("%s interrupted (exit %d): %w", c.Name, code, ctx.Err())
	case code != 0:
		return &ExitError{Tool: c.Name, ExitCode: int(code), LastLines: lw.lines()}
	}
	return nil
}

// ContainerVersion runs the image with args (e.g. --version) and parses the
// version it prints.
func ContainerVersion(ctx context.Context, api engine.DockerAPI, c Container) (string, error) {
	var buf strings.Builder
	err := RunContainer(ctx, api, c, Output{Log: &buf}, nil)
	if err != nil {
		var exit *ExitError
		if !errors.As(err, &exit) {
			return "", err
		}
		return "", fmt.Errorf("%s --version: %w", c.Image, err)
	}
	return ParseVersion(buf.String())
}
