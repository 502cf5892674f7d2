package results

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// req builds a request scheduled at off, sent late by late, with token
// chunks at the given offsets from the send, ending 1 ms after the last.
func req(seq int, off, late time.Duration, outcome contract.Outcome, chunks ...time.Duration) *measure.Result {
	r := &measure.Result{Seq: int64(seq), Scheduled: start.Add(off), Sent: start.Add(off + late), Outcome: outcome, Phase: measure.PhaseMeasure, PromptTokens: 100}
	for _, c := range chunks {
		r.Chunks = append(r.Chunks, measure.Chunk{At: c, Tokens: 1})
	}
	r.OutputTokens = len(chunks)
	r.TokenSource = measure.TokensFromChunks
	if len(chunks) > 0 {
		r.FirstTok = r.Sent.Add(chunks[0])
		r.End = r.Sent.Add(chunks[len(chunks)-1] + time.Millisecond)
	} else {
		r.End = r.Sent.Add(time.Millisecond)
	}
	if outcome == contract.OutcomeError {
		r.ErrorKind = contract.ErrHTTP5xx
	}
	return r
}

const msd = time.Millisecond

func TestAggregatorFigures(t *testing.T) {
	a := NewAggregator(Level{Profile: "constant", Level: "constant-10", Target: 10, Open: true, Start: start}, Validity{MinSamplesP99: 50})
	for i := 0; i < 100; i++ {
		r := req(i, time.Duration(i)*100*msd, 200*time.Microsecond, contract.OutcomeSuccess, 50*msd, 60*msd, 70*msd)
		if i == 0 {
			r.Chunks[2].Tokens = 2 // a two-token chunk: its per-token ITL halves
			r.OutputTokens = 4
		}
		a.Add(r)
	}
	// Warmup requests count toward throughput only when inside the window.
	w := req(100, -500*msd, 0, contract.OutcomeSuccess, 50*msd)
	w.Phase = measure.PhaseWarmup
	a.Add(w)
	b := a.Close(Closing{WindowStart: 0, WindowEnd: 10 * time.Second, Scheduled: 100, CPU: 500 * msd, Wall: 10 * time.Second})

	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("ttft p50 (from schedule)", b.TTFT.P50, 50.2)
	near("ttft from send p50", b.TTFTFromSend.P50, 50)
	near("itl p50", b.ITL.P50, 10)
	near("itl count", float64(b.ITL.Count), 200)
	near("itl per token min sample", b.ITLPerToken.Mean, (199*10+5)/200.0)
	near("itl request mean", b.ITLRequestMean.P50, 10)
	near("tpot p50", b.TPOT.P50, 10.5)                     // (71-50)/(3-1)
	near("e2e p50", b.E2E.P50, 71.2)                       // from the schedule
	near("lateness p99", b.SendLateness.P99, 0.2)          // ms
	near("achieved", b.AchievedRate, 10)                   // 100 sends in 10 s
	near("scheduled", b.ScheduledRate, 10)                 // as asked
	near("requests/s", b.RequestsPerSecond, 10)            // completions inside the window
	near("output tok/s", b.OutputTokensPerSecond, 30.1)    // 301 tokens; the warmup's arrived before 0
	near("total tok/s", b.TotalTokensPerSecond, 30.1+1000) // + 100 prompts of 100 tokens
	near("cpu percent", b.LoadgenCPUPercent, 5)
	near("success ratio", b.SuccessRatio, 1)
	if b.Requests != (Requests{Successful: 100}) {
		t.Errorf("requests %+v (the warmup request must not count)", b.Requests)
	}
	if !b.Valid || len(b.InvalidReasons) != 0 || b.TokenSource != "chunks" {
		t.Errorf("valid %v reasons %v source %q", b.Valid, b.InvalidReasons, b.TokenSource)
	}
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "p99.9") {
		t.Errorf("notes %v", b.Notes)
	}
}

