package vllmbench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// fakeVLLM stands in for the vllm binary: it prints the summary lines
// vllm bench serve prints and writes the fixture to --result-dir/--result-filename.
func fakeVLLM(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	fixture, _ := filepath.Abs("testdata/openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json")
	script := `#!/bin/sh
if [ "$1" = "--version" ]; then echo "0.25.1+cpu"; exit 0; fi
[ "$VLLM_USE_RUST_BENCH" = "0" ] || { echo "rust bench not pinned off" >&2; exit 9; }
[ "$OPENAI_API_KEY" = "sk-t" ] || { echo "no key" >&2; exit 8; }
dir=""; file=""; prev=""
for a in "$@"; do
  [ "$prev" = "--result-dir" ] && dir="$a"
  [ "$prev" = "--result-filename" ] && file="$a"
  prev="$a"
done
echo "============ Serving Benchmark Result ============"
printf '%-40s %-10s\n' "Successful requests:" 200
cp "` + fixture + `" "$dir/$file"
`
	p := filepath.Join(dir, "vllm")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunnerHost(t *testing.T) {
	var log strings.Builder
	r := &Runner{Binary: fakeVLLM(t), Output: launch.Output{Log: &log, Prefix: "vllm-bench"}}
	if v, err := r.Version(context.Background()); err != nil || v != "0.25.1+cpu" {
		t.Fatalf("version %q %v", v, err)
	}
	dir := filepath.Join(t.TempDir(), "cell")
	s, err := r.Run(context.Background(), Config{BaseURL: "http://127.0.0.1:9470", APIKey: "sk-t", API: APIChat, InputLen: 128, OutputLen: 16,
		NumPrompts: 200, MaxConcurrency: 16, ResultDir: dir, ResultFile: "vllm-bench.json"})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if s.Benchmarks[0].Level != "concurrent-16" || s.Source != filepath.Join(dir, "vllm-bench.json") {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(log.String(), "vllm-bench | Successful requests:                     200") {
		t.Errorf("log %q", log.String())
	}
}
