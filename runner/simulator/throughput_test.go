package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// throughput runs BenchThroughput and returns its requests/s.
func throughput(t *testing.T, args ...string) float64 {
	t.Helper()
	var out, errb bytes.Buffer
	if err := BenchThroughput(args, func(string) string { return "" }, 8, &out, &errb); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errb.String())
	}
	m := regexp.MustCompile(`Throughput: ([0-9.]+) requests/s`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no throughput line: %q", out.String())
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestBenchThroughputDatasets(t *testing.T) {
	m := "Qwen/Qwen3-0.6B"
	// A shared prefix is computed once with prefix caching (vLLM's default
	// for the LLM class), every time without it.
	cached := throughput(t, "--model", m, "--input-len", "128", "--prefix-len", "896", "--output-len", "16", "--num-prompts", "64")
	uncached := throughput(t, "--model", m, "--input-len", "128", "--prefix-len", "896", "--output-len", "16", "--num-prompts", "64", "--no-enable-prefix-caching")
	if cached <= 1.3*uncached {
		t.Errorf("shared prefix: %.2f req/s cached, %.2f uncached", cached, uncached)
	}
	// More sequences per prompt and longer outputs cost more.
	if n2 := throughput(t, "--model", m, "--input-len", "128", "--output-len", "64", "--num-prompts", "32", "--n", "2"); n2 >= throughput(t, "--model", m, "--input-len", "128", "--output-len", "64", "--num-prompts", "32") {
		t.Error("--n 2 is not slower")
	}
	dir := t.TempDir()
	var convs []map[string]any
	for i := range 40 {
		convs = append(convs, map[string]any{"conversations": []map[string]string{
			{"from": "human", "value": strings.Repeat(fmt.Sprintf("question %d about things ", i), 10+i)},
			{"from": "gpt", "value": strings.Repeat("an answer of some length ", 5+i%7)}}})
	}
	convs = append(convs, map[string]any{"conversations": []map[string]string{{"from": "human", "value": "too short"}}})
	b, _ := json.Marshal(convs)
	sharegpt := filepath.Join(dir, "sharegpt.json")
	os.WriteFile(sharegpt, b, 0o644)
	if v := throughput(t, "--model", m, "--dataset-name", "sharegpt", "--dataset-path", sharegpt, "--num-prompts", "100"); v <= 0 {
		t.Error("sharegpt")
	}
	sonnet := filepath.Join(dir, "sonnet.txt")
	os.WriteFile(sonnet, []byte(strings.Repeat("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n", 40)), 0o644)
	if v := throughput(t, "--model", m, "--dataset-name", "sonnet", "--dataset-path", sonnet, "--num-prompts", "20"); v <= 0 {
		t.Error("sonnet")
	}
	if v := throughput(t, "--model", m, "--dataset-name", "prefix_repetition", "--num-prompts", "20"); v <= 0 {
		t.Error("prefix_repetition")
	}
	var errb bytes.Buffer
	if err := BenchThroughput([]string{"--model", m, "--dataset-name", "hf", "--dataset-path", "x"}, func(string) string { return "" }, 8, &bytes.Buffer{}, &errb); err == nil {
		t.Error("hf dataset accepted")
	}
}
