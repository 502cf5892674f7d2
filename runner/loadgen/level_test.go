package loadgen

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/workload"
)

func TestBudget(t *testing.T) {
	b, err := NewBudget(10*time.Second, 0.1, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Warmup != time.Second || b.Window != 7*time.Second || b.Cooldown != 2*time.Second || b.Drain != DefaultDrainTimeout ||
		b.Send() != 10*time.Second || b.Total() != 20*time.Second {
		t.Fatalf("budget %+v send %v total %v", b, b.Send(), b.Total())
	}
	if s := b.String(); s != "warmup 1s + window 7s + cooldown 2s + drain 10s = 20s" {
		t.Fatalf("%q", s)
	}
	if b, _ := NewBudget(0, 0, 0, time.Second); b.Bounded() || b.Total() != 0 || b.String() != "no time limit (drain 1s)" {
		t.Fatalf("unbounded %+v %q", b, b.String())
	}
	if _, err := NewBudget(time.Second, 0.5, 0.5, 0); err == nil {
		t.Fatal("warmup + cooldown = max-seconds accepted")
	}
	// Run's defaults: a short drain, not the request timeout; an idle timeout.
	cfg := baseConfig("http://127.0.0.1:1")
	cfg.Profile, cfg.MaxRequests = pacer.Synchronous, 1
	if _, err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	if cfg.DrainTimeout != DefaultDrainTimeout || cfg.StreamIdleTimeout != DefaultStreamIdleTimeout || cfg.RequestTimeout != 10*time.Minute {
		t.Fatalf("drain %v idle %v request %v", cfg.DrainTimeout, cfg.StreamIdleTimeout, cfg.RequestTimeout)
	}
}

// A window far shorter than one request: the level still ends within its
// budget, sends nothing after the window, measures the tokens that arrived
// inside the window as the server wrote them, and records the requests it
// cut with what they had received.
func TestWindowShorterThanRequests(t *testing.T) {
	// Every request takes 50 ms + 400 × 10 ms = 4 s; the window is 2 s.
	f := &fakeServer{TTFT: 50 * time.Millisecond, ITL: 10 * time.Millisecond, Tokens: 400}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds, cfg.DrainTimeout = pacer.Constant, []float64{4}, 2*time.Second, 500*time.Millisecond
	cfg.IgnoreEOS = false
	cfg.ExtraBody = map[string]any{"max_completion_tokens": nil, "max_tokens": nil}
	var col collector
	begin := time.Now()
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(begin)
	budget, _ := cfg.Budget()
	if budget.Total() != 2500*time.Millisecond {
		t.Fatalf("budget %v", budget)
	}
	var zero time.Time
	for _, r := range col.all {
		if r.Seq == 0 {
			zero = r.Scheduled
		}
	}
	// Run's own start-up (the model list) comes before the level's time zero.
	if level := time.Since(zero); level > budget.Total()+BudgetSlack {
		t.Fatalf("level took %v, budget %v + %v", level, budget.Total(), BudgetSlack)
	}
	if wall > budget.Total()+BudgetSlack+time.Second {
		t.Fatalf("run took %v", wall)
	}
	b := sum.Benchmarks[0]
	if b.Requests.Incomplete != 8 || b.Requests.Successful != 0 || len(col.all) != 8 || b.Missed != 0 {
		t.Fatalf("requests %+v, %d records, missed %d", b.Requests, len(col.all), b.Missed)
	}
	end := zero.Add(cfg.MaxSeconds)
	f.mu.Lock()
	defer f.mu.Unlock()
	inWindow := 0
	for _, tr := range f.truth {
		if !tr.arrived.Before(end) {
			t.Errorf("a request reached the server %v after the window closed", tr.arrived.Sub(end))
		}
		for _, w := range tr.writes {
			if !w.Before(zero) && w.Before(end) {
				inWindow++
			}
		}
	}
	for _, r := range col.all {
		if r.Outcome != contract.OutcomeIncomplete || r.FirstTok.IsZero() || r.OutputTokens < 10 || len(r.Chunks) != r.OutputTokens {
			t.Fatalf("cut request: outcome %s, first token %v, %d tokens, %d chunks; want incomplete with what it received",
				r.Outcome, r.FirstTok, r.OutputTokens, len(r.Chunks))
		}
	}
	// Output tokens per second count the chunks that arrived inside the
	// window: what the server wrote in it, whether or not a request ended.
	want := float64(inWindow) / cfg.MaxSeconds.Seconds()
	if got := fv(b.OutputTokensPerSecond); got < 0.95*want || got > 1.05*want {
		t.Fatalf("output tokens/s %.1f, the server wrote %.1f/s inside the window", got, want)
	}
	// Nothing ended: no rate of completions, no latency, and the level says
	// why rather than printing 0.
	if b.RequestsPerSecond.Present() || !b.E2E.Empty() || !b.TTFT.Empty() || b.Valid ||
		!strings.Contains(strings.Join(b.InvalidReasons, ";"), "window shorter than one request: no request completed inside the 2 s window; 8 requests were cut unfinished") {
		t.Fatalf("no request ended: req/s %v, e2e %+v, ttft %+v, reasons %q", b.RequestsPerSecond, b.E2E, b.TTFT, b.InvalidReasons)
	}
	// In summary.json they are null, the measured token rate a number.
	var out bytes.Buffer
	if err := results.WriteSummary(&out, sum); err != nil {
		t.Fatal(err)
	}
	js := out.String()
	for _, want := range []string{`"requests_per_second": null`, `"e2e_ms": {
        "mean": null,`, `"ttft_ms": {
        "mean": null,`, `"output_tokens_per_second": ` + strconv.FormatFloat(fv(b.OutputTokensPerSecond), 'g', -1, 64)} {
		if !strings.Contains(js, want) {
			t.Fatalf("summary.json lacks %q:\n%s", want, js)
		}
	}
}

// An open loop woken after the end of sending gives up every send still
// due before it and counts each as missed with its lateness; none is fired
// late.
func TestOpenLoopNeverSendsLate(t *testing.T) {
	f := &fakeServer{TTFT: time.Millisecond, ITL: time.Millisecond, Tokens: 1}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds = pacer.Constant, []float64{10}, time.Second
	if _, err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	cfg.Client = NewClient()
	bodies, err := buildBodies(&cfg, "fake-model", []workload.Item{{Prompt: "hi", OutputTokens: 1}})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: &cfg, rec: measure.Discard, sink: func(*measure.Result) {}, bodies: bodies}
	budget, _ := cfg.Budget()
	// The level began 1.5 s ago: its whole schedule (0, 0.1, ... 0.9 s)
	// is past the end of sending at 1 s.
	start := time.Now().Add(-1500 * time.Millisecond)
	l := &level{runner: r, spec: pacer.Spec{Kind: pacer.Constant, Rate: 10}, br: measure.Discard.Benchmark(measure.BenchmarkLabels{}),
		url: srv.URL + cfg.API.Path(), header: cfg.Headers(), start: start, budget: budget, sendEnd: budget.Send(),
		stopCh: make(chan struct{}), abortCh: make(chan struct{}), results: make(chan *measure.Result, 16),
		prog: newProgress(nil, false, "", start, budget)}
	l.reqCtx, l.cutAll = context.WithCancel(context.Background())
	defer l.cutAll()
	l.openLoop()
	if n := f.n.Load(); n != 0 || l.sent.Load() != 0 {
		t.Fatalf("%d requests reached the server, %d sent: nothing may go out after the window", n, l.sent.Load())
	}
	if len(l.missed) != 10 {
		t.Fatalf("missed %d, want the 10 due sends", len(l.missed))
	}
	for i, late := range l.missed {
		// Send i was due at i × 100 ms and given up about 1.5 s in.
		if want := 1500*time.Millisecond - time.Duration(i)*100*time.Millisecond; late < want || late > want+500*time.Millisecond {
			t.Fatalf("missed send %d lateness %v, want about %v", i, late, want)
		}
	}
	if l.stoppedAt != time.Second {
		t.Fatalf("sending stopped at %v, want the end of the window", l.stoppedAt)
	}
	// A send claimed just before the end whose goroutine runs after it
	// does not go out either.
	l.launch(10, start.Add(900*time.Millisecond), 900*time.Millisecond, false)
	if n := f.n.Load(); n != 0 || len(l.missed) != 11 || l.sent.Load() != 0 {
		t.Fatalf("late launch: %d at the server, %d missed, %d sent", n, len(l.missed), l.sent.Load())
	}
	agg := results.NewAggregator(results.Level{Open: true, Start: start}, results.Validity{})
	bm := agg.Close(results.Closing{WindowEnd: time.Second, Scheduled: 10, Missed: l.missed})
	if bm.Missed != 11 || bm.MissedLateness.Count != 11 || bm.Valid ||
		!strings.Contains(strings.Join(bm.InvalidReasons, ";"), "11 sends due before the end of sending never went out") {
		t.Fatalf("missed %d lateness %+v reasons %v", bm.Missed, bm.MissedLateness, bm.InvalidReasons)
	}
}

