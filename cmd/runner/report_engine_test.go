package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportEngineChartsFromSamples: a smoke run sampled its engine, so
// runner report draws the engine queue and KV-cache charts without
// --prometheus and names only host CPU as missing.
func TestReportEngineChartsFromSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the smoke suite")
	}
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--max-seconds", "1", "--results", dir,
		"--web.listen-address", "off", "--engine-metrics-interval", "200ms"); code != 0 {
		t.Fatalf("start: exit %d\n%s", code, errOut)
	}
	run := smokeRun(t, dir)
	if code, _, errOut := runCLI(t, nil, "report", run); code != exitOK {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(filepath.Join(run, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"Engine queue over the run", "KV-cache use over the run", "Host CPU by role over the run"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "Engine queue, KV-cache and host CPU over the run") {
		t.Error("report still says the engine charts are missing")
	}
}
