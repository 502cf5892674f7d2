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
	// Engine starting: every level of both cells is still ahead.
	if got := pr.status(); got != "cell 1/2 starting engine | elapsed 3s | ETA ≤ 1m40s" {
		t.Errorf("starting: %q", got)
	}
	pr.startLevel(c, 1, c.Levels[1], 2.5)
	rec := pr.recorder(measure.Discard).Benchmark(measure.BenchmarkLabels{})
	t0 := time.Unix(2000, 0)
	for range 4 {
		rec.Started()
	}
	for i, ms := range []int{100, 300, 200} {
		r := &measure.Result{Scheduled: t0, FirstTok: t0.Add(time.Duration(ms) * time.Millisecond), Outcome: contract.OutcomeSuccess}
		if i == 2 {
			r.Outcome = contract.OutcomeError
		}
		rec.Finished(r)
	}
	now = now.Add(4 * time.Second)
	// 4 sent and 3 done in 4 s; p50 of the two successful TTFTs; 6 s of this level and
	// 3 + 5 levels left.
	want := "cell 1/2 level poisson-25pct (2/5) | elapsed 7s | ETA ≤ 1m26s | sent 1.00 req/s, done 0.75 req/s | p50 TTFT 300 ms | errors 1 | done 3"
	if got := pr.status(); got != want {
		t.Errorf("running:\n got %q\nwant %q", got, want)
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