// A stream that receives nothing for the idle timeout after its first
// token ends as a stalled error, its tokens credited, and counts in the
// error rate; the others are untouched.
func TestStreamIdleTimeout(t *testing.T) {
	f := &fakeServer{TTFT: 10 * time.Millisecond, ITL: 5 * time.Millisecond, Tokens: 6,
		Stall: func(n int64) (int, time.Duration) {
			if n%2 == 1 {
				return 3, time.Second
			}
			return 0, 0
		}}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.MaxRequests, cfg.StreamIdleTimeout = pacer.Synchronous, 4, 250*time.Millisecond
	var col collector
	begin := time.Now()
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 1500*time.Millisecond {
		t.Fatalf("took %v: the stalled streams must end after 250 ms, not wait out their 1 s stalls", d)
	}
	b := sum.Benchmarks[0]
	if b.Errors[contract.ErrStalled] != 2 || b.Requests.Successful != 2 || b.Valid ||
		!strings.Contains(strings.Join(b.InvalidReasons, ";"), "error rate") {
		t.Fatalf("errors %v requests %+v reasons %v", b.Errors, b.Requests, b.InvalidReasons)
	}
	for _, r := range col.all {
		if r.ErrorKind != contract.ErrStalled {
			continue
		}
		if r.OutputTokens != 3 || !strings.Contains(r.Error, "nothing received for 250ms") {
			t.Fatalf("stalled record: %d tokens, error %q", r.OutputTokens, r.Error)
		}
		if gap := r.End.Sub(r.Sent) - r.Chunks[len(r.Chunks)-1].At; gap < 250*time.Millisecond || gap > 900*time.Millisecond {
			t.Fatalf("ended %v after its last chunk, want the idle timeout", gap)
		}
	}
	// Negative: no idle timeout at all; the stall is waited out.
	cfg.StreamIdleTimeout, cfg.MaxRequests = -1, 2
	if sum, err = Run(context.Background(), cfg, nil, nil); err != nil || sum.Benchmarks[0].Requests.Successful != 2 {
		t.Fatalf("without an idle timeout: %v %+v", err, sum.Benchmarks[0].Requests)
	}
}

