package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/compare/comparetest"
)

func TestBackfillOpenMetricsFile(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run-1")
	writeSynthetic(t, filepath.Join(run, "c1"), comparetest.Bench{Seed: 1, N: 20})
	writeSynthetic(t, filepath.Join(run, "c2"), comparetest.Bench{Seed: 2, N: 20, NoRequests: true, Cores: 16})
	om := filepath.Join(dir, "out.om")

	code, _, errs := runCLI(t, nil, "backfill", "--openmetrics", om, run)
	if code != exitUsage || !strings.Contains(errs, "no finish time") {
		t.Errorf("undated cell: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, nil, "backfill", "--openmetrics", om, "--at", "2026-11-02T10:00:00Z", run)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(om)
	if err != nil {
		t.Fatal(err)
	}
	at := float64(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC).Unix())
	dated := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `cores="16"`) {
			f := strings.Fields(line)
			if ts, err := strconv.ParseFloat(f[len(f)-1], 64); err != nil || ts != at {
				t.Errorf("cell without records not dated by --at: %s", line)
			}
			dated++
		}
	}
	if dated == 0 || !strings.HasSuffix(string(b), "# EOF\n") || !strings.Contains(out, "wrote 2 benchmarks") {
		t.Errorf("output %q\n%s", out, b)
	}
	if code, _, _ := runCLI(t, nil, "backfill", run); code != exitUsage {
		t.Errorf("no target: exit %d, want 2", code)
	}
}

func TestBackfillDatesThirdPartyFiles(t *testing.T) {
	om := filepath.Join(t.TempDir(), "v.om")
	if code, _, errs := runCLI(t, nil, "backfill", "--openmetrics", om, vllmFixture); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, _ := os.ReadFile(om)
	// date 20260722-041843, read as UTC.
	want := float64(time.Date(2026, 7, 22, 4, 18, 43, 0, time.UTC).Unix())
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "servebench_benchmark_") {
			continue
		}
		f := strings.Fields(line)
		if ts, err := strconv.ParseFloat(f[len(f)-1], 64); err != nil || ts != want {
			t.Errorf("sample not dated %v: %s", want, line)
		}
		n++
	}
	if n == 0 {
		t.Errorf("no samples:\n%s", b)
	}
}
