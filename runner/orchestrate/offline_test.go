package orchestrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/results"
)

// vllm bench throughput's JSON gives the rates; its result lines the
// output rate and token totals, which are absent (null), not 0, when an
// older vLLM printed no output rate.
func TestParseThroughput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.json")
	os.WriteFile(p, []byte(`{"elapsed_time": 20.0, "num_requests": 100, "total_num_tokens": 30000, "requests_per_second": 5.0, "tokens_per_second": 1500.0}`), 0o644)
	b, err := parseThroughput(p, []byte("INFO something\nThroughput: 5.00 requests/s, 1500.00 total tokens/s, 500.00 output tokens/s\nTotal num prompt tokens:  20000\nTotal num output tokens:  10000\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := b.Offline
	if b.RequestsPerSecond != results.Of(5) || b.TotalTokensPerSecond != results.Of(1500) || b.OutputTokensPerSecond != results.Of(500) || b.Requests.Successful != 100 ||
		*o.PromptTokens != 20000 || *o.OutputTokens != 10000 || *o.TotalTokens != 30000 || b.DurationSeconds != 20 || !b.Valid {
		t.Errorf("benchmark %+v offline %+v", b, o)
	}
	b, err = parseThroughput(p, []byte("Throughput: 5.00 requests/s, 1500.00 tokens/s\n"))
	if err != nil || b.Offline.OutputTokensPerSecond != nil || b.OutputTokensPerSecond.Present() || b.Offline.PromptTokens != nil || !strings.Contains(strings.Join(b.Notes, " "), "printed no output rate") {
		t.Errorf("older output: %+v %v", b, err)
	}
	os.WriteFile(p, []byte(`{"elapsed_time": 20.0}`), 0o644)
	if _, err := parseThroughput(p, nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("incomplete JSON: %v", err)
	}
	if _, err := parseThroughput(filepath.Join(dir, "none.json"), nil); err == nil || !strings.Contains(err.Error(), "wrote no results") {
		t.Errorf("no file: %v", err)
	}
}
