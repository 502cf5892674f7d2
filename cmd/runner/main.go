// Command runner plans and runs servebench suites, runs single benchmarks
// against a URL, and reads, compares and reports results.
//
// Exit codes: 0 success, 1 failure, 2 bad input or usage, 3 a regression or
// failed threshold, 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/servebench/servebench/runner/loadgen"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitRegression  = 3
	exitInterrupted = 130
)

// usageError marks an error caused by bad flags or input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries a specific exit code (e.g. 3 for a regression).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// env is what a subcommand may touch of the process.
type env struct {
	args   []string // arguments after the subcommand name
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	log    *slog.Logger
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env) error
}

var commands = map[string]command{}

// register is called from each subcommand file's init.
func register(c command) { commands[c.name] = c }

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(loadgen.GCPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "runner: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err := c.run(ctx, env{args: args[1:], stdout: stdout, stderr: stderr, getenv: getenv, log: log})
	return exitCode(ctx, stderr, err)
}

func exitCode(ctx context.Context, stderr io.Writer, err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil && ctx.Err() != nil:
		return exitInterrupted
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK // -h: the flag set has printed its usage
	case errors.As(err, &ee):
		fmt.Fprintf(stderr, "runner: %v\n", err)
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "runner: %v\n", err)
		return exitUsage
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "runner: interrupted: %v\n", err)
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "runner: %v\n", err)
		return exitFailure
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: runner COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'runner COMMAND -h' for a command's flags.")
}
