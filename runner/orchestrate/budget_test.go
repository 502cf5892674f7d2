package orchestrate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
)

// The suite's default limits are the native load generator's defaults.
func TestDefaultLimitsMatchLoadgen(t *testing.T) {
	l := suite.Defaults.Limits
	if seconds(l.DrainTimeoutSeconds) != loadgen.DefaultDrainTimeout || seconds(l.StreamIdleTimeoutSeconds) != loadgen.DefaultStreamIdleTimeout {
		t.Fatalf("suite defaults drain %vs idle %vs, loadgen %v %v", l.DrainTimeoutSeconds, l.StreamIdleTimeoutSeconds,
			loadgen.DefaultDrainTimeout, loadgen.DefaultStreamIdleTimeout)
	}
	if suite.LevelSlack != loadgen.BudgetSlack {
		t.Fatalf("suite.LevelSlack %v, loadgen.BudgetSlack %v", suite.LevelSlack, loadgen.BudgetSlack)
	}
	b, err := LevelBudget(suite.Limits{MaxSeconds: 5, WarmupSeconds: 1, DrainTimeoutSeconds: 2})
	if err != nil || b.Total() != 7*time.Second || b.Window != 4*time.Second {
		t.Fatalf("budget %+v, %v", b, err)
	}
}

// A load generator that does not return within its level's budget is
// canceled by the orchestrator's backstop, and the cell fails saying so.
func TestBackstopCancelsAnOverrunningLevel(t *testing.T) {
	d := &fakeDriver{}
	l := &fakeLoad{blockAt: "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_1c/poisson-25pct", blocking: make(chan struct{})}
	drain := 0.2
	o := newOrch(t, t.TempDir(), "scaling", suite.Overrides{Cores: []int{1}, MaxSeconds: ptrF(0.3), DrainTimeout: &drain}, d, l, nil)
	o.StartAllowance = 100 * time.Millisecond
	begin := time.Now()
	err := o.Execute(context.Background())
	// 0.1 s allowance + 0.5 s budget + 1 s slack.
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("the backstop took %v", d)
	}
	if !errors.Is(err, ErrOverBudget) || !errors.Is(err, ErrCellsFailed) || !strings.Contains(err.Error(), "budget window 300ms + drain 200ms = 500ms") {
		t.Fatalf("err %v", err)
	}
	if st, _ := store.ReadState(o.Run.Dir); st.Cells[0].Status != store.CellFailed {
		t.Fatalf("cell %+v", st.Cells[0])
	}
}

// A level with no successful request fails the run once every cell ran,
// naming the cell and level; the other levels and cells are not skipped.
func TestLevelWithNoSuccessFailsTheRun(t *testing.T) {
	d := &fakeDriver{}
	l := &fakeLoad{failAt: "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_1c/poisson-50pct"}
	o := newOrch(t, t.TempDir(), "scaling", suite.Overrides{Cores: []int{1, 2}}, d, l, nil)
	err := o.Execute(context.Background())
	if !errors.Is(err, loadgen.ErrNoSuccess) || errors.Is(err, loadgen.ErrAllLevelsFailed) ||
		!strings.Contains(err.Error(), "1 of 10 levels: TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_1c poisson-50pct (10 failed, 0 incomplete)") {
		t.Fatalf("err %v", err)
	}
	st, _ := store.ReadState(o.Run.Dir)
	if st.Status != store.StatusComplete || len(l.targets) != 10 {
		t.Fatalf("status %s, %d levels run", st.Status, len(l.targets))
	}
}
