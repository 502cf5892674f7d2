package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/simtest"
)

// simulate serves the engine simulator on a loopback port until the test ends.
func simulate(t *testing.T, seed uint64, slowdown float64) string {
	t.Helper()
	cfg := simulator.DefaultConfig()
	cfg.Cores, cfg.Seed, cfg.Jitter, cfg.Slowdown, cfg.LoadTime = 16, seed, 0.05, slowdown, 50*time.Millisecond
	return simtest.Start(t, cfg)
}

// benchCell runs `runner bench` against url into dir/summary.json and
// dir/requests.jsonl: 60 requests at 8 streams, 8 output tokens each.
func benchCell(t *testing.T, url, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, nil, "bench", "--target", url, "--profile", "concurrent", "--rate", "8", "--max-requests", "60",
		"--data", "prompt_tokens=64,output_tokens=8", "--web.listen-address", "off", "--progress-interval", "1m",
		"--output", filepath.Join(dir, "summary.json"), "--requests", filepath.Join(dir, "requests.jsonl"))
	if code != exitOK {
		t.Fatalf("bench exit %d: %s", code, errs)
	}
	return dir
}

// TestE2ECompareSimulatorRuns measures the simulator three times: twice as
// it is and once slowed by half. The two like runs must not be called a
// regression; the slowed one must.
func TestE2ECompareSimulatorRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator for seconds")
	}
	dir := t.TempDir()
	a := benchCell(t, simulate(t, 1, 1), filepath.Join(dir, "a", "cell"))
	b := benchCell(t, simulate(t, 2, 1), filepath.Join(dir, "b", "cell"))
	c := benchCell(t, simulate(t, 3, 1.5), filepath.Join(dir, "c", "cell"))

	// A 10% bar: the machine is shared, and run-to-run noise of a few percent
	// is not what this test is about; the slowed engine is 50% slower.
	code, out, errs := runCLI(t, nil, "compare", "--min-change", "0.1", a, b)
	if code != exitOK {
		t.Errorf("like runs: exit %d, want 0\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "compare", "--min-change", "0.1", a, c)
	if code != exitRegression {
		t.Fatalf("slowed engine: exit %d, want 3\n%s%s", code, out, errs)
	}
	// TTFT and E2E carry the whole slowdown on every request; ITL over 7
	// gaps and the request rate are left to the unit tests, since on a
	// loaded 2-core machine the scheduler's noise can swamp them.
	t.Logf("slowed engine verdicts:\n%s", out)
	for _, m := range []string{"ttft_p50", "e2e_p50"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == m {
				found = true
				if !strings.HasSuffix(strings.TrimSpace(line), "regressed") {
					t.Errorf("%s not called regressed: %s", m, line)
				}
			}
		}
		if !found {
			t.Errorf("no %s row:\n%s", m, out)
		}
	}

	code, out, errs = runCLI(t, nil, "report", "--output", filepath.Join(dir, "report.html"), a, c)
	if code != exitOK || !strings.Contains(out, "charts") {
		t.Errorf("report: exit %d: %s%s", code, out, errs)
	}
}

// TestE2EReportEngineTimelines: a real Prometheus scrapes the simulator while
// runner bench loads it; the report draws the engine's queue and KV-cache
// from it, and lists host CPU (no exporter ran) as not drawn.
func TestE2EReportEngineTimelines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator and Prometheus for seconds")
	}
	e2e.Require(t, "prometheus")
	url := simulate(t, 4, 1)
	cfg := "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sim\n    static_configs:\n      - targets: ['" + strings.TrimPrefix(url, "http://") + "']\n"
	p := e2e.StartPrometheus(t, t.TempDir(), cfg)
	dir := t.TempDir()
	cell := benchCell(t, url, filepath.Join(dir, "run", "cell"))
	time.Sleep(2500 * time.Millisecond) // the scrapes after the last request
	out := filepath.Join(dir, "report.html")
	code, stdout, errs := runCLI(t, nil, "report", "--prometheus", p.URL, "--output", out, cell)
	if code != exitOK {
		t.Fatalf("report: exit %d: %s%s", code, stdout, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{`id="engine-queue-over-the-run"`, `id="kv-cache-use-over-the-run"`} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks chart %s", want)
		}
	}
	if !strings.Contains(html, "<b>Host CPU by role over the run</b>") {
		t.Error("host CPU chart should be listed as not drawn")
	}
}
