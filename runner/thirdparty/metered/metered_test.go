package metered

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/launch"
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

// tool writes a stand-in for a third-party binary: it answers --version,
// sends two real streamed completions to the URL it was given (through the
// metering proxy), prints a line, and writes report to the path it was given.
func tool(t *testing.T, version, urlSed, outSed, report string) string {
	t.Helper()
	dir := t.TempDir()
	script := `#!/bin/sh
if [ "$1" = "--version" ]; then echo "` + version + `"; exit 0; fi
url=$(echo "$@" | sed -n '` + urlSed + `')
out=$(echo "$@" | sed -n '` + outSed + `')
for i in 1 2; do
  curl -sf -X POST "$url/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"TinyLlama/TinyLlama-1.1B-Chat-v1.0","prompt":"hello there","max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}' >/dev/null || exit 7
done
echo "sent 2 requests to $url"
cp "` + report + `" "$out"
`
	p := filepath.Join(dir, "tool")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func request(t *testing.T, inst engine.Instance, profile string, target float64) orchestrate.LoadRequest {
	return orchestrate.LoadRequest{
		Cell:   suite.Cell{ID: "smoke-c1", Workload: "chat_lite", API: "completions"},
		Level:  suite.Level{Name: profile + "-2.5", Profile: profile, Value: target},
		Target: target, URLs: []string{inst.URL()}, Model: inst.Model(),
		Labels: measure.BenchmarkLabels{Suite: "smoke", Model: inst.Model(), Workload: "chat_lite", Cores: "8", Loadgen: "native", Level: profile + "-2.5"},
		Limits: suite.Limits{MaxSeconds: 5}, LogDir: t.TempDir(), Seed: 1,
	}
}

func TestGuideLLMLevelThroughProxy(t *testing.T) {
	inst := simEngine(t)
	report, _ := filepath.Abs("testdata/guidellm-constant-2.5.json")
	bin := tool(t, "guidellm, version 0.7.3", `s/.*target=\([^, ]*\).*/\1/p`, `s/.*--output kind=json,path=\([^ ]*\).*/\1/p`, report)
	var console strings.Builder
	g, err := NewGuideLLM(context.Background(), &guidellm.Runner{Binary: bin, Output: launch.Output{Console: &console, Prefix: "guidellm"}}, "/models/tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name() != "guidellm" || g.Version() != "0.7.3" {
		t.Errorf("name %s version %s", g.Name(), g.Version())
	}
	rec := &countingRecorder{}
	req := request(t, inst, "constant", 2.5)
	b, err := g.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatalf("%v\nconsole: %s", err, console.String())
	}
	if b.Level != "constant-2.5" || b.Profile != "constant" || b.TargetRate != 2.5 || b.Requests.Successful != 9 {
		t.Errorf("benchmark %+v", b)
	}
	if len(rec.labels) != 1 || rec.labels[0].Loadgen != "guidellm" || rec.labels[0].Level != "constant-2.5" {
		t.Errorf("recorder labels %+v", rec.labels)
	}
	if len(rec.results) != 2 || rec.results[0].Outcome != contract.OutcomeSuccess || rec.results[0].OutputTokens != 3 {
		t.Errorf("proxy recorded %d results: %+v", len(rec.results), rec.results)
	}
	if !strings.Contains(console.String(), "guidellm | sent 2 requests to http://127.0.0.1:") {
		t.Errorf("console %q", console.String())
	}
	log, err := os.ReadFile(filepath.Join(req.LogDir, "guidellm-constant-2.5.log"))
	if err != nil || !strings.Contains(string(log), "sent 2 requests") {
		t.Errorf("level log %q %v", log, err)
	}
	c, _ := g.Config(req, "http://proxy", "/d")
	if c.Tokenizer != "/models/tok" || c.RequestFormat != guidellm.FormatCompletions || c.PromptTokens != 128 || c.OutputTokens != 128 || c.MaxSeconds != 5 {
		t.Errorf("config %+v", c)
	}
}

func TestVLLMBenchLevelThroughProxy(t *testing.T) {
	inst := simEngine(t)
	report, _ := filepath.Abs("../vllmbench/testdata/openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json")
	bin := tool(t, "0.25.1", `s/.*--base-url \([^ ]*\).*/\1/p`,
		`s/.*--result-dir \([^ ]*\) --result-filename \([^ ]*\).*/\1\/\2/p`, report)
	v, err := NewVLLMBench(context.Background(), &vllmbench.Runner{Binary: bin}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{}
	req := request(t, inst, "concurrent", 16)
	req.Level.Name = "concurrent-16"
	b, err := v.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if b.Level != "concurrent-16" || b.Requests.Successful != 200 || len(rec.results) != 2 || rec.labels[0].Loadgen != "vllm-bench" {
		t.Errorf("benchmark %+v, %d results, labels %+v", b, len(rec.results), rec.labels)
	}
	c, _ := v.Config(req, "http://proxy", "/d")
	if c.MaxConcurrency != 16 || c.RequestRate != 0 || c.NumPrompts != 200 || c.API != vllmbench.APICompletions {
		t.Errorf("config %+v", c)
	}
	req.Level.Profile, req.Target = "poisson", 4
	if c, _ = v.Config(req, "http://proxy", "/d"); c.NumPrompts != 20 || c.RequestRate != 4 {
		t.Errorf("poisson 4 req/s for 5 s: %+v", c)
	}
}

func TestOneURLOnly(t *testing.T) {
	g := &GuideLLM{}
	_, err := g.Run(context.Background(), orchestrate.LoadRequest{URLs: []string{"a", "b"}}, nil)
	if err != errOneURL {
		t.Errorf("err = %v", err)
	}
}