func TestAggregatorValidity(t *testing.T) {
	run := func(v Validity, n, sentInWindow int, late time.Duration, failed int, stop string) Benchmark {
		a := NewAggregator(Level{Profile: "constant", Target: 100, Open: true, Start: start}, v)
		for i := 0; i < n; i++ {
			off := time.Duration(i) * 10 * msd
			lateness := late
			if i >= sentInWindow {
				lateness = time.Hour // sent after the window closed
			}
			o := contract.OutcomeSuccess
			if i < failed {
				o = contract.OutcomeError
			}
			a.Add(req(i, off, lateness, o, 5*msd, 6*msd))
		}
		return a.Close(Closing{WindowEnd: time.Duration(n) * 10 * msd, Scheduled: n, StopReason: stop})
	}
	for _, tc := range []struct {
		name string
		b    Benchmark
		want []string
	}{
		{"valid", run(Validity{}, 1000, 1000, 100*time.Microsecond, 0, ""), nil},
		{"client fell behind", run(Validity{}, 1000, 900, 0, 0, ""), []string{"client-bound: achieved 90 req/s is below 97% of the 100 req/s scheduled", "p99 send lateness"}},
		{"late sends", run(Validity{}, 1000, 1000, 2*msd, 0, ""), []string{"client-bound: p99 send lateness 2 ms is above 1 ms"}},
		{"looser lateness threshold", run(Validity{MaxLatenessP99: 5 * msd}, 1000, 1000, 2*msd, 0, ""), nil},
		{"few samples", run(Validity{}, 999, 999, 0, 0, ""), []string{"too few samples: 999 TTFT samples, p99 needs 1000"}},
		{"errors", run(Validity{}, 1100, 1100, 0, 22, ""), []string{"error rate 2.00% is above 1.00%"}},
		{"error rule off", run(Validity{MaxErrorRate: -1}, 1100, 1100, 0, 22, ""), nil},
		{"stopped", run(Validity{}, 1000, 1000, 0, 0, "max-errors 5 reached"), []string{"stopped early: max-errors 5 reached"}},
		{"dropped", func() Benchmark {
			a := NewAggregator(Level{Profile: "constant", Target: 100, Open: true, Start: start}, Validity{MinSamplesP99: 1})
			a.Add(req(0, 0, 0, contract.OutcomeSuccess, 5*msd))
			return a.Close(Closing{WindowEnd: 10 * msd, Scheduled: 1, Dropped: 3})
		}(), []string{"client-bound: 3 sends dropped at the in-flight cap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.b.Valid != (len(tc.want) == 0) || len(tc.b.InvalidReasons) != len(tc.want) {
				t.Fatalf("valid %v reasons %q, want %q", tc.b.Valid, tc.b.InvalidReasons, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(tc.b.InvalidReasons[i], w) {
					t.Errorf("reason %q does not contain %q", tc.b.InvalidReasons[i], w)
				}
			}
		})
	}
}

func TestAggregatorFailuresAndTrend(t *testing.T) {
	a := NewAggregator(Level{Profile: "concurrent", Target: 4, Start: start}, Validity{})
	for i := 0; i < 30; i++ {
		// TTFT grows with the schedule: a queue is building.
		a.Add(req(i, time.Duration(i)*msd, 0, contract.OutcomeSuccess, time.Duration(10+i)*msd, time.Duration(20+i)*msd))
	}
	broken := req(30, 40*msd, 0, contract.OutcomeError, 15*msd, 25*msd)
	broken.ErrorKind = contract.ErrStreamBroken
	a.Add(broken)
	a.Add(req(31, 41*msd, 0, contract.OutcomeIncomplete, 12*msd))
	b := a.Close(Closing{WindowEnd: time.Second})
	if b.Requests != (Requests{Successful: 30, Failed: 1, Incomplete: 1}) || b.Errors[contract.ErrStreamBroken] != 1 {
		t.Fatalf("requests %+v errors %v", b.Requests, b.Errors)
	}
	// Latencies are of successful requests; lateness of every one.
	if b.TTFT.Count != 30 || b.E2E.Count != 30 || b.ITL.Count != 30 || b.SendLateness.Count != 32 {
		t.Fatalf("ttft %d e2e %d itl %d", b.TTFT.Count, b.E2E.Count, b.ITL.Count)
	}
	if b.TTFTTrend < 1.5 {
		t.Fatalf("ttft trend %v, want a rising queue", b.TTFTTrend)
	}
	if b.ScheduledRate != 0 || b.SuccessRatio != 30.0/32 {
		t.Fatalf("closed loop scheduled %v success %v", b.ScheduledRate, b.SuccessRatio)
	}
}

func TestDist(t *testing.T) {
	d := NewDist([]float64{5, 1, 4, 2, 3})
	if d.P50 != 3 || math.Abs(d.P90-4.6) > 1e-12 || d.Max != 5 || d.Mean != 3 || d.Count != 5 {
		t.Fatalf("%+v", d)
	}
	if (NewDist(nil) != Dist{}) {
		t.Fatal("empty")
	}
	if d := NewDist([]float64{7}); d.P999 != 7 || d.P50 != 7 {
		t.Fatalf("%+v", d)
	}
}

// Only what the server delivered is throughput: a stream that broke (an
// engine that died mid-answer) adds nothing, a request cut by the window
// adds what arrived inside it.
func TestFailedStreamsAreNotThroughput(t *testing.T) {
	a := NewAggregator(Level{Profile: "concurrent", Level: "concurrent-2", Target: 2, Start: start}, Validity{MinSamplesP99: 1})
	a.Add(req(0, 0, 0, contract.OutcomeSuccess, 100*msd, 200*msd))
	broken := req(1, 0, 0, contract.OutcomeError, 100*msd, 200*msd, 300*msd)
	broken.ErrorKind = contract.ErrStreamBroken
	a.Add(broken)
	a.Add(req(2, 0, 0, contract.OutcomeIncomplete, 100*msd))
	b := a.Close(Closing{WindowStart: 0, WindowEnd: time.Second})
	if b.OutputTokensPerSecond != 3 || b.TotalTokensPerSecond != 3+200 {
		t.Errorf("output %v tok/s, total %v tok/s; want 3 and 203", b.OutputTokensPerSecond, b.TotalTokensPerSecond)
	}
}
