package orchestrate

import (
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/suite"
)

func TestProgressStatus(t *testing.T) {
	p := planFor(t, "scaling", suite.Overrides{Cores: []int{1, 2}, MaxSeconds: ptrF(10)})
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	pr := newProgress(nil, false, p, clock, time.Second)
	if pr.status() != "" {
		t.Errorf("status before the first cell: %q", pr.status())
	}
	c := p.Cells[0]
	pr.startCell(c, "starting engine")
	now = now.Add(3 * time.Second)
	// Engine starting: every level of both cells is still ahead, each at
	// its budget (10 s + 10 s drain) and the slack to cut; the engine
	// start-ups have no bound and are counted apart.
	if got := pr.status(); got != "cell 1/2 starting engine | run 3s, ETA ≤ 3m30s + 2 engine start-ups" {
		t.Errorf("starting: %q", got)
	}
	pr.startLevel(c, 1, c.Levels[1], 2.5)
	now = now.Add(time.Second)
	if got := pr.status(); got != "cell 1/2 · level 2/5 poisson-25pct | preparing | run 4s, ETA ≤ 3m9s + 1 engine start-up" {
		t.Errorf("preparing: %q", got)
	}
	rec := pr.recorder(measure.Discard).Benchmark(measure.BenchmarkLabels{}) // the level's load begins
	t0 := time.Unix(2000, 0)
	for range 4 {
		rec.Started()
	}
	for i, ms := range []int{100, 300, 200} {
		r := &measure.Result{Scheduled: t0, FirstTok: t0.Add(time.Duration(ms) * time.Millisecond), Outcome: contract.OutcomeSuccess}
		if i == 2 {
			r.Outcome = contract.OutcomeError
		}
		rec.FirstToken(r.FirstTok.Sub(r.Scheduled))
		rec.Finished(r)
	}
	// A request still running has its first token: it counts in the p50.
	rec.FirstToken(400 * time.Millisecond)
	now = now.Add(4 * time.Second)
	// 4 sent and 3 done in 4 s; p50 of four TTFTs; 16 s left of this
	// level's budget and 3 + 5 levels of 21 s.
	want := "cell 1/2 · level 2/5 poisson-25pct | level 4s of 10s, ETA ≤ 16s | run 8s, ETA ≤ 3m4s + 1 engine start-up | sent 1.00 req/s, done 0.75 req/s | p50 TTFT 300 ms | errors 1 | done 3"
	if got := pr.status(); got != want {
		t.Errorf("running:\n got %q\nwant %q", got, want)
	}
	now = now.Add(9 * time.Second)
	if got := pr.status(); !strings.Contains(got, "| level draining 3s of 10s, ETA ≤ 7s | run 17s, ETA ≤ 2m55s + 1 engine start-up |") {
		t.Errorf("draining: %q", got)
	}
	// Past the drain the level is cutting: no "ETA ≤ 0s", and the run's
	// bound keeps the slack.
	now = now.Add(8 * time.Second)
	if got := pr.status(); !strings.Contains(got, "| level past its drain: cutting in-flight requests | run 25s, ETA ≤ 2m49s + 1 engine start-up |") {
		t.Errorf("cutting: %q", got)
	}
}

func ptrF(v float64) *float64 { return &v }

func TestProgressLines(t *testing.T) {
	p := planFor(t, "smoke", suite.Overrides{})
	var b strings.Builder
	pr := newProgress(&b, true, p, time.Now, time.Hour)
	pr.startCell(p.Cells[0], "starting engine")
	pr.stop()
	if got := b.String(); !strings.HasPrefix(got, "\r\033[Kcell 1/1 Qwen__Qwen3-0.6B_chat_lite_16c: starting engine\n") {
		t.Errorf("tty line: %q", got)
	}
}
