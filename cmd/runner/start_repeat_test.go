package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
)

// smokeRun is the directory of the one smoke-suite run under results.
func smokeRun(t *testing.T, results string) string {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(results, "smoke", "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	return filepath.Dir(runs[0])
}

// TestStartRepeat runs the smoke suite twice per cell on the simulator with
// short levels: two cell directories, a graded repeatability row per level
// in suite-summary.json, and the table and sample warnings in runner
// results.
func TestStartRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the smoke suite twice")
	}
	dir := t.TempDir()
	code, out, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--repeat", "2", "--max-seconds", "1", "--results", dir,
		"--web.listen-address", "off", "--engine-metrics-interval", "0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	runDir := smokeRun(t, dir)
	for i, c := range []string{"Qwen__Qwen3-0.6B_chat_lite_16c_r1", "Qwen__Qwen3-0.6B_chat_lite_16c_r2"} {
		var s results.Summary
		b, err := os.ReadFile(filepath.Join(runDir, c, "summary.json"))
		if err != nil || json.Unmarshal(b, &s) != nil || s.RepeatOf != "Qwen__Qwen3-0.6B_chat_lite_16c" || s.Repetition != i+1 {
			t.Errorf("repetition %s: %v %s", c, err, b)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "Qwen__Qwen3-0.6B_chat_lite_16c", "engine-metrics.jsonl")); err == nil {
		t.Error("engine sampled with --engine-metrics-interval 0")
	}
	var rep orchestrate.Report
	b, err := os.ReadFile(filepath.Join(runDir, "suite-summary.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("suite summary: %v\n%s", err, b)
	}
	if len(rep.Repeatability) == 0 {
		t.Fatalf("no repeatability in %s", b)
	}
	for _, r := range rep.Repeatability {
		sp := r.Metrics["output_tokens_per_second"]
		if r.Cell != "Qwen__Qwen3-0.6B_chat_lite_16c" || r.Runs != 2 || sp.N != 2 || sp.Mean <= 0 || sp.Grade == "" || sp.Grade == "unknown" {
			t.Errorf("row %s %s: runs %d, output tok/s %+v", r.Cell, r.Level, r.Runs, sp)
		}
		// A one-second level never holds the 500 samples a p99 needs.
		if len(r.Warnings) == 0 {
			t.Errorf("row %s: no sample warning for a one-second level", r.Level)
		}
	}
	for _, want := range []string{"repeatability (coefficient of variation", "output_tokens_per_second", "warning: Qwen__Qwen3-0.6B_chat_lite_16c", "TTFT p99 rests on"} {
		if !strings.Contains(out, want) {
			t.Errorf("results table lacks %q:\n%s", want, out)
		}
	}
	t.Logf("repeatability as runner results shows it:\n%s", out[strings.Index(out, "repeatability"):])
}
