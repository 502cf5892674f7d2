package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/results"
)

// promValue runs an instant query and returns the first sample's value.
func promValue(t *testing.T, base, q string) (float64, bool) {
	t.Helper()
	v := e2e.Query(t, base, q, time.Time{})
	if len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// A real Prometheus scrapes runner bench's live endpoint while it runs: the
// request counters it stored agree with the summary the run wrote.
func TestE2EBenchPrometheus(t *testing.T) {
	srv, _ := benchServer(t)
	port := e2e.FreePort(t)
	dir := t.TempDir()
	prom := e2e.StartPrometheus(t, dir, fmt.Sprintf(`global: {scrape_interval: 500ms}
scrape_configs:
  - job_name: bench
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, port))
	sumPath := filepath.Join(dir, "summary.json")
	// Prometheus applies discovered targets every 5 s: wait for ours.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(prom.URL + "/api/v1/targets")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"job":"bench"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never picked up the bench target")
		}
	}
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "constant", "--rate", "20",
		"--data", "prompt_tokens=8,output_tokens=3", "--max-seconds", "4", "--output", sumPath,
		"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", port), "--progress-interval", "1s"}, nil)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := results.ReadSummary(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	total := sum.Benchmarks[0].Requests.Successful
	// The series end with the run: read the last value each had.
	var got float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if v, ok := promValue(t, prom.URL, `max_over_time(servebench_requests_total{suite="bench",outcome="success",level="constant-20"}[5m])`); ok {
			got = v
			break
		}
	}
	// Scraped every 500 ms during 4 s: the last scrape saw most requests.
	if got < float64(total)/2 || got > float64(total) {
		t.Fatalf("Prometheus saw %v successful requests, the summary %d", got, total)
	}
	if v, ok := promValue(t, prom.URL, `max_over_time(servebench_request_ttft_seconds_count{suite="bench"}[5m])`); !ok || v < got {
		t.Fatalf("ttft count %v (%v), successes %v", v, ok, got)
	}
	if v, ok := promValue(t, prom.URL, `max_over_time(servebench_run_info{suite="bench",model="m"}[5m])`); !ok || v != 1 {
		t.Fatalf("run_info %v %v", v, ok)
	}
}
