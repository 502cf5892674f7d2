// Package bench runs one benchmark against a server someone else started
// (runner bench): the load generator's levels, their live and pushed
// series, and the outputs — the summary (JSON or CSV) and the per-request
// records. Outputs are created before anything is sent, so a bad path costs
// no run, and replace their destinations only when complete, so a failed
// run leaves what was on disk. A requests file that cannot be written stops
// the run at once: the rest would be measured for nothing.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/runner/live"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

// ErrInvalid is returned, with FailInvalid, for a run with a benchmark
// flagged invalid.
var ErrInvalid = errors.New("benchmark invalid")

// invalidError names the invalid benchmark and matches ErrInvalid.
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// Outputs say where a run's figures go.
type Outputs struct {
	Summary      io.Writer // the summary when SummaryFile is ""
	SummaryFile  string
	CSV          bool   // the summary as CSV, else JSON
	RequestsFile string // per-request records (JSON lines); "" = none
	Chunks       bool   // keep every chunk's arrival in the records
}

// Files are a run's outputs, created and not yet committed.
type Files struct {
	o    Outputs
	out  io.Writer
	sumF *atomicfile.File
	reqF *atomicfile.File
	reqW *results.RequestWriter

	sinkErr error
	flushed time.Time
}

// Open creates the outputs beside their destinations; an error names the
// file's flag (--output, --requests).
func Open(o Outputs) (*Files, error) {
	f := &Files{o: o, out: o.Summary}
	var err error
	if o.SummaryFile != "" {
		if f.sumF, err = atomicfile.Create(o.SummaryFile, 0o644); err != nil {
			return nil, fmt.Errorf("--output: %v", err)
		}
		f.out = f.sumF
	}
	if o.RequestsFile != "" {
		if f.reqF, err = atomicfile.Create(o.RequestsFile, 0o644); err != nil {
			f.Abort()
			return nil, fmt.Errorf("--requests: %v", err)
		}
		f.reqW = results.NewRequestWriter(f.reqF)
	}
	return f, nil
}

// Abort removes the outputs not committed.
func (f *Files) Abort() {
	if f.sumF != nil {
		f.sumF.Abort()
	}
	if f.reqF != nil {
		f.reqF.Abort()
	}
}

// Run is one runner bench run.
type Run struct {
	ID          string // in summary.json (for backfill) and on every series
	Config      loadgen.Config
	Cores       int       // the server's, for the summary (0 = unknown)
	Live        *live.Run // nil: no live series, nothing pushed
	Linger      time.Duration
	FailInvalid bool
	Log         *slog.Logger
}

// Run runs r's levels and writes, whatever happened, what was measured. An
// interrupted run that wrote its outputs is no error; a run that sent
// nothing returns loadgen's error (loadgen.ErrConfig for a bad Config).
func (f *Files) Run(ctx context.Context, r Run) error {
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	var rec measure.Recorder = measure.Discard
	if r.Live != nil {
		rec = r.Live.Recorder()
	}
	started := time.Now()
	sum, runErr := loadgen.Run(runCtx, r.Config, rec, func(res *measure.Result) { f.record(res, stopRun) })
	if f.sinkErr != nil && ctx.Err() == nil {
		runErr = f.sinkErr // not an interrupt: the write failed
	}
	if sum == nil {
		return runErr
	}
	sum.Cores, sum.RunID = r.Cores, r.ID
	var pushErr error
	if r.Live != nil {
		r.Live.Publish(sum)
		status := contract.RunComplete
		switch {
		case ctx.Err() != nil:
			status = contract.RunIncomplete
		case runErr != nil:
			status = contract.RunFailed
		}
		pushErr = r.Live.Finish(ctx, recorder.RunCompletion{RunID: r.ID, Suite: "bench", Models: []string{r.Config.Model}, Status: status,
			Started: started, Finished: time.Now()}, r.Log)
		defer r.Live.Linger(ctx, time.Now(), r.Linger)
	}
	werr := f.commit(sum)
	if runErr != nil && ctx.Err() == nil {
		return errors.Join(runErr, werr, pushErr)
	}
	if werr = errors.Join(werr, pushErr); werr != nil {
		return werr
	}
	if ctx.Err() != nil {
		return nil // interrupted: what was measured is written
	}
	if err := loadgen.CheckSuccess(sum.Benchmarks); err != nil {
		return err
	}
	if r.FailInvalid {
		for _, b := range sum.Benchmarks {
			if !b.Valid {
				return invalidError(fmt.Sprintf("benchmark %s is invalid: %s", b.Level, strings.Join(b.InvalidReasons, "; ")))
			}
		}
	}
	return nil
}

// record writes one request's record; a failed write aborts the run.
func (f *Files) record(r *measure.Result, stopRun context.CancelCauseFunc) {
	if f.reqW == nil || f.sinkErr != nil {
		return
	}
	if !f.o.Chunks {
		slim := *r
		slim.Chunks = nil
		r = &slim
	}
	f.sinkErr = f.reqW.Write(r)
	if now := time.Now(); f.sinkErr == nil && now.Sub(f.flushed) >= time.Second {
		// Out of the buffer at least every second: a full disk shows
		// now, not when the buffer fills minutes later.
		f.sinkErr, f.flushed = f.reqW.Flush(), now
	}
	if f.sinkErr != nil {
		f.sinkErr = fmt.Errorf("--requests: %w: %w", store.ErrWrite, f.sinkErr)
		stopRun(loadgen.Abort(f.sinkErr))
	}
}

// commit writes the summary and commits both outputs; failures wrap
// store.ErrWrite.
func (f *Files) commit(sum *results.Summary) error {
	var werr error
	if f.o.CSV {
		werr = results.WriteCSV(f.out, sum)
	} else {
		werr = results.WriteSummary(f.out, sum)
	}
	if f.sumF != nil && werr == nil {
		werr = f.sumF.Commit()
	}
	if werr != nil {
		werr = fmt.Errorf("--output: %w: %w", store.ErrWrite, werr)
	}
	if f.reqW != nil && f.sinkErr == nil {
		if err := f.reqW.Flush(); err != nil {
			werr = errors.Join(werr, fmt.Errorf("--requests: %w: %w", store.ErrWrite, err))
		} else if err := f.reqF.Commit(); err != nil {
			werr = errors.Join(werr, fmt.Errorf("--requests: %w: %w", store.ErrWrite, err))
		}
	}
	return werr
}
