package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/results/resultstest"
	"github.com/servebench/servebench/runner/thirdparty"
)

// fv is a figure the test expects present.
var fv = resultstest.Must

const (
	guidellmFixture = "../../runner/thirdparty/guidellm/testdata/v0.7.3-sweep.json"
	legacyFixture   = "../../runner/thirdparty/guidellm/testdata/legacy-pre-v0.4-benchmarks_stripped.json"
	vllmFixture     = "../../runner/thirdparty/vllmbench/testdata/openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json"
)

func TestImportKeepsTheSourcesNumbers(t *testing.T) {
	root := t.TempDir()
	code, out, errs := runCLI(t, nil, "import", "--results", root, guidellmFixture)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "import", "*", "v0.7.3-sweep"))
	if len(dirs) != 1 {
		t.Fatalf("imported cell dirs %v (%s)", dirs, out)
	}
	got, err := os.ReadFile(filepath.Join(dirs[0], "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var imported results.Summary
	if err := json.Unmarshal(got, &imported); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(guidellmFixture)
	want, _, err := thirdparty.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(want.Benchmarks)
	gb, _ := json.Marshal(imported.Benchmarks)
	if !bytes.Equal(wb, gb) || imported.Loadgen != "guidellm" || imported.Suite != "import" || !strings.HasPrefix(imported.RunID, "import-guidellm-") {
		t.Errorf("imported summary differs from the parser's:\n%s\nvs\n%s", gb, wb)
	}
	// One figure traced to the raw file.
	var raw struct {
		Benchmarks []struct {
			Metrics struct {
				RequestsPerSecond struct {
					Successful struct{ Mean float64 }
				} `json:"requests_per_second"`
			}
		}
	}
	if err := json.Unmarshal(src, &raw); err != nil {
		t.Fatal(err)
	}
	if fv(imported.Benchmarks[0].RequestsPerSecond) != raw.Benchmarks[0].Metrics.RequestsPerSecond.Successful.Mean {
		t.Errorf("requests/s %v, source says %v", imported.Benchmarks[0].RequestsPerSecond, raw.Benchmarks[0].Metrics.RequestsPerSecond.Successful.Mean)
	}
	for _, f := range []string{"manifest.json", "source-v0.7.3-sweep.json"} {
		if _, err := os.Stat(filepath.Join(dirs[0], f)); err != nil {
			t.Errorf("%s not kept: %v", f, err)
		}
	}
	// GuideLLM's complete per-request records are kept, one level each.
	cells, err := compare.Loader{}.Load(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	by := cells[0].ByLevel()
	for _, b := range imported.Benchmarks {
		if n := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete; len(by[b.Level]) != n {
			t.Errorf("level %s: %d records, summary counts %d", b.Level, len(by[b.Level]), n)
		}
	}
	// The import is dated from the source, so it can be backfilled as is.
	om := filepath.Join(t.TempDir(), "h.om")
	if code, _, errs := runCLI(t, nil, "backfill", "--openmetrics", om, dirs[0]); code != exitOK {
		t.Errorf("backfill of the import: exit %d: %s", code, errs)
	}
	// Importing the same file again is refused, not duplicated.
	if code, _, _ := runCLI(t, nil, "import", "--results", root, guidellmFixture); code == exitOK {
		t.Error("second import of the same file succeeded")
	}
}

func TestImportLabels(t *testing.T) {
	root := t.TempDir()
	code, _, errs := runCLI(t, nil, "import", "--results", root, "--suite", "nightly", "--workload", "chat", "--cores", "16", vllmFixture)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	files, _ := filepath.Glob(filepath.Join(root, "nightly", "*", "*", "summary.json"))
	if len(files) != 1 {
		t.Fatalf("summaries %v", files)
	}
	b, _ := os.ReadFile(files[0])
	var s results.Summary
	if err := json.Unmarshal(b, &s); err != nil || s.Suite != "nightly" || s.Workload != "chat" || s.Cores != 16 {
		t.Errorf("summary labels %q %q %d: %v", s.Suite, s.Workload, s.Cores, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(files[0]), "requests.jsonl")); err == nil {
		t.Error("a vllm bench import has no per-request records and must not claim any")
	}
	om := filepath.Join(t.TempDir(), "h.om")
	if code, _, errs := runCLI(t, nil, "backfill", "--openmetrics", om, files[0]); code != exitOK {
		t.Fatalf("backfill: exit %d: %s", code, errs)
	}
	h, _ := os.ReadFile(om)
	if !strings.Contains(string(h), `servebench_benchmark_output_tokens_per_second_per_core{cores="16",`) || !strings.Contains(string(h), `suite="nightly"`) {
		t.Errorf("history series lack the import's labels:\n%s", h)
	}
}

func TestImportVLLMBenchToOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "summary.json")
	code, _, errs := runCLI(t, nil, "import", "--output", out, vllmFixture)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, _ := os.ReadFile(out)
	var s results.Summary
	if err := json.Unmarshal(b, &s); err != nil || s.Loadgen != "vllm-bench" || len(s.Benchmarks) != 1 || s.SchemaVersion != results.SchemaVersion {
		t.Fatalf("summary %+v: %v", s, err)
	}
	var raw struct {
		RequestThroughput float64 `json:"request_throughput"`
	}
	src, _ := os.ReadFile(vllmFixture)
	json.Unmarshal(src, &raw)
	if fv(s.Benchmarks[0].RequestsPerSecond) != raw.RequestThroughput {
		t.Errorf("requests/s %v, source %v", s.Benchmarks[0].RequestsPerSecond, raw.RequestThroughput)
	}
}

func TestImportRejectsLegacyGuideLLM(t *testing.T) {
	code, _, errs := runCLI(t, nil, "import", "--results", t.TempDir(), legacyFixture)
	if code != exitUsage || !strings.Contains(errs, "0.4") {
		t.Errorf("legacy schema: exit %d: %s", code, errs)
	}
	if code, _, _ := runCLI(t, nil, "import", "--output", "x.json", guidellmFixture, vllmFixture); code != exitUsage {
		t.Errorf("--output with two files: exit %d", code)
	}
}

func TestCompareReadsThirdPartyFiles(t *testing.T) {
	// Different load generators: refused by compare, tabulated by --cross.
	code, _, errs := runCLI(t, nil, "compare", guidellmFixture, vllmFixture)
	if code != exitUsage || !strings.Contains(errs, "load generator") {
		t.Errorf("compare across tools: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, nil, "compare", "--cross", "--force", guidellmFixture, vllmFixture)
	if code != exitOK || !strings.Contains(out, "guidellm") || !strings.Contains(out, "vllm-bench") {
		t.Errorf("--cross: exit %d\n%s%s", code, out, errs)
	}
}
