package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An output that cannot be created is an error naming its flag before
// anything runs; an aborted run leaves the file that was there.
func TestOpenAndAbort(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(Outputs{SummaryFile: filepath.Join(dir, "no", "such", "summary.json")}); err == nil || !strings.HasPrefix(err.Error(), "--output: ") {
		t.Errorf("summary in a missing directory: %v", err)
	}
	if _, err := Open(Outputs{RequestsFile: filepath.Join(dir, "no", "requests.jsonl")}); err == nil || !strings.HasPrefix(err.Error(), "--requests: ") {
		t.Errorf("requests in a missing directory: %v", err)
	}
	old := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Outputs{SummaryFile: old, RequestsFile: filepath.Join(dir, "requests.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if b, _ := os.ReadFile(old); string(b) != "old" {
		t.Errorf("an aborted run replaced the summary: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "requests.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an aborted run left a requests file: %v", err)
	}
}

func TestInvalidErrorMatches(t *testing.T) {
	err := invalidError("benchmark concurrent-8 is invalid: too few samples")
	if !errors.Is(err, ErrInvalid) || err.Error() != "benchmark concurrent-8 is invalid: too few samples" {
		t.Errorf("%v", err)
	}
}
