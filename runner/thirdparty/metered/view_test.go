package metered

import (
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// A request the client gave up on is an error when the tool sent another
// after it (a timeout of its own), and abandoned — incomplete — when the
// tool ended without sending again.
func TestCollectorAbandoned(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	rec := &countingRecorder{}
	c := &collector{next: rec, first: func() time.Time { return t0 }}
	b := c.Benchmark(measure.BenchmarkLabels{})
	canceled := func(seq int64, start, end float64) *measure.Result {
		return &measure.Result{Seq: seq, Scheduled: at(start), End: at(end), Outcome: contract.OutcomeError, ErrorKind: contract.ErrCanceled}
	}
	b.Finished(canceled(1, 0, 1)) // given up on mid-run: request 3 came after it
	b.Finished(&measure.Result{Seq: 2, Scheduled: at(0.5), End: at(1.5), Outcome: contract.OutcomeSuccess})
	if len(rec.results) != 1 {
		t.Fatalf("passed on %d, want only the success while the canceled one waits", len(rec.results))
	}
	b.Finished(canceled(3, 1.2, 3)) // abandoned at the end
	b.Finished(canceled(4, 1.6, 3)) // abandoned at the end
	if len(rec.results) != 2 || rec.results[1].Seq != 1 || rec.results[1].Outcome != contract.OutcomeError {
		t.Fatalf("request 1 not passed on as an error: %+v", rec.results)
	}
	if n := c.settle(); n != 2 {
		t.Errorf("settled %d abandoned, want 2", n)
	}
	b.Finished(canceled(5, 1.7, 4)) // after the tool ended
	for _, r := range rec.results[2:] {
		if r.Outcome != contract.OutcomeIncomplete || r.ErrorKind != "" || r.Error == "" {
			t.Errorf("request %d: %s %s %q", r.Seq, r.Outcome, r.ErrorKind, r.Error)
		}
	}
	if len(rec.results) != 5 || len(c.all()) != 5 {
		t.Errorf("%d passed on, %d kept", len(rec.results), len(c.all()))
	}
}
