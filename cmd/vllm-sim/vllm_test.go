package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The simulator as the vllm command: bench throughput takes vLLM's
// arguments (those it does not model are ignored), prints vLLM's result
// lines and writes vLLM's JSON; serve hands over to the server's flags.
func TestVLLMCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tp.json")
	var stdout, stderr bytes.Buffer
	code := runVLLM(context.Background(), []string{"bench", "throughput", "--model", "Qwen/Qwen3-0.6B", "--dataset-name", "random",
		"--input-len", "128", "--output-len", "32", "--num-prompts", "50", "--output-json", out, "--dtype", "bfloat16",
		"--enforce-eager", "--distributed-executor-backend", "mp", "--cores", "8"}, &stdout, &stderr, env(nil))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Throughput: ") || !strings.Contains(stdout.String(), "Total num output tokens:  1600") {
		t.Errorf("stdout %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "--enforce-eager --distributed-executor-backend mp") {
		t.Errorf("ignored flags not named: %q", stderr.String())
	}
	b, _ := os.ReadFile(out)
	var r map[string]float64
	if err := json.Unmarshal(b, &r); err != nil || r["num_requests"] != 50 || r["total_num_tokens"] != 50*160 || r["elapsed_time"] <= 0 ||
		r["requests_per_second"] != 50/r["elapsed_time"] {
		t.Errorf("json %s (%v)", b, err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bench", "throughput", "--model", "Qwen/Qwen3-0.6B"}, exitFailure, "input_len must be provided"},
		{[]string{"bench", "throughput", "--model", "Qwen/Qwen3-0.6B", "--dataset-name", "sharegpt", "--dataset-path", "/nonexistent.json"}, exitFailure, "FileNotFoundError"},
		{[]string{"bench", "throughput", "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--input-len", "2000", "--output-len", "100"}, exitFailure, "max_model_len"},
		{[]string{"bench", "latency"}, exitUsage, "usage: vllm"},
		{[]string{"serve", "Qwen/Qwen3-0.6B", "--max-model-len", "x"}, exitUsage, "max-model-len"},
	} {
		stderr.Reset()
		if code := runVLLM(context.Background(), c.args, &stdout, &stderr, env(nil)); code != c.code || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, code, stderr.String(), c.code, c.msg)
		}
	}
}
