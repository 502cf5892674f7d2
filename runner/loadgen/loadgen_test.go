package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/netstamp/netstamptest"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/results/resultstest"
	"github.com/servebench/servebench/runner/workload"
)

// fv is a figure the test expects present.
var fv = resultstest.Must

func (c *countingRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	c.benchmarks.Add(1)
	c.mu.Lock()
	c.levels = append(c.levels, strings.Join(l.Values(), "|"))
	c.mu.Unlock()
	return countingBench{c}
}

type countingBench struct{ c *countingRecorder }

func (b countingBench) SetTarget(v float64, _ contract.TargetUnit) {
	b.c.mu.Lock()
	b.c.target = append(b.c.target, v)
	b.c.mu.Unlock()
}
func (b countingBench) Started()                 { b.c.started.Add(1) }
func (b countingBench) FirstToken(time.Duration) { b.c.firstTokens.Add(1) }
func (b countingBench) Finished(*measure.Result) { b.c.finished.Add(1) }
func (b countingBench) Close()                   { b.c.closed.Add(1) }

// collector is a sink that keeps every Result.
type collector struct {
	mu  sync.Mutex
	all []*measure.Result
}

func (c *collector) sink(r *measure.Result) { c.mu.Lock(); c.all = append(c.all, r); c.mu.Unlock() }

func baseConfig(url string) Config {
	return Config{
		Target:   url,
		API:      measure.APIChat,
		Stream:   true,
		Workload: workload.Spec{Name: "tiny", Prompt: workload.Length{Mean: 16}, Output: workload.Length{Mean: 5}},
		Seed:     1,
		// Unit tests are far below a p99's sample needs; judge the rest.
		// A fake server answers in well under a millisecond: judge the
		// client's lateness by an absolute bound, not as a share of that.
		Validity:  results.Validity{MinSamplesP99: 1, MaxLatenessShare: -1, MaxLatenessP99: 20 * time.Millisecond},
		IgnoreEOS: true,
	}
}

