package results

import (
	"encoding/json"
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

	near := func(name string, fig any, want float64) {
		t.Helper()
		got, ok := 0.0, true
		switch f := fig.(type) {
		case Figure:
			got, ok = f.Get()
		case float64:
			got = f
		}
		if !ok || math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, fig, want)
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
	// 100 samples with a p99 needing 50: the p99.9 needs 500.
	if b.TTFT.P999.Present() || !b.TTFT.P99.Present() || len(b.Notes) != 1 ||
		!strings.Contains(b.Notes[0], "ttft_ms p99.9 (100 samples)") || !strings.Contains(b.Notes[0], "p99.9 500") {
		t.Errorf("ttft p99 %v p99.9 %v notes %v", b.TTFT.P99, b.TTFT.P999, b.Notes)
	}
}

func TestAggregatorValidity(t *testing.T) {
	// n requests 10 ms apart, each with its first token 5 ms after the send.
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
		// Lateness is judged against what it moves: 2 ms on a 7 ms TTFT.
		{"late sends", run(Validity{}, 1000, 1000, 2*msd, 0, ""), []string{"client-bound: p99 send lateness 2 ms is 29% of the TTFT p50 (7 ms), above the 10%"}},
		{"looser lateness share", run(Validity{MaxLatenessShare: 0.5}, 1000, 1000, 2*msd, 0, ""), nil},
		{"absolute lateness bound", run(Validity{MaxLatenessShare: 0.5, MaxLatenessP99: msd}, 1000, 1000, 2*msd, 0, ""), []string{"client-bound: p99 send lateness 2 ms is above 1 ms"}},
		// Too few samples for a p99: the lateness is judged on the tail
		// they support.
		{"late sends, few samples", run(Validity{}, 50, 50, 2*msd, 0, ""), []string{"client-bound: p95 send lateness 2 ms is 29% of the TTFT p50"}},
		// Too few samples for a p99 leaves the level valid, the p99 null.
		{"few samples", run(Validity{}, 99, 99, 0, 0, ""), nil},
		{"errors", run(Validity{}, 1100, 1100, 0, 22, ""), []string{"error rate 2.00% is above 1.00%"}},
		{"error rule off", run(Validity{MaxErrorRate: -1}, 1100, 1100, 0, 22, ""), nil},
		{"stopped", run(Validity{}, 1000, 1000, 0, 0, "max-errors 5 reached"), []string{"stopped early: max-errors 5 reached"}},
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

// A level that samples too few requests for a p99 keeps its throughput and
// p50 and says which percentiles it withheld, with the counts.
func TestAggregatorFewSamplesPerFigure(t *testing.T) {
	a := NewAggregator(Level{Profile: "concurrent", Target: 4, Start: start}, Validity{})
	for i := 0; i < 65; i++ {
		a.Add(req(i, time.Duration(i)*50*msd, 0, contract.OutcomeSuccess, 200*msd, 300*msd))
	}
	b := a.Close(Closing{WindowEnd: 4 * time.Second})
	if !b.Valid {
		t.Fatalf("invalid: %q", b.InvalidReasons)
	}
	if !b.TTFT.P50.Present() || !b.TTFT.P95.Present() || b.TTFT.P99.Present() || b.TTFT.P999.Present() || !b.RequestsPerSecond.Present() {
		t.Fatalf("ttft %+v req/s %v", b.TTFT, b.RequestsPerSecond)
	}
	want := "too few samples, percentiles left null: ttft_ms p99, p99.9 (65 samples)"
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0], want) || !strings.Contains(b.Notes[0], "p99 100") {
		t.Fatalf("notes %q, want %q", b.Notes, want)
	}
	js, _ := json.Marshal(b.TTFT)
	if !strings.Contains(string(js), `"p99":null`) || !strings.Contains(string(js), `"count":65`) {
		t.Fatalf("ttft json %s", js)
	}
}

// Drops at the in-flight cap while the server is slow are the server's
// doing, with Little's law as the evidence — not client-bound.
func TestAggregatorDropsAreServerSaturation(t *testing.T) {
	a := NewAggregator(Level{Profile: "constant", Target: 300, Open: true, Start: start}, Validity{})
	// 50 in flight at a time, each taking ~930 ms to its first token: the
	// server completes about 50 req/s of the 300 scheduled.
	sent := 0
	for i := 0; i < 300; i++ {
		a.Add(req(i, time.Duration(i)*20*msd, 0, contract.OutcomeSuccess, 930*msd, 990*msd))
		sent++
	}
	b := a.Close(Closing{WindowEnd: 6 * time.Second, Scheduled: 1800, Dropped: 1500, InFlightCap: 50})
	if len(b.InvalidReasons) != 1 {
		t.Fatalf("reasons %q", b.InvalidReasons)
	}
	r := b.InvalidReasons[0]
	for _, w := range []string{"server saturated: 1500 sends dropped at the in-flight cap of 50", "at 300 req/s with E2E p50 991 ms", "≈ 297 requests in flight", "TTFT p50 930 ms"} {
		if !strings.Contains(r, w) {
			t.Errorf("reason %q lacks %q", r, w)
		}
	}
	if strings.Contains(r, "client-bound") {
		t.Errorf("reason %q blames the client", r)
	}
}

