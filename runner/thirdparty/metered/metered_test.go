package metered

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/vllmbench"
)

// countingRecorder records which benchmarks were opened and every result.
type countingRecorder struct {
	mu      sync.Mutex
	labels  []measure.BenchmarkLabels
	results []*measure.Result
}

func (c *countingRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.labels = append(c.labels, l)
	return benchRec{c}
}

type benchRec struct{ c *countingRecorder }

func (benchRec) SetTarget(float64, contract.TargetUnit) {}
func (benchRec) FirstToken(time.Duration)               {}
func (benchRec) Started()                               {}
func (b benchRec) Finished(r *measure.Result) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	b.c.results = append(b.c.results, r)
}
func (benchRec) Close() {}

// simEngine serves the simulator in-process for the tools to hit.
func simEngine(t *testing.T) engine.Instance {
	t.Helper()
	cfg := simulator.DefaultConfig()
	cfg.LoadTime, cfg.Slowdown = 10*time.Millisecond, 0.01
	inst, err := engine.NewSim(cfg, nil, nil).Start(context.Background(), engine.Spec{ReadyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop(context.Background()) })
	if err := inst.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	return inst
}

// request is one level of maxSeconds (no warmup), then a drain of a second.
func request(t *testing.T, inst engine.Instance, profile string, target float64) orchestrate.LoadRequest {
	return requestFor(t, inst, profile, target, 5)
}

func requestFor(t *testing.T, inst engine.Instance, profile string, target, maxSeconds float64) orchestrate.LoadRequest {
	t.Helper()
	limits := suite.Limits{MaxSeconds: maxSeconds, DrainTimeoutSeconds: 1}
	budget, err := orchestrate.LevelBudget(limits)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s-%g", profile, target)
	return orchestrate.LoadRequest{
		Cell:   suite.Cell{ID: "smoke-c1", Workload: "chat_lite", API: "completions"},
		Level:  suite.Level{Name: name, Profile: profile, Value: target},
		Target: target, URLs: []string{inst.URL()}, Model: inst.Model(),
		Labels: measure.BenchmarkLabels{Suite: "smoke", Model: inst.Model(), Workload: "chat_lite", Cores: "8", Loadgen: "native", Level: name},
		Limits: limits, LogDir: t.TempDir(), Seed: 1, Budget: budget, StartAllowance: 30 * time.Second,
	}
}