func TestOpenLoopTiming(t *testing.T) {
	f := &fakeServer{TTFT: 30 * time.Millisecond, ITL: 5 * time.Millisecond, Tokenize: true}
	srv := f.start(t)
	cfg := baseConfig(srv.URL + "/v1/")
	cfg.Profile, cfg.Rates, cfg.MaxSeconds = pacer.Constant, []float64{40}, time.Second
	cfg.Warmup, cfg.Cooldown = 0.2, 0.2
	rec := &countingRecorder{}
	var col collector
	sum, err := Run(context.Background(), cfg, rec, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Model != "fake-model" || sum.PromptCalibration != "tokenize" || sum.Loadgen != "native" || len(sum.Benchmarks) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	b := sum.Benchmarks[0]
	// 40 sends in 1 s; the window is 0.2-0.8 s by schedule: 24 measured.
	// On a busy machine the last cooldown sends may find sending over:
	// they are missed, never sent late.
	if len(col.all)+b.Missed != 40 || b.Missed > 8 || b.Requests.Successful != 24 || b.Requests.Failed+b.Requests.Incomplete != 0 {
		t.Fatalf("%d results, %d missed, requests %+v", len(col.all), b.Missed, b.Requests)
	}
	phases := map[measure.Phase]int{}
	for _, r := range col.all {
		phases[r.Phase]++
		if r.Phase == measure.PhaseCooldown {
			// Cut once the measured requests are done: never an error.
			if r.Outcome == contract.OutcomeError {
				t.Fatalf("cooldown result %+v", r)
			}
			continue
		}
		if r.Outcome != contract.OutcomeSuccess || r.OutputTokens != 5 || r.TokenSource != measure.TokensFromUsage || r.Level != "constant-40" {
			t.Fatalf("result %+v", r)
		}
		// 16 tokens exactly, chat template included, thanks to /tokenize.
		if r.PromptTokens != 16 {
			t.Fatalf("prompt tokens %d", r.PromptTokens)
		}
	}
	if phases[measure.PhaseWarmup] != 8 || phases[measure.PhaseCooldown]+b.Missed != 8 {
		t.Fatalf("phases %v", phases)
	}
	if fv(b.TTFT.P50) < 30 || fv(b.TTFT.P50) > 80 || fv(b.ITL.P50) < 3 || fv(b.ITL.P50) > 15 || b.ITL.Count != 24*4 {
		t.Fatalf("ttft %+v itl %+v", b.TTFT, b.ITL)
	}
	// Achieved counts actual sends inside the window (by send time), so a
	// late client shows; on a quiet machine it is the scheduled 40/s.
	var first time.Time // the level's time zero: request 0 is due at once
	for _, r := range col.all {
		if r.Seq == 0 {
			first = r.Scheduled
		}
	}
	inWindow := 0
	for _, r := range col.all {
		if at := r.Sent.Sub(first); at >= 200*time.Millisecond && at < 800*time.Millisecond {
			inWindow++
		}
	}
	if fv(b.TTFTFromSend.P50) > fv(b.TTFT.P50) || math.Abs(fv(b.AchievedRate)-float64(inWindow)/0.6) > 1e-9 || math.Abs(fv(b.ScheduledRate)-40) > 0.01 {
		t.Fatalf("ttft from send %v, achieved %v scheduled %v", b.TTFTFromSend.P50, b.AchievedRate, b.ScheduledRate)
	}
	if b.DurationSeconds != 0.6 || fv(b.LoadgenCPUSeconds) <= 0 {
		t.Fatalf("duration %v cpu %v", b.DurationSeconds, b.LoadgenCPUSeconds)
	}
	// On Linux chunks are timed by the kernel's receive timestamps.
	if want := map[bool]string{true: "kernel", false: "read"}[runtime.GOOS == "linux"]; b.ChunkClock != want {
		t.Fatalf("chunk clock %q, want %q", b.ChunkClock, want)
	}
	if n := int64(len(col.all)); rec.started.Load() != n || rec.finished.Load() != n || rec.closed.Load() != 1 || rec.target[0] != 40 ||
		rec.levels[0] != "bench|fake-model|tiny||native|constant-40" {
		t.Fatalf("recorder: %d started %d finished %v %v", rec.started.Load(), rec.finished.Load(), rec.levels, rec.target)
	}
}

func TestClosedLoop(t *testing.T) {
	f := &fakeServer{TTFT: 5 * time.Millisecond, ITL: time.Millisecond}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxRequests = pacer.Concurrent, []float64{1, 4}, 24
	var col collector
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Benchmarks) != 2 || len(col.all) != 48 || sum.PromptCalibration != "estimate" {
		t.Fatalf("%d benchmarks, %d results, calibration %q", len(sum.Benchmarks), len(col.all), sum.PromptCalibration)
	}
	for _, b := range sum.Benchmarks {
		if b.Requests.Successful != 24 || fv(b.SendLateness.P99) > 5 || b.ScheduledRate.Present() {
			t.Fatalf("%s: %+v lateness %+v", b.Level, b.Requests, b.SendLateness)
		}
	}
	// Four streams finish the same work faster than one.
	if one, four := fv(sum.Benchmarks[0].RequestsPerSecond), fv(sum.Benchmarks[1].RequestsPerSecond); four < 1.5*one {
		t.Fatalf("concurrent-4 %v req/s vs concurrent-1 %v", four, one)
	}
}

func TestFailuresAreData(t *testing.T) {
	f := &fakeServer{TTFT: time.Millisecond, ITL: time.Millisecond,
		Fail: func(n int64) int {
			switch n % 5 {
			case 1:
				return 503
			case 2:
				return 429
			}
			return 0
		},
		Break: func(n int64) int {
			if n%5 == 3 {
				return 2
			}
			return -1
		},
	}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxRequests = pacer.Synchronous, nil, 20
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := sum.Benchmarks[0]
	want := map[contract.ErrorKind]int{contract.ErrHTTP5xx: 4, contract.ErrRateLimited: 4, contract.ErrStreamBroken: 4}
	if b.Requests != (results.Requests{Successful: 8, Failed: 12}) || len(b.Errors) != 3 {
		t.Fatalf("requests %+v errors %v", b.Requests, b.Errors)
	}
	for k, n := range want {
		if b.Errors[k] != n {
			t.Fatalf("errors %v, want %v", b.Errors, want)
		}
	}
	// Latencies are of the successful requests; the failures show as counts.
	if b.TTFT.Count != 8 || b.E2E.Count != 8 || b.SendLateness.Count != 20 || b.Valid || !strings.Contains(strings.Join(b.InvalidReasons, ";"), "error rate 60.00%") {
		t.Fatalf("ttft %d e2e %d valid %v %v", b.TTFT.Count, b.E2E.Count, b.Valid, b.InvalidReasons)
	}
	if fv(b.SuccessRatio) != 0.4 {
		t.Fatalf("success ratio %v", b.SuccessRatio)
	}

	// max-errors stops the benchmark and says so.
	cfg.MaxErrors, cfg.MaxRequests = 3, 1000
	sum, err = Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := sum.Benchmarks[0]; b.StopReason != "max-errors 3 reached" || b.Requests.Failed != 3 {
		t.Fatalf("stop %q requests %+v", b.StopReason, b.Requests)
	}
}

