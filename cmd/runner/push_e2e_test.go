package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/results"
)

// pushgateway is a stand-in for a Pushgateway: it keeps each push's body
// and refuses, as the real one does, samples with a timestamp.
type pushgateway struct {
	mu     sync.Mutex
	bodies []string
}

var stampedLine = regexp.MustCompile(`(?m)^[a-z_]+(\{[^}]*\})? \S+ \d+$`)

func (p *pushgateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		http.Error(w, "test stand-in reads plain bodies only", http.StatusUnsupportedMediaType)
		return
	}
	if stampedLine.Match(b) {
		http.Error(w, "pushed metrics are invalid or inconsistent with existing metrics: timestamps are not allowed", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, string(b))
	p.mu.Unlock()
}

// runner bench with nothing scraping it pushes each benchmark's summary
// series and the run's completion, as it publishes them, to a real
// VictoriaMetrics (import), a real Prometheus (remote write) and a
// Pushgateway, with --web.listen-address off; then runner backfill takes its
// summary.json (it carries the run id) into another VictoriaMetrics.
func TestE2EBenchPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	vmBin := e2e.Require(t, "victoria-metrics")
	startVM := func() string {
		addr := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
		e2e.Start(t, t.TempDir(), vmBin, "-httpListenAddr="+addr, "-storageDataPath="+t.TempDir(), "-retentionPeriod=1",
			"-search.latencyOffset=0s", "-search.disableCache")
		e2e.WaitHTTP(t, "http://"+addr+"/health", 30*time.Second)
		return "http://" + addr
	}
	vm, vmBackfill := startVM(), startVM()
	prom := e2e.StartPrometheus(t, t.TempDir(), "global: {scrape_interval: 15s}\n", "--web.enable-remote-write-receiver")
	pgw := &pushgateway{}
	pgwSrv := httptest.NewServer(pgw)
	defer pgwSrv.Close()

	srv, _ := benchServer(t)
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "concurrent", "--rate", "1,2",
		"--data", "prompt_tokens=8,output_tokens=3", "--max-requests", "20", "--output", sumPath, "--requests", filepath.Join(dir, "requests.jsonl"),
		"--web.listen-address", "off",
		"--push.url", vm + "/api/v1/import/prometheus", "--push.url", prom.URL + "/api/v1/write", "--push.url", pgwSrv.URL + "/metrics/job/servebench"}, nil)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := results.ReadSummary(f)
	f.Close()
	if err != nil || sum.RunID == "" || len(sum.Benchmarks) != 2 {
		t.Fatalf("summary.json: run_id %q, %d benchmarks, %v", sum.RunID, len(sum.Benchmarks), err)
	}
	run := sum.RunID

	want := map[string]float64{
		fmt.Sprintf(`count(last_over_time(servebench_benchmark_info{run_id=%q}[1h]))`, run):                                   2,
		fmt.Sprintf(`count(last_over_time(servebench_run_finished_timestamp_seconds{run_id=%q,status="complete"}[1h]))`, run): 1,
		fmt.Sprintf(`sum(last_over_time(servebench_benchmark_ttft_seconds_count{run_id=%q}[1h]))`, run):                       40,
	}
	flush := func(base string) {
		if resp, err := http.Get(base + "/internal/force_flush"); err == nil {
			resp.Body.Close()
		}
	}
	// check waits (VictoriaMetrics makes imports searchable within seconds)
	// until every query of want answers as it should.
	check := func(name, base string, want map[string]float64) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			flush(base)
			var wrong []string
			for q, v := range want {
				if got := e2e.Query(t, base, q, time.Time{}); len(got) != 1 || got[0] != v {
					wrong = append(wrong, fmt.Sprintf("%s = %v, want %g", q, got, v))
				}
			}
			if len(wrong) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s:\n  %s", name, strings.Join(wrong, "\n  "))
				return
			}
		}
	}
	check("VictoriaMetrics (import)", vm, want)
	check("Prometheus (remote write)", prom.URL, want)

	pgw.mu.Lock()
	bodies := append([]string(nil), pgw.bodies...)
	pgw.mu.Unlock()
	if len(bodies) == 0 || !strings.Contains(bodies[len(bodies)-1], `level="concurrent-2"`) || !strings.Contains(bodies[len(bodies)-1], "servebench_run_finished_timestamp_seconds") {
		t.Errorf("Pushgateway: %d pushes, the last without every result:\n%s", len(bodies), strings.Join(bodies, "\n---\n"))
	}

	// History for bench results: its summary.json backfills.
	code, out, stderr := runCmd([]string{"backfill", "--victoria-metrics", vmBackfill, sumPath}, nil)
	if code != exitOK {
		t.Fatalf("backfill of runner bench's summary: exit %d: %s %s", code, out, stderr)
	}
	check("VictoriaMetrics (backfilled)", vmBackfill, map[string]float64{
		fmt.Sprintf(`count(last_over_time(servebench_benchmark_info{run_id=%q}[1h]))`, run): 2,
	})
}

// A push target that never takes the results fails the run with exit 4
// naming it, after the summary is written; a malformed --push.url is a
// usage error naming the flag.
func TestBenchPushFailures(t *testing.T) {
	srv, _ := benchServer(t)
	down := fmt.Sprintf("http://127.0.0.1:%d/api/v1/import/prometheus", e2e.FreePort(t))
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "concurrent", "--rate", "1",
		"--data", "prompt_tokens=8,output_tokens=3", "--max-requests", "3", "--output", sumPath,
		"--web.listen-address", "off", "--push.url", down}, nil)
	if code != exitRunFailed || !strings.Contains(stderr, strings.TrimSuffix(down, "/api/v1/import/prometheus")) || !strings.Contains(stderr, "not delivered") {
		t.Errorf("unreachable push target: exit %d, want %d naming it:\n%s", code, exitRunFailed, stderr)
	}
	if _, err := os.Stat(sumPath); err != nil {
		t.Errorf("the summary must be written whatever the push: %v", err)
	}
	code, _, stderr = runCmd([]string{"bench", "--target", srv.URL, "--profile", "concurrent", "--rate", "1",
		"--data", "prompt_tokens=8,output_tokens=3", "--max-requests", "3", "--web.listen-address", "off", "--push.url", "vm:8428"}, nil)
	if code != exitUsage || !strings.Contains(stderr, "--push.url") {
		t.Errorf("malformed --push.url: exit %d, want %d naming the flag:\n%s", code, exitUsage, stderr)
	}
}
