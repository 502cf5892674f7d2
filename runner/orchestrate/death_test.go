package orchestrate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
)

// An engine that dies mid-level (the simulator's crash fault, reported by
// its watcher with an exit code and its last log lines) ends that level at
// once, fails the cell with the engine's report, runs no further level on
// the dead engine, and the run goes on with the next cell's fresh engine.
func TestEngineCrashEndsTheLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated engines")
	}
	base := simulator.DefaultConfig()
	base.LoadTime = 0
	base.Slowdown = 0.05
	base.Faults.CrashAfter = 12 // the readiness request, then eleven
	maxSeconds := 30.0
	p, pl, run := planRun(t, t.TempDir(), "smoke", suite.Overrides{Cores: []int{4, 8}, MaxSeconds: &maxSeconds}, nil)
	o := &Orchestrator{Plan: p, Placements: pl, Run: run, Driver: engine.NewSim(base, nil, nil), Load: NewNative(nil)}
	begin := time.Now()
	err := o.Execute(context.Background())
	took := time.Since(begin)

	var exit *engine.ExitError
	if !errors.Is(err, ErrCellsFailed) || !errors.As(err, &exit) || exit.ExitCode != 1 || len(exit.LastLines) == 0 {
		t.Fatalf("Execute = %v", err)
	}
	// Two cells, each with a level of 30 s had the death not ended it.
	if took > 20*time.Second {
		t.Errorf("the run took %v", took)
	}
	st, _ := store.ReadState(run.Dir)
	if st.Status != store.StatusFailed || len(st.Cells) != 2 {
		t.Fatalf("run.json: %+v", st)
	}
	for _, c := range st.Cells {
		if c.Status != store.CellFailed || !strings.Contains(c.Error, "died with exit code 1") || !strings.Contains(c.Error, "last log lines") {
			t.Errorf("cell %s: %s %q", c.ID, c.Status, c.Error)
		}
		sum, err := readSummary(run.Dir, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Benchmarks) != 1 || !strings.Contains(sum.Benchmarks[0].StopReason, "died") || sum.Benchmarks[0].Requests.Successful == 0 {
			t.Errorf("cell %s: %d levels, first %+v", c.ID, len(sum.Benchmarks), sum.Benchmarks)
		}
	}
}