func TestTimeoutAndEarlyEOS(t *testing.T) {
	f := &fakeServer{TTFT: 300 * time.Millisecond, ITL: time.Millisecond}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.MaxRequests, cfg.RequestTimeout = pacer.Synchronous, 2, 50*time.Millisecond
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := sum.Benchmarks[0]; b.Errors[contract.ErrTimeout] != 2 {
		t.Fatalf("errors %v", b.Errors)
	}

	// The server stops short of max_tokens: early_eos with ignore_eos.
	f2 := &fakeServer{ITL: time.Millisecond, Tokens: 3}
	srv2 := f2.start(t)
	cfg = baseConfig(srv2.URL)
	cfg.Profile, cfg.MaxRequests = pacer.Synchronous, 2
	cfg.ExtraBody = map[string]any{"max_completion_tokens": nil, "max_tokens": nil, "temperature": 0} // drop the demand from the body
	sum, err = Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := sum.Benchmarks[0]; b.Errors[contract.ErrEarlyEOS] != 2 {
		t.Fatalf("errors %v", b.Errors)
	}
}

func TestInterruptDrainsThenCuts(t *testing.T) {
	f := &fakeServer{TTFT: 20 * time.Millisecond, ITL: 100 * time.Millisecond, Tokens: 100}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds = pacer.Constant, []float64{20, 40}, 30*time.Second
	cfg.InterruptGrace = 200 * time.Millisecond // the drain timeout stays the default 10 s
	cfg.IgnoreEOS = false
	cfg.ExtraBody = map[string]any{"max_completion_tokens": nil, "max_tokens": nil}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	var col collector
	begin := time.Now()
	sum, err := Run(ctx, cfg, nil, col.sink)
	if !errors.Is(err, context.Canceled) || sum == nil {
		t.Fatalf("err %v summary %v", err, sum)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("interrupt took %v", d)
	}
	if len(sum.Benchmarks) != 1 {
		t.Fatalf("%d benchmarks: the second level must not start", len(sum.Benchmarks))
	}
	b := sum.Benchmarks[0]
	if b.StopReason != "interrupted" || b.Requests.Incomplete < 5 || b.Requests.Successful != 0 || b.Valid {
		t.Fatalf("stop %q requests %+v valid %v", b.StopReason, b.Requests, b.Valid)
	}
	for _, r := range col.all {
		if r.Outcome != contract.OutcomeIncomplete || r.OutputTokens < 1 {
			t.Fatalf("cut request %+v: tokens must be credited", r)
		}
	}
	if b.DurationSeconds > 0.7 {
		t.Fatalf("window %v s: it ends when sending stopped", b.DurationSeconds)
	}
}

