// Command runner plans and runs servebench suites, runs single benchmarks
// against a URL, and reads, compares and reports results.
//
// Exit codes (docs/exit-codes.md): 0 success; 1 could not run; 2 usage or
// bad input; 3 a threshold failed (a regression, an invalid level with
// --fail-invalid); 4 the run failed; 5 inconclusive; 130 interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/exporter/push"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/internal/runlog"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/store"
)

// Exit codes.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitRegression   = 3 // a threshold failed: a regression, or an invalid level with --fail-invalid
	exitRunFailed    = 4
	exitInconclusive = 5
	exitInterrupted  = 130
)

// usagef returns an error caused by bad flags or input (exit 2); cli.Usage
// marks one.
func usagef(format string, a ...any) error { return cli.Usagef(format, a...) }

// exitError carries a specific exit code (e.g. 3 for a regression).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// env is what a subcommand may touch of the process.
type env struct {
	args   []string // the subcommand's arguments as given, flags included
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	log    *slog.Logger
	runLog *runlog.Log // log.Handler's destinations; start attaches its run directory's runner.log
	// topoRoot is where the CPU topology is read (/sys below it): "/", or
	// a fixture machine in tests.
	topoRoot string
}

// commands build the subcommands; each file registers its own in init.
var commands []func(*env) *cobra.Command

func register(build func(*env) *cobra.Command) { commands = append(commands, build) }

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(loadgen.GCPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "runner",
		Short: "plan and run servebench suites, benchmark a URL, read and compare results",
		Long: `runner benchmarks LLM inference servers: it runs suites (models x workloads x cores x
load levels) on engines it starts, or one benchmark against any OpenAI-compatible URL,
with every figure live on /metrics, and reads, compares, reports and backfills results.`,
		Example: `  runner start --suite smoke                  # the smoke suite on the built-in simulator
  runner start --suite scaling --cores 8,16,32 --dry-run
  runner bench --target http://127.0.0.1:8000 --profile constant --rate 1,4 --workload chat_lite
  runner results --last
  runner compare results/smoke/RUN_A results/smoke/RUN_B`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.UnknownCommand(c, args[0])
			}
			fmt.Fprintln(e.stderr, "runner: give a command")
			c.SetOut(e.stderr)
			_ = c.Usage()
			return exitError{exitUsage, errShown}
		},
	}
	var level, format string
	root.PersistentFlags().StringVar(&level, "log-level", "", "log level: debug, info, warn, error (default: info into runner start's runner.log, warn on the terminal)")
	root.PersistentFlags().StringVar(&format, "log-format", "logfmt", "log format: logfmt or json")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return e.setupLog(c, level, format) }
	for _, build := range commands {
		root.AddCommand(build(e))
	}
	return root
}

// setupLog sends the log apart from what a person reads: runner start logs
// into its run directory (runner.log, from --log-level, default info) and
// shows only warnings and errors among its progress lines; other commands
// log to stderr from --log-level, default warn.
func (e *env) setupLog(c *cobra.Command, level, format string) error {
	l, err := runlog.FromFlags(e.stderr, level, format, c.Name() == "start")
	if err != nil {
		return cli.Usage(err)
	}
	e.runLog, e.log = l, l.Logger()
	return nil
}

// errShown is an error already explained to the user.
var errShown = errors.New("")

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runEnv(args, &env{stdout: stdout, stderr: stderr, getenv: getenv, topoRoot: "/"})
}

func runEnv(args []string, e *env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdout, stderr := e.stdout, e.stderr
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	root := newRoot(e)
	cli.Setup(root, stdout, stderr, buildinfo.Get().String("runner"))
	if _, rest, err := root.Find(args); err == nil {
		e.args = rest
	}
	c, err := cli.Execute(ctx, root, args)
	if e.runLog != nil {
		_ = e.runLog.Close()
	}
	return exitCode(ctx, stderr, c, err)
}

func exitCode(ctx context.Context, stderr io.Writer, c *cobra.Command, err error) int {
	var ee exitError
	switch {
	case err == nil && ctx.Err() != nil:
		return exitInterrupted
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		if !errors.Is(err, errShown) {
			cli.Report(stderr, c, err)
		}
		return ee.code
	case cli.IsUsage(err):
		cli.Report(stderr, c, err)
		return exitUsage
	case runFailed(err):
		cli.Report(stderr, c, err)
		return exitRunFailed
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "runner: interrupted: %v\n", err)
		return exitInterrupted
	default:
		cli.Report(stderr, c, err)
		return exitFailure
	}
}

// runFailed reports a run that started and then failed: results that could
// not be written or pushed, an engine that died, a level with no successful
// request, one aborted or one that overran its budget.
func runFailed(err error) bool {
	var died *engine.ExitError
	return errors.Is(err, store.ErrWrite) || errors.Is(err, push.ErrNotDelivered) || errors.As(err, &died) ||
		errors.Is(err, loadgen.ErrNoSuccess) || errors.Is(err, loadgen.ErrAborted) || errors.Is(err, loadgen.ErrNoMaxRate) ||
		errors.Is(err, orchestrate.ErrOverBudget)
}
