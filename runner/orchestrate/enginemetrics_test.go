package orchestrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/simtest"
	"github.com/servebench/servebench/runner/suite"
)

// sampledSim is the simulated engine the sampler tests scrape: Qwen3-0.6B
// on 8 cores, ready at once.
func sampledSim() simulator.Config {
	cfg := simulator.DefaultConfig()
	cfg.Model, cfg.Cores, cfg.LoadTime = "Qwen/Qwen3-0.6B", 8, 0
	return cfg
}

// TestEngineSamplerAgainstSimulator samples the in-process simulator's
// /metrics while load runs: the generated-token counter must grow from the
// first sample to the last and some sample must see requests running.
func TestEngineSamplerAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated engine")
	}
	url := simtest.Start(t, sampledSim())
	var buf bytes.Buffer
	s := &engineSampler{client: http.DefaultClient, urls: []string{url}, every: 100 * time.Millisecond,
		prefixes: []string{"vllm:"}, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx, &buf) }()
	cell := suite.Cell{ID: "c", Model: "Qwen/Qwen3-0.6B", Workload: "chat_lite", API: "chat", Cores: 8}
	_, err := NewNative(nil).Run(context.Background(), LoadRequest{Cell: cell, URLs: []string{url}, Model: "Qwen/Qwen3-0.6B",
		Level: suite.Level{Name: "concurrent-4", Profile: "concurrent", Value: 4}, Target: 4,
		Limits: suite.Limits{MaxSeconds: 1, RequestTimeoutSeconds: 30}}, measure.Discard)
	time.Sleep(150 * time.Millisecond) // one sample after the load
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var samples []results.EngineSample
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var e results.EngineSample
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		samples = append(samples, e)
	}
	if len(samples) < 5 {
		t.Fatalf("%d samples in about 1.2s at 100ms", len(samples))
	}
	first, last := samples[0], samples[len(samples)-1]
	if first.Error != "" || first.Instance != 1 {
		t.Fatalf("first sample %+v", first)
	}
	if !(last.Metrics["vllm:generation_tokens_total"] > first.Metrics["vllm:generation_tokens_total"]) {
		t.Errorf("generation tokens %v -> %v: the counter did not move", first.Metrics["vllm:generation_tokens_total"], last.Metrics["vllm:generation_tokens_total"])
	}
	running := 0.0
	for _, e := range samples {
		running = max(running, e.Metrics["vllm:num_requests_running"])
		for k := range e.Metrics {
			if !strings.HasPrefix(k, "vllm:") || strings.Contains(k, "model_name") || strings.Contains(k, "_bucket") {
				t.Fatalf("series %q kept", k)
			}
		}
	}
	if running < 1 {
		t.Errorf("no sample saw a running request (max %v)", running)
	}
	if _, ok := last.Metrics["vllm:time_to_first_token_seconds_count"]; !ok {
		t.Errorf("histogram count missing from %v", last.Metrics)
	}
}

// A failed scrape is a line with the error, not the end of sampling.
func TestEngineSamplerRecordsFailures(t *testing.T) {
	var buf bytes.Buffer
	s := &engineSampler{client: http.DefaultClient, urls: []string{"http://127.0.0.1:1"}, every: 20 * time.Millisecond, now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Millisecond)
	defer cancel()
	if err := s.run(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], `"error":`) {
		t.Fatalf("lines %q", lines)
	}
}

// BenchmarkEngineScrape is one sample of the simulator's /metrics: fetch,
// parse and one JSON line, the load-generator CPU each sample costs.
func BenchmarkEngineScrape(b *testing.B) {
	url := simtest.Start(b, sampledSim())
	s := &engineSampler{client: http.DefaultClient, urls: []string{url}, every: time.Second, prefixes: []string{"vllm:"}, now: time.Now}
	enc := json.NewEncoder(io.Discard)
	var series int
	b.ResetTimer()
	for range b.N {
		m, err := s.scrape(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		series = len(m)
		if err := enc.Encode(results.EngineSample{Time: time.Now(), Instance: 1, Metrics: m}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(series), "series")
}