func TestAggregatorDropsInBursts(t *testing.T) {
	a := NewAggregator(Level{Profile: "constant", Target: 100, Open: true, Start: start}, Validity{MinSamplesP99: 1})
	for i := 0; i < 95; i++ {
		a.Add(req(i, time.Duration(i)*10*msd, 0, contract.OutcomeSuccess, 5*msd))
	}
	b := a.Close(Closing{WindowEnd: time.Second, Scheduled: 100, Dropped: 5, InFlightCap: 8})
	if len(b.InvalidReasons) != 1 || !strings.Contains(b.InvalidReasons[0], "server saturated: 5 sends dropped at the in-flight cap of 8") ||
		!strings.Contains(b.InvalidReasons[0], "the cap was reached in bursts") {
		t.Fatalf("reasons %q", b.InvalidReasons)
	}
}

// Throughput is what happened inside the window: completions in it, tokens
// that arrived in it from successful and cut (incomplete) streams, none
// from failed ones. A window shorter than one request has no requests/s and
// says why.
func TestAggregatorWindowThroughput(t *testing.T) {
	a := NewAggregator(Level{Profile: "concurrent", Target: 3, Start: start}, Validity{})
	tokens := func(from, every time.Duration, n int) []time.Duration {
		var out []time.Duration
		for i := 0; i < n; i++ {
			out = append(out, from+time.Duration(i)*every)
		}
		return out
	}
	// Three 10 s streams, 1 token per 100 ms after a 1 s first token, in a
	// 5 s window: one finishes after the window, one is cut at the drain,
	// one fails at 3 s after 20 tokens.
	ok := req(0, 0, 0, contract.OutcomeSuccess, tokens(time.Second, 100*msd, 90)...)
	cut := req(1, 0, 0, contract.OutcomeIncomplete, tokens(time.Second, 100*msd, 60)...)
	bad := req(2, 0, 0, contract.OutcomeError, tokens(time.Second, 100*msd, 20)...)
	for _, r := range []*measure.Result{ok, cut, bad} {
		a.Add(r)
	}
	b := a.Close(Closing{WindowEnd: 5 * time.Second})
	// In the window: tokens at 1.0 s … 4.9 s, 40 from each of ok and cut.
	if got, want := b.OutputTokensPerSecond, Of(80.0/5); got != want {
		t.Errorf("output tok/s %v, want %v (failed stream's tokens counted?)", got, want)
	}
	if b.RequestsPerSecond.Present() {
		t.Errorf("requests/s %v, want absent: no request completed inside the window", b.RequestsPerSecond)
	}
	if b.Valid || len(b.InvalidReasons) == 0 {
		t.Fatalf("valid %v reasons %q", b.Valid, b.InvalidReasons)
	}
	var found bool
	for _, r := range b.InvalidReasons {
		if strings.HasPrefix(r, "window shorter than one request: no request completed inside the 5 s window; 1 completed after it, E2E p50 9.9 s") {
			found = true
		}
	}
	if !found {
		t.Errorf("reasons %q lack the short window", b.InvalidReasons)
	}
}

// The first-token share is of the streams in the window that did not fail:
// a queue of streams whose first token comes after the window is seen as
// one.
func TestAggregatorFirstTokenShare(t *testing.T) {
	a := NewAggregator(Level{Profile: "throughput", Target: 4, Start: start}, Validity{})
	a.Add(req(0, 0, 0, contract.OutcomeIncomplete, 4*time.Second, 5*time.Second, 6*time.Second)) // first token inside
	a.Add(req(1, 0, 0, contract.OutcomeIncomplete, 7*time.Second, 8*time.Second))                // after the window
	a.Add(req(2, 0, 0, contract.OutcomeIncomplete))                                              // none at all
	a.Add(req(3, 0, 0, contract.OutcomeError, time.Second))                                      // failed: not a stream
	a.Add(req(4, 6*time.Second, 0, contract.OutcomeSuccess, 10*msd))                             // sent after the window
	b := a.Close(Closing{WindowEnd: 5 * time.Second})
	if got, want := b.FirstTokenShare, Of(1.0/3); got != want {
		t.Errorf("first-token share %v, want %v", got, want)
	}
	if got := NewAggregator(Level{Start: start}, Validity{}).Close(Closing{WindowEnd: time.Second}).FirstTokenShare; got.Present() {
		t.Errorf("first-token share without a stream: %v, want absent", got)
	}
}