// The live series and the progress line get a request's TTFT when its
// first token arrives, not when it ends.
func TestFirstTokenIsLive(t *testing.T) {
	f := &fakeServer{TTFT: 20 * time.Millisecond, ITL: 20 * time.Millisecond, Tokens: 40}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxRequests = pacer.Concurrent, []float64{2}, 2
	rec := &countingRecorder{}
	var seen atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if rec.firstTokens.Load() == 2 && rec.finished.Load() == 0 {
				seen.Store(1)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := Run(context.Background(), cfg, rec, nil); err != nil {
		t.Fatal(err)
	}
	<-done
	if seen.Load() != 1 || rec.firstTokens.Load() != 2 || rec.finished.Load() != 2 {
		t.Fatalf("first tokens %d finished %d: TTFT must be recorded while the requests run", rec.firstTokens.Load(), rec.finished.Load())
	}
}

// Chat requests carry the output length in both fields servers read; a
// server that returns more than asked is counted and invalidates the level.
func TestOutputOverrun(t *testing.T) {
	f := &fakeServer{ITL: time.Millisecond, Overrun: 3, Bodies: true}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.MaxRequests = pacer.Synchronous, 3
	var col collector
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range f.bodies {
		if body["max_tokens"] != 5.0 || body["max_completion_tokens"] != 5.0 {
			t.Fatalf("chat body %v: want max_tokens and max_completion_tokens", body)
		}
	}
	for _, r := range col.all {
		if r.MaxTokens != 5 || r.OutputTokens != 8 || !r.Overrun() {
			t.Fatalf("record asked %d got %d overrun %v", r.MaxTokens, r.OutputTokens, r.Overrun())
		}
	}
	b := sum.Benchmarks[0]
	if b.OutputOverrun != 3 || b.Valid || !strings.Contains(strings.Join(b.InvalidReasons, ";"), "3 of 3 requests returned more output tokens than asked (up to 8 for 5)") {
		t.Fatalf("overrun %d valid %v reasons %v", b.OutputOverrun, b.Valid, b.InvalidReasons)
	}

	// Completions carry max_tokens only; a server keeping to it is fine.
	f2 := &fakeServer{ITL: time.Millisecond, Bodies: true}
	srv2 := f2.start(t)
	cfg = baseConfig(srv2.URL)
	cfg.API, cfg.Profile, cfg.MaxRequests = measure.APICompletions, pacer.Synchronous, 2
	if sum, err = Run(context.Background(), cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := f2.bodies[0]["max_completion_tokens"]; ok || f2.bodies[0]["max_tokens"] != 5.0 {
		t.Fatalf("completions body %v", f2.bodies[0])
	}
	if b := sum.Benchmarks[0]; b.OutputOverrun != 0 || !b.Valid {
		t.Fatalf("overrun %d reasons %v", b.OutputOverrun, b.InvalidReasons)
	}
}

// Requests outside the window are not cut before it closes: a warmup
// request still streaming when the measured ones are done carries chunks
// that arrive inside the window, and the window's throughput counts them.
func TestNothingCutBeforeTheWindowCloses(t *testing.T) {
	// Request 0 (warmup) pauses 2.4 s after its first token, then sends
	// the rest at about 2.45 s; the measured requests (due at 1 s and 2 s)
	// end by 2.1 s; the window closes at 3 s.
	f := &fakeServer{TTFT: 10 * time.Millisecond, ITL: 5 * time.Millisecond, Tokens: 5,
		Stall: func(n int64) (int, time.Duration) {
			if n == 0 {
				return 1, 2400 * time.Millisecond
			}
			return 0, 0
		}}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds, cfg.Warmup = pacer.Constant, []float64{1}, 3*time.Second, 1
	cfg.StreamIdleTimeout = -1
	var col collector
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range col.all {
		if r.Seq == 0 && (r.Outcome != contract.OutcomeSuccess || r.OutputTokens != 5) {
			t.Fatalf("warmup request: %s with %d tokens; it must not be cut before the window closes", r.Outcome, r.OutputTokens)
		}
	}
	// 5 tokens of each measured request and 4 of the warmup one arrived
	// inside the 2 s window.
	if b := sum.Benchmarks[0]; b.OutputTokensPerSecond != results.Of(14.0/2) {
		t.Fatalf("output tokens/s %v, want 7", b.OutputTokensPerSecond)
	}
}
