package metered

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/command"
	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// Command runs load levels with any tool through its command line
// (command.Spec): /bin/sh runs the spec's line in the level's own
// directory, <LogDir>/<name>-<level>/, where the request files, the files
// the spec writes and the tool's report stay after the level. The tool
// sends the cell's request bodies (those the native load generator would
// send) to the metering proxy, whose records are the level's figures: a
// command's latencies are servebench's, whichever tool sent the load. Its
// report, when the spec has a parser, is checked against them.
type Command struct {
	spec    command.Spec
	version string
	out     launch.Output
	log     *slog.Logger
	cells   cellState
}

// ErrToolMissing is returned by NewCommand when the spec's tool is not on
// PATH.
var ErrToolMissing = errors.New("not found on PATH")

// NewCommand checks the spec, finds its tool on PATH and reads its version
// (unknown, "", when the spec has no version line or it prints nothing).
// out is where the tool's output is streamed (its Prefix defaults to the
// spec's name); every level's output is also kept in the level's log.
func NewCommand(ctx context.Context, spec command.Spec, out launch.Output, log *slog.Logger) (*Command, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Tool != "" {
		if _, err := exec.LookPath(spec.Tool); err != nil {
			return nil, fmt.Errorf("command %s: %s %w", spec.Name, spec.Tool, ErrToolMissing)
		}
	}
	if out.Prefix == "" {
		out.Prefix = spec.Name
	}
	c := &Command{spec: spec, out: out, log: log}
	if spec.Version != "" {
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		b, err := exec.CommandContext(vctx, "/bin/sh", "-c", spec.Version).Output()
		cancel()
		if err != nil {
			log.Warn("command: the version line failed", "loadgen", spec.Name, "err", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				c.version = l
				break
			}
		}
	}
	return c, nil
}

// Name implements orchestrate.LoadGenerator: the spec's name.
func (c *Command) Name() string { return c.spec.Name }

// Version implements orchestrate.LoadGenerator.
func (c *Command) Version() string { return c.version }

// Vars are the template values of one level: the proxy at proxyURL, the
// level's directory under dir, its rate or streams, and its sending span.
// The request file paths are set by command.WriteRequests.
func (c *Command) Vars(req orchestrate.LoadRequest, proxyURL, dir string) (command.Vars, error) {
	if !c.spec.Supports(req.Level.Profile) {
		return command.Vars{}, fmt.Errorf("command %s: profile %q is not one it drives (%s)", c.spec.Name, req.Level.Profile, strings.Join(c.spec.Profiles, ", "))
	}
	if !req.Budget.Bounded() {
		return command.Vars{}, fmt.Errorf("command %s: level %s has no time limit (max_seconds): a command sends for the level's sending span", c.spec.Name, req.Level.Name)
	}
	api := measure.API(req.Cell.API)
	if req.Cell.API == "" {
		api = measure.APIChat
	}
	if api == measure.APITranscriptions {
		return command.Vars{}, fmt.Errorf("command %s: the transcriptions API sends recordings, not JSON bodies; use --loadgen native or guidellm", c.spec.Name)
	}
	ldir := filepath.Join(dir, c.spec.Name+"-"+safe(req.Level.Name))
	v := command.Vars{
		URL: proxyURL, Path: api.Path(), Endpoint: proxyURL + api.Path(), Model: req.Model, API: string(api),
		Profile: req.Level.Profile, Level: req.Level.Name,
		Duration: req.Budget.Send().Seconds(), Timeout: req.Limits.RequestTimeoutSeconds, Requests: req.Limits.MaxRequests,
		Output: filepath.Join(ldir, "report"), Dir: ldir,
	}
	if v.Timeout <= 0 {
		v.Timeout = 600 // the native load generator's default
	}
	if closedLoop(req.Level.Profile) {
		v.Concurrency = streams(req)
	} else {
		v.Rate = req.Target
	}
	return v, nil
}

// CommandLine is the shell line spec runs at one level, for dry runs: the
// request files as they would be named in the level's directory under dir.
// A request without a budget gets its limits' (orchestrate.LevelBudget).
func CommandLine(spec command.Spec, req orchestrate.LoadRequest, proxyURL, dir string) (string, error) {
	if err := spec.Validate(); err != nil {
		return "", err
	}
	if !req.Budget.Bounded() {
		b, err := orchestrate.LevelBudget(req.Limits)
		if err != nil {
			return "", err
		}
		req.Budget = b
	}
	v, err := (&Command{spec: spec}).Vars(req, proxyURL, dir)
	if err != nil {
		return "", err
	}
	v.BodyFile, v.BodiesFile, v.TargetsFile = filepath.Join(v.Dir, command.RequestFiles[0]), filepath.Join(v.Dir, command.RequestFiles[1]), filepath.Join(v.Dir, command.RequestFiles[2])
	e, err := command.Expand(spec, v)
	return e.Line, err
}

// Run implements orchestrate.LoadGenerator.
func (c *Command) Run(ctx context.Context, req orchestrate.LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	if len(req.URLs) != 1 {
		return results.Benchmark{}, errOneURL
	}
	// A level the tool cannot drive fails before anything starts.
	if _, err := c.Vars(req, "", ""); err != nil {
		return results.Benchmark{}, err
	}
	return runLevel(ctx, req, rec, c.spec.Name, c.log, &c.cells, func(ctx context.Context, proxyURL, dir string, levelLog io.Writer, _ string) (toolRun, error) {
		v, err := c.Vars(req, proxyURL, dir)
		if err != nil {
			return toolRun{}, err
		}
		set, cfg, err := c.cells.prompts(ctx, req)
		if err != nil {
			return toolRun{}, err
		}
		cfg.Model = req.Model
		bodies, err := loadgen.RequestBodies(cfg, set)
		if err != nil {
			return toolRun{}, err
		}
		if err := os.MkdirAll(v.Dir, 0o755); err != nil {
			return toolRun{}, err
		}
		if err := command.WriteRequests(v.Dir, &v, bodies); err != nil {
			return toolRun{}, err
		}
		defer func() {
			for _, f := range command.RequestFiles {
				_ = os.Remove(filepath.Join(v.Dir, f))
			}
		}()
		e, err := command.Expand(c.spec, v)
		if err != nil {
			return toolRun{}, err
		}
		for name, content := range e.Files {
			if err := os.WriteFile(filepath.Join(v.Dir, name), []byte(content), 0o644); err != nil {
				return toolRun{}, fmt.Errorf("command %s: %w", c.spec.Name, err)
			}
		}
		fmt.Fprintf(levelLog, "# %s\n", e.Line)
		h := launch.Host{Argv: []string{"/bin/sh", "-c", e.Line}, Dir: v.Dir, Grace: stopGrace}
		if err := launch.RunHost(ctx, h, outputs(c.out, levelLog)); err != nil {
			var exit *launch.ExitError
			if errors.As(err, &exit) {
				exit.Tool = c.spec.Name
			}
			return toolRun{}, err
		}
		if e.Report == "" {
			return toolRun{}, nil
		}
		data, err := os.ReadFile(e.Report)
		if err != nil {
			return toolRun{}, fmt.Errorf("its report: %w", err)
		}
		claim, err := command.Parse(c.spec.Report, data, v)
		if err != nil {
			return toolRun{}, fmt.Errorf("%w (%s)", err, e.Report)
		}
		if c.spec.Abandons && closedLoop(req.Level.Profile) {
			claim.Abandoned = v.Concurrency
		}
		claim.Tool = c.spec.Name
		return toolRun{claim: &claim}, nil
	})
}