func TestSweep(t *testing.T) {
	f := &fakeServer{TTFT: 10 * time.Millisecond, ITL: time.Millisecond, Tokens: 3}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.SweepSize, cfg.SweepStreams, cfg.MaxSeconds = pacer.Sweep, 4, 8, 400*time.Millisecond
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, b := range sum.Benchmarks {
		kinds = append(kinds, b.Profile)
	}
	// synchronous, throughput, then up to two constant rates (or an early stop).
	if len(kinds) < 3 || kinds[0] != "synchronous" || kinds[1] != "throughput" || kinds[2] != "constant" {
		t.Fatalf("sweep ran %v", kinds)
	}
	// Rates from the tokens inside the windows: every request asks for
	// exactly 5.
	sync, thr := fv(sum.Benchmarks[0].OutputTokensPerSecond)/5, fv(sum.Benchmarks[1].OutputTokensPerSecond)/5
	if r := sum.Benchmarks[2].TargetRate; math.Abs(r-(sync+(thr-sync)/2)) > 1e-9 {
		t.Fatalf("first swept rate %v between %v and %v", r, sync, thr)
	}
	if s := sum.Saturation; s == nil || s.MaxRate != thr || s.Rate <= 0 || s.Reason == "" {
		t.Fatalf("saturation %+v", s)
	}
	for _, b := range sum.Benchmarks[2:] {
		if b.OverSaturation == nil {
			t.Errorf("%s: no over-saturation verdict", b.Level)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Target = "" }, "target: empty"},
		{func(c *Config) { c.MaxSeconds, c.MaxRequests = 0, 0 }, "set max-seconds or max-requests"},
		{func(c *Config) { c.Rates = nil }, "needs at least one rate"},
		{func(c *Config) { c.Rates = []float64{-1} }, "rate: -1 is outside the allowed range (0, 1e+06] req/s"},
		{func(c *Config) { c.Rates = []float64{1e308} }, "rate: 1e+308 is outside the allowed range (0, 1e+06] req/s"},
		{func(c *Config) { c.Profile, c.Rates = pacer.Concurrent, []float64{1e9} }, "rate: 1e+09 is outside the allowed range [1, 50000] streams"},
		{func(c *Config) { c.Profile, c.Rates = pacer.Concurrent, []float64{2.5} }, "rate: 2.5 is not a whole number"},
		{func(c *Config) { c.RequestTimeout = -time.Second }, "request-timeout: -1 is outside the allowed range (0, 86400] seconds"},
		{func(c *Config) { c.MaxSeconds = 30 * 24 * time.Hour }, "max-seconds: 2.592e+06 is outside the allowed range [0, 604800] seconds"},
		{func(c *Config) { c.MaxErrorRate = 1.5 }, "max-error-rate: 1.5 is outside the allowed range [0, 1]"},
		{func(c *Config) { c.Profile, c.Burstiness = pacer.Gamma, 0 }, "burstiness: 0 is outside the allowed range (0, inf]"},
		{func(c *Config) { c.Warmup, c.MaxSeconds, c.MaxRequests = 0.5, 0, 10 }, "warmup: 0.5 is a fraction of max-seconds"},
		{func(c *Config) { c.Warmup, c.Cooldown = 6, 5 }, "leave nothing"},
		{func(c *Config) { c.Profile = pacer.Replay }, "replay: needs a --data file"},
		{func(c *Config) { c.API = "rerank" }, `api "rerank"`},
		{func(c *Config) { c.Profile, c.SweepSize = pacer.Sweep, 1 }, "sweep-size"},
	} {
		cfg := baseConfig("http://127.0.0.1:1")
		cfg.Profile, cfg.Rates, cfg.MaxSeconds = pacer.Constant, []float64{1}, 10*time.Second
		tc.mod(&cfg)
		_, err := Run(context.Background(), cfg, nil, nil)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// An unreachable server fails before any benchmark.
	cfg := baseConfig("http://127.0.0.1:1")
	cfg.Profile, cfg.MaxRequests = pacer.Synchronous, 1
	if _, err := Run(context.Background(), cfg, nil, nil); err == nil || errors.Is(err, ErrConfig) {
		t.Fatalf("error %v", err)
	}
}

