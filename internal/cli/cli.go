// Package cli holds the command-line conventions every servebench binary
// shares, on top of cobra: flags before or after arguments, an error line
// first and then a hint to -h (never the whole flag list first), a
// suggestion for a mistyped flag, Go-style single-dash long flags still
// accepted, and usage errors told apart from run failures so that each
// binary maps them to its exit codes.
//
// Only cmd/ packages import it; it never touches os.Args, os.Exit or the
// environment itself.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// UsageError marks an error caused by bad flags, arguments or input: the
// binaries exit 2 on it and print a hint to -h.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// Usage marks err as a usage error; nil stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return UsageError{err}
}

// IsUsage reports whether err is a usage error.
func IsUsage(err error) bool {
	var ue UsageError
	return errors.As(err, &ue)
}

// Setup makes root and its subcommands behave the servebench way: help on
// stdout, errors left to Report, flag errors as usage errors with a
// suggestion, and --version printing version.
func Setup(root *cobra.Command, stdout, stderr io.Writer, version string) {
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SuggestionsMinimumDistance = 2
	if version != "" {
		root.Version = version
		root.SetVersionTemplate("{{.Version}}\n")
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return UsageError{suggest(c, err)}
	})
}

// NoArgs is a cobra.PositionalArgs refusing any argument, as a usage error.
func NoArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	return nil
}

// Execute runs root with args and returns the command that ran or was
// being parsed, and its error. An error raised before the command's RunE
// began (unknown command or flag, bad flag value, arguments refused) is a
// UsageError.
func Execute(ctx context.Context, root *cobra.Command, args []string) (*cobra.Command, error) {
	ran := false
	markRun(root, &ran)
	if c, _, err := root.Find(args); err == nil {
		args = longDashes(c, args)
	}
	root.SetArgs(args)
	c, err := root.ExecuteContextC(ctx)
	if err != nil && !ran && !IsUsage(err) {
		err = UsageError{err}
	}
	return c, err
}

// markRun wraps every RunE of the tree so that Execute can tell a parse
// error from a run error.
func markRun(c *cobra.Command, ran *bool) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			*ran = true
			return run(cmd, args)
		}
	}
	for _, s := range c.Commands() {
		markRun(s, ran)
	}
}

// Report prints err as "prog: err" and, for a usage error, a hint to the
// failing command's -h.
func Report(w io.Writer, c *cobra.Command, err error) {
	if c == nil {
		fmt.Fprintf(w, "%v\n", err)
		return
	}
	fmt.Fprintf(w, "%s: %v\n", c.Root().Name(), err)
	if IsUsage(err) {
		fmt.Fprintf(w, "Run '%s -h' for usage.\n", c.CommandPath())
	}
}

// longDashes rewrites Go-style single-dash long flags (-dry-run,
// -web.listen-address=X) as --flags, so that scripts written for the
// standard flag package keep working and a mistyped one is reported by its
// name. A value following a flag that takes one is left as it is, and so
// are negative numbers.
func longDashes(c *cobra.Command, args []string) []string {
	out := make([]string, 0, len(args))
	lookup := func(name string) *pflag.Flag {
		if f := c.Flags().Lookup(name); f != nil {
			return f
		}
		return c.InheritedFlags().Lookup(name)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && !isNumber(name) {
			a = "-" + a // servebench's commands have no combined shorthands
		}
		out = append(out, a)
		if strings.HasPrefix(a, "--") && !hasValue {
			if f := lookup(name); f != nil && f.NoOptDefVal == "" && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		}
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// suggest adds the nearest flag name to an unknown-flag error.
func suggest(c *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return err
	}
	best, bestD := "", 4
	visit := func(f *pflag.Flag) {
		if d := distance(name, f.Name); d < bestD || (d == bestD && f.Name < best) {
			best, bestD = f.Name, d
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	if best == "" || bestD > len(name)/3+1 {
		return err
	}
	return fmt.Errorf("%w (did you mean --%s?)", err, best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Healthcheck is the healthcheck subcommand of the binaries shipped in
// FROM-scratch images, which have no shell, curl or wget for a container
// HEALTHCHECK: it exits 0 when every URL answers 2xx in time, 1 when one
// does not, 2 on bad arguments.
func Healthcheck(example string) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:     "healthcheck URL...",
		Short:   "exit 0 when every URL answers 2xx (container health probe)",
		Example: example,
		RunE: func(c *cobra.Command, urls []string) error {
			if len(urls) == 0 {
				return Usagef("healthcheck: no URL given")
			}
			if timeout <= 0 {
				return Usagef("healthcheck: --timeout must be positive, got %s", timeout)
			}
			client := &http.Client{Timeout: timeout}
			for _, raw := range urls {
				u, err := url.Parse(raw)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return Usagef("healthcheck: URL %q: want http(s)://host[:port]/path", raw)
				}
				if err := probe(c.Context(), client, u.String()); err != nil {
					return fmt.Errorf("healthcheck: %w", err)
				}
			}
			return nil
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "time allowed for each URL to answer")
	return c
}

// probe GETs url and accepts any 2xx answer; the body is drained so a
// scrape-sized /metrics page does not leave the connection half read.
func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return nil
}

// IsTTY reports whether w is a terminal; a character device that is not
// one (/dev/null) is not.
func IsTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// UnknownCommand is the usage error for a command root does not have, with
// the commands it may have meant.
func UnknownCommand(root *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return Usage(errors.New(msg))
}
