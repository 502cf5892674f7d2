package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/results/resultstest"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/workload"
)

// fv is a figure the test expects present.
var fv = resultstest.Must

type countingRecorder struct {
	mu     sync.Mutex
	levels map[string]int
}

func (c *countingRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	return countingBenchmark{c: c, level: l.Level}
}

type countingBenchmark struct {
	c     *countingRecorder
	level string
}

func (countingBenchmark) SetTarget(float64, contract.TargetUnit) {}
func (countingBenchmark) FirstToken(time.Duration)               {}
func (countingBenchmark) Started()                               {}
func (countingBenchmark) Close()                                 {}
func (b countingBenchmark) Finished(*measure.Result) {
	b.c.mu.Lock()
	b.c.levels[b.level]++
	b.c.mu.Unlock()
}

// TestNativeAgainstSimulators runs the native driver against in-process
// simulators: one URL, and the instances variant's even split over two.
func TestNativeAgainstSimulators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated engines")
	}
	base := simulator.DefaultConfig()
	base.LoadTime = 0
	drv := engine.NewSim(base, nil, nil)
	var urls []string
	for i := 0; i < 2; i++ {
		in, err := drv.Start(context.Background(), engine.Spec{Name: "sim", Model: "Qwen/Qwen3-0.6B", CPUs: make([]int, 16)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Stop(context.Background()) })
		if err := in.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, in.URL())
	}
	n := NewNative(nil)
	cell := suite.Cell{ID: "c", Model: "Qwen/Qwen3-0.6B", Workload: "chat_lite", API: "chat", Cores: 16}
	limits := suite.Limits{MaxSeconds: 1, RequestTimeoutSeconds: 30}
	rec := &countingRecorder{levels: map[string]int{}}
	for _, tc := range []struct {
		urls  []string
		level suite.Level
	}{
		{urls[:1], suite.Level{Name: "concurrent-2", Profile: "concurrent", Value: 2}},
		{urls, suite.Level{Name: "poisson-50pct", Profile: "poisson", Fraction: 0.5}},
	} {
		req := LoadRequest{Cell: cell, Level: tc.level, Target: 4, URLs: tc.urls, Model: "Qwen/Qwen3-0.6B", Limits: limits,
			Labels: measure.BenchmarkLabels{Suite: "test", Level: "overridden"}}
		if tc.level.Value > 0 {
			req.Target = tc.level.Value
		}
		b, err := n.Run(context.Background(), req, rec)
		if err != nil {
			t.Fatalf("%s: %v", tc.level.Name, err)
		}
		total := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
		if b.Level != tc.level.Name || total == 0 || b.TargetRate != req.Target || fv(b.OutputTokensPerSecond) <= 0 {
			t.Errorf("%s: %+v", tc.level.Name, b)
		}
		// The live series carry the suite's level name, whatever the loop calls it.
		if rec.levels[tc.level.Name] < total {
			t.Errorf("%s: recorder saw %d requests, the summary counts %d measured", tc.level.Name, rec.levels[tc.level.Name], total)
		}
	}
}

// TestNativeLeastOutstanding spreads one closed loop over a 2-core and a
// 16-core simulator: the faster engine finishes its requests sooner, so
// the least-outstanding client hands it more of them.
func TestNativeLeastOutstanding(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated engines")
	}
	base := simulator.DefaultConfig()
	base.LoadTime = 0
	base.Slowdown = 0.05 // twenty times the modelled speed: requests of ~0.1 s
	drv := engine.NewSim(base, nil, nil)
	var urls []string
	for _, cores := range []int{2, 16} {
		in, err := drv.Start(context.Background(), engine.Spec{Name: "sim", Model: "Qwen/Qwen3-0.6B", CPUs: make([]int, cores)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Stop(context.Background()) })
		if err := in.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, in.URL())
	}
	client := loadgen.NewClient()
	lo, err := newLeastOutstanding(urls, client.Transport)
	if err != nil {
		t.Fatal(err)
	}
	client.Transport = lo
	n := NewNative(nil)
	cell := suite.Cell{ID: "c", Model: "Qwen/Qwen3-0.6B", Workload: "chat_lite", API: "chat", Cores: 16}
	req := LoadRequest{Cell: cell, Level: suite.Level{Name: "concurrent-4", Profile: "concurrent"}, Target: 4,
		URLs: urls, Model: "Qwen/Qwen3-0.6B", Limits: suite.Limits{MaxSeconds: 2, RequestTimeoutSeconds: 30}}
	cfg, err := n.Config(req, urls[0], 4)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client = client
	sum, err := loadgen.Run(context.Background(), cfg, measure.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := lo.Served()
	t.Logf("requests per instance (2 cores, 16 cores): %v; %+v", got, sum.Benchmarks[0].Requests)
	if got[1] <= got[0] || got[0] == 0 || sum.Benchmarks[0].Requests.Failed != 0 {
		t.Errorf("requests per instance %v, %+v: the 16-core engine should get more, the 2-core one some, none fail", got, sum.Benchmarks[0].Requests)
	}

	// Through Run: one loop, the whole target.
	req.Balance = "least-outstanding"
	req.Limits.MaxSeconds = 1
	rec := &countingRecorder{levels: map[string]int{}}
	b, err := n.Run(context.Background(), req, rec)
	total := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
	if err != nil || b.Level != "concurrent-4" || b.TargetRate != 4 || b.Requests.Failed != 0 || total == 0 {
		t.Errorf("least-outstanding level: %v %+v %v", err, b.Requests, b.Errors)
	}
}

// A cell's prompts are calibrated once, before its first level: later
// levels of the cell send the same prompts without asking the engine to
// tokenize again; the next cell builds its own.
func TestNativePreparesPromptsOncePerCell(t *testing.T) {
	var tokenize atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
		case "/tokenize":
			tokenize.Add(1)
			var req struct {
				Messages []struct{ Content string } `json:"messages"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			fmt.Fprintf(w, `{"count":%d}`, len(strings.Fields(req.Messages[0].Content)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	n := NewNative(nil)
	req := LoadRequest{Cell: suite.Cell{ID: "c1", Model: "m", Workload: "chat_lite", API: "chat"},
		Level: suite.Level{Name: "concurrent-2", Profile: "concurrent"}, Target: 2, URLs: []string{srv.URL}, Model: "m",
		Limits: suite.Limits{MaxSeconds: 1, MaxRequests: 20}}
	prompts := func(req LoadRequest) *workload.Set {
		cfg, err := n.Config(req, srv.URL, req.Target)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.withPrompts(context.Background(), req.Cell.ID, &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg.Prompts
	}
	first := prompts(req)
	calls := tokenize.Load()
	if first == nil || len(first.Items) != 20 || calls == 0 || first.Calibration != "tokenize" {
		t.Fatalf("first level: %d prompts, %d tokenize calls", len(first.Items), calls)
	}
	req.Level = suite.Level{Name: "poisson-50pct", Profile: "poisson"}
	if again := prompts(req); again != first || tokenize.Load() != calls {
		t.Fatalf("second level: same set %v, tokenize calls %d then %d", again == first, calls, tokenize.Load())
	}
	req.Cell.ID = "c2"
	if other := prompts(req); other == first || tokenize.Load() == calls {
		t.Fatal("a new cell reused the previous cell's prompts")
	}
}
