package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/live"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/topology"
)

// Session is one runner start run of a Setup, with what drives its engines
// and load, where its live series go, and where a person and the log read
// about it.
type Session struct {
	Setup  *Setup
	Resume *store.Run // a run to finish; nil = a new one
	Args   []string   // the command's arguments: recorded in the run, its manifest and for a resume
	Driver engine.Driver
	Load   LoadGenerator
	Live   *live.Metrics

	APIKey, ModelCache string
	Secrets            map[string]string
	EnginePort         int
	EngineMetricsEvery time.Duration

	Progress io.Writer // the run's progress lines
	TTY      bool      // Progress is a terminal: one line rewritten in place
	Log      *slog.Logger
	// LogFile, when set, gets the path of the run directory's runner.log
	// once the directory exists.
	LogFile func(path string) error
}

// Execute creates the run directory (or checks that a resumed run has
// every planned cell), runs every cell, and publishes the run's completion
// on the live series and push targets. It returns the run directory ("" when
// none was made) and the run's error joined with a failed push.
func (s Session) Execute(ctx context.Context) (dir string, err error) {
	st, cfg, run := s.Setup, s.Setup.Config, s.Resume
	if run == nil {
		if run, err = st.NewRun(store.New(cfg.Results, nil), store.NewRunID(time.Now()), s.Args); err != nil {
			return "", err
		}
	} else if err := st.CheckResume(run); err != nil {
		_ = run.Close(store.StatusIncomplete)
		return "", err
	}
	logPath := filepath.Join(run.Dir, "runner.log")
	if s.LogFile != nil {
		if err := s.LogFile(logPath); err != nil {
			s.Log.Warn("no log file", "err", err)
		}
	}
	fmt.Fprintf(s.Progress, "run %s: suite %s, %d cells, %d load levels, %s; results in %s (log: %s)\n",
		run.ID(), cfg.Suite.Name, len(st.Plan.Cells), st.Plan.Benchmarks(), st.Plan.Budget(), run.Dir, logPath)
	build := buildinfo.Get()
	o := &Orchestrator{
		Plan: st.Plan, Placements: st.Placements, Run: run, Driver: s.Driver, Load: s.Load,
		Recorder: s.Live.Rec, Summaries: s.Live.Pub, Live: s.Live.Rec, Stress: Stress, Pin: topology.PinSelf, EnginePort: s.EnginePort,
		Image: cfg.Image, Target: cfg.Target, APIKey: s.APIKey, ModelCache: s.ModelCache,
		Secrets: s.Secrets, Host: HostInfo(st.Topology), GitRevision: buildinfo.Revision(ctx), Build: &build,
		Command:  "runner start " + strings.Join(s.Args, " "),
		Progress: s.Progress, TTY: s.TTY, Log: s.Log, EngineMetricsEvery: s.EngineMetricsEvery,
	}
	if home, err := topology.Affinity(); err == nil {
		o.Home = home
	}
	if !o.TTY {
		o.ProgressEvery = 5 * time.Second // plain lines in a log: fewer of them
	}
	err = o.Execute(ctx)
	state := run.State()
	fmt.Fprintf(s.Progress, "run %s %s: %s\n", run.ID(), state.Status, run.Dir)
	if perr := s.Live.Finish(ctx, recorder.RunCompletion{RunID: run.ID(), Suite: cfg.Suite.Name, Models: st.Models(),
		Status: contract.RunStatus(state.Status), Started: state.Started, Finished: state.Finished}, s.Log); perr != nil {
		err = errors.Join(err, perr)
	}
	return run.Dir, err
}