func TestHeadersAndReplay(t *testing.T) {
	var mu sync.Mutex
	var auth, custom []string
	f := &fakeServer{ITL: time.Millisecond, Tokens: 2}
	var inner http.Handler = f
	srv := f.start(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		custom = append(custom, r.Header.Get("X-Tenant"))
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	cfg := baseConfig(srv.URL)
	cfg.Model = "fake-model"
	cfg.APIKey, cfg.Header = "secret", http.Header{"x-tenant": {"a"}}
	cfg.Profile, cfg.TimeScale = pacer.Replay, 0.5
	cfg.Prompts = &workload.Set{Items: []workload.Item{{Prompt: "a", At: 0}, {Prompt: "b", At: 200 * time.Millisecond}, {Prompt: "c", At: 400 * time.Millisecond}}}
	var col collector
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	if b := sum.Benchmarks[0]; b.Level != "replay-x0.5" || b.Requests.Successful != 3 || sum.Workload != "custom" {
		t.Fatalf("%+v", b)
	}
	sort.Slice(col.all, func(i, j int) bool { return col.all[i].Seq < col.all[j].Seq })
	var offs []time.Duration
	for _, r := range col.all {
		offs = append(offs, r.Scheduled.Sub(col.all[0].Scheduled))
	}
	if len(offs) != 3 || offs[2] < 190*time.Millisecond || offs[2] > 210*time.Millisecond {
		t.Fatalf("replayed offsets %v, want 0, 100ms, 200ms", offs)
	}
	for i := range auth {
		if auth[i] != "Bearer secret" || custom[i] != "a" {
			t.Fatalf("headers %q %q", auth, custom)
		}
	}
}

func TestNonStreamedAndEmbeddings(t *testing.T) {
	f := &fakeServer{TTFT: 20 * time.Millisecond, ITL: 2 * time.Millisecond}
	srv := f.start(t)

	cfg := baseConfig(srv.URL)
	cfg.Stream, cfg.Profile, cfg.MaxRequests = false, pacer.Synchronous, 3
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := sum.Benchmarks[0]
	// TTFT = E2E: the answer is one piece; no gaps, no TPOT.
	if b.Requests.Successful != 3 || b.TokenSource != "usage" || b.ITL.Count != 0 || b.TPOT.Count != 0 ||
		b.TTFT.Count != 3 || fv(b.TTFT.P50) != fv(b.E2E.P50) || fv(b.TTFT.P50) < 28 {
		t.Fatalf("non-streamed: %+v", b)
	}

	cfg = baseConfig(srv.URL)
	cfg.API, cfg.Profile, cfg.MaxRequests = measure.APIEmbeddings, pacer.Synchronous, 3
	cfg.Workload = workload.Spec{Name: "embedding", Prompt: workload.Length{Mean: 32}}
	var col collector
	sum, err = Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	b = sum.Benchmarks[0]
	if b.Requests.Successful != 3 || b.TTFT.Count != 3 || fv(b.TTFT.P50) != fv(b.E2E.P50) || col.all[0].PromptTokens != 32 || col.all[0].OutputTokens != 0 {
		t.Fatalf("embeddings: %+v %+v", b, col.all[0])
	}
}

// A closed loop ends at max-seconds like an open one: requests still running
// get the drain timeout, then are cut, instead of holding the level open.
func TestClosedLoopEndsAtMaxSeconds(t *testing.T) {
	f := &fakeServer{TTFT: 20 * time.Millisecond, ITL: 50 * time.Millisecond, Tokens: 40}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds, cfg.DrainTimeout = pacer.Concurrent, []float64{3}, 300*time.Millisecond, 100*time.Millisecond
	cfg.IgnoreEOS = false
	cfg.ExtraBody = map[string]any{"max_completion_tokens": nil, "max_tokens": nil}
	begin := time.Now()
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 1500*time.Millisecond {
		t.Fatalf("level took %v; its requests take 2 s", d)
	}
	b := sum.Benchmarks[0]
	if b.Requests.Incomplete != 3 || b.StopReason != "" || b.DurationSeconds != 0.3 {
		t.Fatalf("requests %+v stop %q duration %v", b.Requests, b.StopReason, b.DurationSeconds)
	}
}

// At the in-flight cap an open loop drops sends and says so, instead of
// queueing them client-side.
func TestMaxInFlightDrops(t *testing.T) {
	f := &fakeServer{TTFT: 400 * time.Millisecond, ITL: time.Millisecond, Tokens: 2}
	srv := f.start(t)
	cfg := baseConfig(srv.URL)
	cfg.Profile, cfg.Rates, cfg.MaxSeconds, cfg.MaxInFlight = pacer.Constant, []float64{50}, 300*time.Millisecond, 5
	var col collector
	sum, err := Run(context.Background(), cfg, nil, col.sink)
	if err != nil {
		t.Fatal(err)
	}
	b := sum.Benchmarks[0]
	// On a busy machine the last send may find the window closed: it is
	// missed, not dropped.
	reason := fmt.Sprintf("%d sends dropped", b.Dropped)
	if len(col.all) != 5 || b.Dropped+b.Missed != 10 || b.Missed > 2 || b.Valid || !strings.Contains(strings.Join(b.InvalidReasons, ";"), reason) {
		t.Fatalf("%d sent, dropped %d, missed %d, reasons %v", len(col.all), b.Dropped, b.Missed, b.InvalidReasons)
	}
}

// A client that reads late still reports when the tokens arrived, when the
// kernel's receive timestamps are at hand; without them it reports the
// read time (the control, showing the test can tell the two apart).
func TestLateReaderTimesArrival(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("receive timestamps are read on Linux only")
	}
	f := &fakeServer{TTFT: 30 * time.Millisecond, ITL: 60 * time.Millisecond}
	srv := f.start(t)
	for _, stamped := range []bool{true, false} {
		tr := &http.Transport{DialContext: netstamptest.LateDialer(20*time.Millisecond, stamped)}
		cfg := baseConfig(srv.URL)
		cfg.Client = &http.Client{Transport: tr}
		cfg.Workload.Output.Mean = 3
		cfg.Profile, cfg.Rates, cfg.MaxRequests = pacer.Concurrent, []float64{1}, 3
		sum, err := Run(context.Background(), cfg, nil, nil)
		tr.CloseIdleConnections()
		if err != nil {
			t.Fatal(err)
		}
		b := sum.Benchmarks[0]
		if b.Requests.Successful != 3 {
			t.Fatalf("stamped=%v: requests %+v", stamped, b.Requests)
		}
		ttft, itl := fv(b.TTFTFromSend.P50), fv(b.ITL.P50)
		if stamped && (b.ChunkClock != "kernel" || ttft < 29 || ttft > 40 || itl < 55 || itl > 65) {
			t.Fatalf("with timestamps: clock %q, TTFT %.1f ms (server: 30), ITL %.1f ms (server: 60)", b.ChunkClock, ttft, itl)
		}
		if !stamped && (b.ChunkClock != "read" || ttft < 48) {
			t.Fatalf("without timestamps: clock %q, TTFT %.1f ms; a 20 ms late read should show", b.ChunkClock, ttft)
		}
	}
}