func vllmBench(t *testing.T, mode string) *VLLMBench {
	t.Helper()
	v, err := NewVLLMBench(context.Background(), &vllmbench.Runner{Binary: standin(t, "vllm", mode)}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// vllm bench serve reporting what it did: its figures are the level's, and
// they agree with the proxy's records of the same requests.
func TestVLLMBenchAgreesWithProxy(t *testing.T) {
	inst := simEngine(t)
	v := vllmBench(t, "honest")
	if v.Name() != "vllm-bench" || v.Version() != "0.25.1" {
		t.Errorf("name %s version %s", v.Name(), v.Version())
	}
	rec := &countingRecorder{}
	req := requestFor(t, inst, "concurrent", 2, 2)
	c, _ := v.Config(req, "http://proxy", "/d")
	// A cell's first closed-loop level: 2 streams at one request a second
	// each for the 2 s span, plus one per stream.
	if c.NumPrompts != 6 || c.MaxConcurrency != 2 || !c.SkipReadyCheck || c.APIKey != "" {
		t.Errorf("config %+v", c)
	}
	b, err := v.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != "vllm-bench" || b.Level != "concurrent-2" || b.CrossCheck == nil || !b.CrossCheck.Agree || !b.Valid {
		t.Fatalf("benchmark source %q valid %v %v cross-check %+v", b.Source, b.Valid, b.InvalidReasons, b.CrossCheck)
	}
	want := map[string]bool{"requests": true, "successful": true, "requests_per_second": true, "ttft_p50_ms": true}
	for _, r := range b.CrossCheck.Rows {
		delete(want, r.Figure)
		if (r.Figure == "requests" || r.Figure == "successful") && (r.Tool != 6 || r.Proxy != 6) {
			t.Errorf("%s: tool %v proxy %v", r.Figure, r.Tool, r.Proxy)
		}
	}
	if len(want) != 0 || len(rec.results) != 6 || rec.labels[0].Loadgen != "vllm-bench" {
		t.Errorf("rows %+v missing %v; proxy recorded %d, labels %+v", b.CrossCheck.Rows, want, len(rec.results), rec.labels)
	}
	// The next closed-loop level of the cell is estimated from what the
	// streams completed at this one.
	next := requestFor(t, inst, "concurrent", 4, 2)
	if c, _ := v.Config(next, "http://proxy", "/d"); c.NumPrompts <= 12 {
		t.Errorf("next level's estimate %d prompts: the fast engine's rate was not used", c.NumPrompts)
	}
	req.Level.Profile, req.Target = "poisson", 4
	if c, _ = v.Config(req, "http://proxy", "/d"); c.NumPrompts != 8 || c.RequestRate != 4 {
		t.Errorf("poisson 4 req/s for 2 s: %+v", c)
	}
}

// The case: a report from another run (concurrency 16, 200
// requests) accepted for a level the proxy saw six requests of. The level
// is invalid, the reasons naming both numbers.
func TestVLLMBenchReportDisagreeingWithProxyIsInvalid(t *testing.T) {
	inst := simEngine(t)
	report, _ := filepath.Abs("../vllmbench/testdata/openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json")
	v := vllmBench(t, "recorded:"+report)
	b, err := v.Run(context.Background(), requestFor(t, inst, "concurrent", 2, 2), &countingRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Valid || b.Source != "vllm-bench" || b.CrossCheck.Agree {
		t.Fatalf("valid %v source %s cross-check %+v", b.Valid, b.Source, b.CrossCheck)
	}
	joined := strings.Join(b.InvalidReasons, "\n")
	for _, want := range []string{"vllm-bench's report disagrees with the metering proxy: requests 200 (tool) vs 6 (proxy), tolerance exact",
		"successful 200 (tool) vs 6 (proxy)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reasons lack %q:\n%s", want, joined)
		}
	}
}

// A tool that would send for ever is held to the level's budget: nothing
// reaches the server after the window, the requests in flight at the drain
// deadline are cut, the tool is stopped, and the level's figures are the
// proxy's, saying so.
func TestVLLMBenchStoppedAtTheBudget(t *testing.T) {
	inst := simEngine(t)
	v := vllmBench(t, "forever")
	req := requestFor(t, inst, "concurrent", 2, 1.5)
	req.Limits.DrainTimeoutSeconds = 0.5
	req.Budget.Drain = 500 * time.Millisecond
	rec := &countingRecorder{}
	began := time.Now()
	b, err := v.Run(context.Background(), req, rec)
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != "proxy" || !strings.Contains(b.SourceReason, "vllm-bench was stopped at the level's budget (window 1.5s + drain 500ms = 2s) before it finished") {
		t.Errorf("source %q: %s", b.Source, b.SourceReason)
	}
	var first, lastSend, lastEnd time.Time
	for _, r := range rec.results {
		if first.IsZero() || r.Scheduled.Before(first) {
			first = r.Scheduled
		}
		lastSend, lastEnd = later(lastSend, r.Sent), later(lastEnd, r.End)
	}
	if len(rec.results) == 0 || b.Requests.Successful == 0 {
		t.Fatalf("%d requests recorded, benchmark %+v", len(rec.results), b.Requests)
	}
	if d := lastSend.Sub(first); d > 1500*time.Millisecond {
		t.Errorf("a request reached the server %v after the first, past the 1.5 s window", d)
	}
	if d := lastEnd.Sub(first); d > 2*time.Second+500*time.Millisecond {
		t.Errorf("a request ended %v after the first, past the 2 s budget", d)
	}
	// Start-up of the stand-in, the budget, the stop grace at most.
	if took > 2*time.Second+stopGrace+5*time.Second {
		t.Errorf("the level took %v", took)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// GuideLLM without a tokenizer reads the cell's prompts, calibrated by the
// engine, from a data file with their token counts; its report agrees with
// the proxy and its figures are the level's. The data file is removed.
func TestGuideLLMOfflineAgreesWithProxy(t *testing.T) {
	inst := simEngine(t)
	g, err := NewGuideLLM(context.Background(), &guidellm.Runner{Binary: standin(t, "guidellm", "honest")}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	req := requestFor(t, inst, "constant", 4, 2)
	c, err := g.Config(req, "http://proxy", req.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "kind=json_file,path="+filepath.Join(req.LogDir, "guidellm-prompts-constant-4.jsonl") || c.Tokenizer != "" || !c.IgnoreEOS || c.APIKey != "" || c.MaxSeconds != 2 {
		t.Errorf("config %+v", c)
	}
	rec := &countingRecorder{}
	b, err := g.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != "guidellm" || b.CrossCheck == nil || !b.CrossCheck.Agree || !b.Valid || b.Requests.Successful < 6 {
		t.Fatalf("source %q valid %v %q, %d successful, cross-check %+v", b.Source, b.Valid, b.InvalidReasons, b.Requests.Successful, b.CrossCheck)
	}
	if _, err := os.Stat(filepath.Join(req.LogDir, "guidellm-prompts-constant-4.jsonl")); !os.IsNotExist(err) {
		t.Errorf("the level's data file is still there: %v", err)
	}
	if c, _ := g.Config(req, "http://proxy", req.LogDir); !c.StopOverSaturated == req.Limits.StopOverSaturated {
		t.Errorf("over-saturation stop not passed: %+v", c)
	}
}

// A tool that fails, sends nothing or writes a report that cannot be read
// gives an error naming the tool and the level, and its output log stays.
func TestToolFailures(t *testing.T) {
	inst := simEngine(t)
	for _, tc := range []struct {
		mode  string
		want  []string
		quick time.Duration
	}{
		{"fail", []string{"vllm-bench (level concurrent-2): vllm bench: ", "exited with code 3; last lines:", "ValueError: Initial test run failed", "; its output is in "}, 0},
		{"silent", []string{"vllm-bench (level concurrent-2) sent no request within 500ms of starting; stopped, its output is in "}, 500*time.Millisecond + stopGrace + 3*time.Second},
		{"garbage", []string{"vllm-bench (level concurrent-2): vllm bench result: object 1: invalid character 'T'", "; its output is in "}, 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			req := requestFor(t, inst, "concurrent", 2, 1)
			if tc.mode == "silent" {
				// Only the silent tool waits for the allowance; the others
				// may start slowly on a loaded machine.
				req.StartAllowance = 500 * time.Millisecond
			}
			began := time.Now()
			b, err := vllmBench(t, tc.mode).Run(context.Background(), req, &countingRecorder{})
			if err == nil {
				t.Fatalf("no error; benchmark %+v", b)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tc.quick > 0 && time.Since(began) > tc.quick {
				t.Errorf("took %v", time.Since(began))
			}
			log := filepath.Join(req.LogDir, "vllm-bench-concurrent-2.log")
			if !strings.Contains(err.Error(), log) {
				t.Errorf("error does not name the log %s", log)
			}
			if _, err := os.Stat(log); err != nil {
				t.Error(err)
			}
			if b.Level != "concurrent-2" || b.Valid {
				t.Errorf("the failed level's figures: %+v", b)
			}
		})
	}
	if _, err := NewVLLMBench(context.Background(), &vllmbench.Runner{Binary: filepath.Join(t.TempDir(), "vllm")}, "", nil); err == nil ||
		!strings.Contains(err.Error(), "vllm version: ") {
		t.Errorf("missing tool: %v", err)
	}
}

// The run's API key reaches the server on every request through the
// proxy; the tool never has it.
func TestAPIKeyAddedByTheProxy(t *testing.T) {
	inst := simEngine(t)
	up, _ := url.Parse(inst.URL())
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.FlushInterval = -1
	rp.Transport = &http.Transport{} // its own connections, apart from the rest of the test process
	var seen, refused atomic.Int64
	guard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-level" {
			refused.Add(1)
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		seen.Add(1)
		rp.ServeHTTP(w, r)
	}))
	defer guard.Close()
	req := requestFor(t, inst, "concurrent", 2, 2)
	req.URLs, req.APIKey = []string{guard.URL}, "sk-level"
	rec := &countingRecorder{}
	b, err := vllmBench(t, "honest").Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if refused.Load() != 0 || seen.Load() != 6 || b.Requests.Successful != 6 {
		t.Errorf("%d requests with the key, %d without; %d successful", seen.Load(), refused.Load(), b.Requests.Successful)
		for _, r := range rec.results {
			t.Logf("%v %s %s %s %v %v", r.Scheduled.Format("05.000"), r.Outcome, r.ErrorKind, r.Error, r.End.Sub(r.Scheduled), r.OutputTokens)
		}
	}
	log, _ := os.ReadFile(filepath.Join(req.LogDir, "vllm-bench-concurrent-2.log"))
	if strings.Contains(string(log), "sk-level") {
		t.Error("the key is in the tool's log")
	}
}

func TestOneURLOnly(t *testing.T) {
	g := &GuideLLM{}
	_, err := g.Run(context.Background(), orchestrate.LoadRequest{URLs: []string{"a", "b"}}, nil)
	if err != errOneURL {
		t.Errorf("err = %v", err)
	}
}
