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
	p := newProgress(&buf, false, "constant-4", start)
	for i, ttft := range []time.Duration{10, 30, 20} {
		r := &measure.Result{Scheduled: start, FirstTok: start.Add(ttft * time.Millisecond), Outcome: contract.OutcomeSuccess}
		if i == 2 {
			r.Outcome, r.ErrorKind = contract.OutcomeError, contract.ErrStreamBroken
		}
		p.add(r)
	}
	got := p.line(2*time.Second, 5)
	want := "constant-4  elapsed 2s  sent 5 (2.50 req/s)  done 3  in flight 2  p50 TTFT 20.0 ms  errors 1"
	if got != want {
		t.Fatalf("line\n%q, want\n%q", got, want)
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
	tty := newProgress(&buf, true, "x", start)
	tty.print("a")
	tty.final(results.Benchmark{Level: "x", Valid: true})
	if s := buf.String(); !strings.HasPrefix(s, "\r\x1b[Ka\r\x1b[Kx  done:") || !strings.HasSuffix(s, "valid\n") {
		t.Fatalf("tty progress %q", s)
	}
	// No writer: nothing happens, nothing blocks.
	var none *progress = newProgress(nil, false, "x", start)
	none.add(&measure.Result{})
	none.loop(time.Millisecond, &sent, done)
	none.final(results.Benchmark{})
}
