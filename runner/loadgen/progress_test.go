package loadgen

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

func TestProgressLine(t *testing.T) {
	start := time.Now()
	var buf bytes.Buffer
	budget := Budget{Warmup: time.Second, Window: 4 * time.Second, Drain: 10 * time.Second}
	p := newProgress(&buf, false, "constant-4", start, budget)
	for i, ttft := range []time.Duration{10, 30, 20} {
		r := &measure.Result{Scheduled: start, FirstTok: start.Add(ttft * time.Millisecond), Outcome: contract.OutcomeSuccess}
		if i == 2 {
			r.Outcome, r.ErrorKind = contract.OutcomeError, contract.ErrStreamBroken
		}
		p.firstToken(ttft * time.Millisecond)
		p.add(r)
	}
	// A request in flight with its first token already counts in the p50.
	p.firstToken(40 * time.Millisecond)
	for _, c := range []struct {
		elapsed, drainFrom time.Duration
		want               string
	}{
		// Sending: elapsed of the sending span, ETA bounds what is left of
		// it plus the drain.
		{2 * time.Second, 0, "constant-4  elapsed 2s of 5s  ETA ≤ 13s  sent 5 (2.50 req/s)  done 3  in flight 2  p50 TTFT 30.0 ms  errors 1"},
		// Late in the window: the ETA never falls below the drain.
		{5200 * time.Millisecond, 0, "constant-4  elapsed 5.2s of 5s  ETA ≤ 10s  sent 5 (0.96 req/s)  done 3  in flight 2  p50 TTFT 30.0 ms  errors 1"},
		// Draining: time in the drain and what is left of it.
		{7500 * time.Millisecond, 5 * time.Second, "constant-4  elapsed 7.5s  draining 2.5s of 10s  ETA ≤ 8s  sent 5 (0.67 req/s)  done 3  in flight 2  p50 TTFT 30.0 ms  errors 1"},
		// Past the drain deadline: cutting, not "ETA ≤ 0s".
		{15100 * time.Millisecond, 5 * time.Second, "constant-4  elapsed 15.1s  drain over: cutting in-flight requests  sent 5 (0.33 req/s)  done 3  in flight 2  p50 TTFT 30.0 ms  errors 1"},
	} {
		if c.drainFrom > 0 {
			p.draining(c.drainFrom)
		}
		if got := p.line(c.elapsed, 5); got != c.want {
			t.Fatalf("at %v line\n%q, want\n%q", c.elapsed, got, c.want)
		}
	}
	// With levels after this one, the run's bound follows the level's.
	p.levelsAfter = 2
	if got := p.line(7500*time.Millisecond, 5); !strings.Contains(got, "draining 2.5s of 10s  ETA ≤ 8s (run ≤ 41s)  sent 5") {
		t.Fatalf("with two levels after: %q", got)
	}
	unbounded := newProgress(&buf, false, "concurrent-2", start, Budget{Drain: time.Second})
	if got := unbounded.line(3*time.Second, 3); !strings.HasPrefix(got, "concurrent-2  elapsed 3s (no time limit)  sent 3") {
		t.Fatalf("unbounded line %q", got)
	}

	// Plain lines when not a terminal; redrawn in place on one.
	var sent atomic.Int64
	done := make(chan struct{})
	go func() { time.Sleep(35 * time.Millisecond); close(done) }()
	p.loop(10*time.Millisecond, &sent, done)
	if n := strings.Count(buf.String(), "\n"); n < 2 || strings.Contains(buf.String(), "\r") {
		t.Fatalf("plain progress:\n%q", buf.String())
	}
	buf.Reset()
	tty := newProgress(&buf, true, "x", start, budget)
	tty.print("a")
	tty.final(results.Benchmark{Level: "x", Valid: true})
	if s := buf.String(); !strings.HasPrefix(s, "\r\x1b[Ka\r\x1b[Kx  done:") || !strings.HasSuffix(s, "valid\n") {
		t.Fatalf("tty progress %q", s)
	}
	// No writer: nothing happens, nothing blocks.
	var none *progress = newProgress(nil, false, "x", start, budget)
	none.add(&measure.Result{})
	none.firstToken(time.Millisecond)
	none.loop(time.Millisecond, &sent, done)
	none.final(results.Benchmark{})
}