// A benchmark with nothing measured has its figures absent, and its JSON
// says null, never 0.
func TestAggregatorNothingMeasured(t *testing.T) {
	b := NewAggregator(Level{Profile: "constant", Target: 1, Open: true, Start: start}, Validity{}).Close(Closing{})
	for name, f := range map[string]Figure{"achieved": b.AchievedRate, "req/s": b.RequestsPerSecond, "out tok/s": b.OutputTokensPerSecond,
		"total tok/s": b.TotalTokensPerSecond, "success ratio": b.SuccessRatio, "ttft p50": b.TTFT.P50, "trend": b.TTFTTrend, "cpu": b.LoadgenCPUPercent} {
		if f.Present() {
			t.Errorf("%s = %v, want absent", name, f)
		}
	}
	js, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"requests_per_second":null`, `"success_ratio":null`, `"ttft_ms":{"mean":null,"p50":null`, `"achieved_rate":null`} {
		if !strings.Contains(string(js), w) {
			t.Errorf("json lacks %s:\n%s", w, js)
		}
	}
	for _, w := range []string{`"ttft_trend"`, `"scheduled_rate"`, `"loadgen_cpu_percent"`} {
		if strings.Contains(string(js), w) {
			t.Errorf("json has %s though absent:\n%s", w, js)
		}
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
	if b.TTFTTrend.Or(0) < 1.5 {
		t.Fatalf("ttft trend %v, want a rising queue", b.TTFTTrend)
	}
	if b.ScheduledRate.Present() || b.SuccessRatio != Of(30.0/32) {
		t.Fatalf("closed loop scheduled %v success %v", b.ScheduledRate, b.SuccessRatio)
	}
}

func TestDist(t *testing.T) {
	d := NewDist([]float64{5, 1, 4, 2, 3})
	if d.P50 != Of(3) || d.Max != Of(5) || d.Mean != Of(3) || d.Count != 5 {
		t.Fatalf("%+v", d)
	}
	// Five samples support no tail percentile (p90 needs 10).
	if d.P90.Present() || d.P99.Present() {
		t.Fatalf("tails from 5 samples: %+v", d)
	}
	if (NewDist(nil) != Dist{}) || !NewDist(nil).Empty() {
		t.Fatal("empty")
	}
	if d := NewDistMin([]float64{5, 1, 4, 2, 3}, 1); math.Abs(d.P90.Or(0)-4.6) > 1e-12 || d.P999.Present() {
		t.Fatalf("%+v", d)
	}
	for _, tc := range []struct {
		n                    int
		p90, p95, p99, p99_9 bool
	}{{9, false, false, false, false}, {10, true, false, false, false}, {20, true, true, false, false},
		{99, true, true, false, false}, {100, true, true, true, false}, {1000, true, true, true, true}} {
		s := make([]float64, tc.n)
		for i := range s {
			s[i] = float64(i)
		}
		d := NewDist(s)
		if d.P90.Present() != tc.p90 || d.P95.Present() != tc.p95 || d.P99.Present() != tc.p99 || d.P999.Present() != tc.p99_9 || !d.P50.Present() {
			t.Errorf("n=%d: %+v", tc.n, d)
		}
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
	if b.OutputTokensPerSecond != Of(3) || b.TotalTokensPerSecond != Of(3+200) {
		t.Errorf("output %v tok/s, total %v tok/s; want 3 and 203", b.OutputTokensPerSecond, b.TotalTokensPerSecond)
	}
}

// Completions are counted at their exact end, so a window of a few
// milliseconds still sees the requests that ended inside it.
func TestAggregatorShortWindowCompletions(t *testing.T) {
	a := NewAggregator(Level{Profile: "synchronous", Target: 1, Start: start}, Validity{})
	a.Add(req(0, 0, 0, contract.OutcomeSuccess, 2*msd, 7*msd))     // ends at 8 ms
	a.Add(req(1, 9*msd, 0, contract.OutcomeSuccess, 2*msd, 7*msd)) // ends at 17 ms
	b := a.Close(Closing{WindowEnd: 17800 * time.Microsecond})
	if math.Abs(b.RequestsPerSecond.Or(0)-2/0.0178) > 1e-6 {
		t.Errorf("requests/s %v, want 2 in 17.8 ms", b.RequestsPerSecond)
	}
	for _, r := range b.InvalidReasons {
		if strings.Contains(r, "window shorter") {
			t.Errorf("reason %q", r)
		}
	}
}

// A rate resting on a handful of completions says so; a level whose profile
// scheduled nothing inside its window says that, not that the server failed.
func TestAggregatorCoarseAndEmptyLevels(t *testing.T) {
	a := NewAggregator(Level{Profile: "concurrent", Target: 1, Start: start}, Validity{})
	for i := range 3 {
		a.Add(req(i, time.Duration(i)*2*time.Second, 0, contract.OutcomeSuccess, time.Second, 1900*msd))
	}
	b := a.Close(Closing{WindowEnd: 8 * time.Second})
	if !b.Valid || len(b.Notes) == 0 || !strings.Contains(strings.Join(b.Notes, ";"), "requests_per_second rests on 3 completions inside the window (±1 is 33%)") {
		t.Errorf("valid %v notes %q", b.Valid, b.Notes)
	}
	b = NewAggregator(Level{Profile: "poisson", Target: 0.0016, Open: true, Start: start}, Validity{}).Close(Closing{WindowEnd: 5 * time.Second})
	if b.Valid || len(b.InvalidReasons) != 1 || b.InvalidReasons[0] != "no request measured: at 0.0016 req/s the profile scheduled none inside the 5 s window" {
		t.Errorf("reasons %q", b.InvalidReasons)
	}
}