// The open loop's wakers send every due request exactly once, in schedule
// order by sequence number, and stop at max-requests.
func TestOpenLoopSendsEachOnce(t *testing.T) {
	f := &fakeServer{Tokens: 1}
	srv := f.start(t)
	for _, maxReq := range []int{0, 300} {
		cfg := baseConfig(srv.URL)
		cfg.Workload.Output.Mean = 1
		cfg.Profile, cfg.Rates, cfg.MaxSeconds, cfg.MaxRequests = pacer.Constant, []float64{1000}, 500*time.Millisecond, maxReq
		var col collector
		sum, err := Run(context.Background(), cfg, nil, col.sink)
		if err != nil {
			t.Fatal(err)
		}
		// On a busy machine the last few sends may find the window closed:
		// those are missed, never sent late.
		missed := sum.Benchmarks[0].Missed
		want := 500
		if maxReq > 0 {
			want = maxReq
		}
		seen := map[int64]bool{}
		for _, r := range col.all {
			if seen[r.Seq] {
				t.Fatalf("request %d sent twice", r.Seq)
			}
			seen[r.Seq] = true
			// Due 1 ms apart from the first.
			if d := r.Scheduled.Sub(col.all[0].Scheduled) - time.Duration(r.Seq-col.all[0].Seq)*time.Millisecond; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("request %d scheduled %v off its slot", r.Seq, d)
			}
		}
		if len(seen)+missed != want || missed > want/10 {
			t.Fatalf("max-requests %d: %d requests and %d missed, want %d", maxReq, len(seen), missed, want)
		}
		for i := range want - missed {
			if !seen[int64(i)] {
				t.Fatalf("request %d never sent", i)
			}
		}
	}
}
