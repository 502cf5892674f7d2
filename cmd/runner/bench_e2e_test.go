package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// A real Prometheus scraping runner bench sees each request's TTFT when its
// first token arrives, while every request is still running (none ends
// within the level), and the in-flight requests leave the
// awaiting-first-token gauge as their first tokens come.
func TestE2ELiveTTFTWhileRequestsRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		case "/tokenize":
			http.NotFound(w, r)
			return
		}
		// First token after 50 ms, then one every 400 ms: 8 s a request.
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 20; i++ {
			gap := 400 * time.Millisecond
			if i == 0 {
				gap = 50 * time.Millisecond
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(gap):
			}
			fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"x"}}]}`+"\n\n")
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	port := e2e.FreePort(t)
	dir := t.TempDir()
	prom := e2e.StartPrometheus(t, dir, fmt.Sprintf(`global: {scrape_interval: 250ms}
scrape_configs:
  - job_name: bench
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, port))
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
	done := make(chan int)
	go func() {
		code, _, _ := runCmd([]string{"bench", "--target", srv.URL, "--profile", "constant", "--rate", "4", "--ignore-eos=false",
			"--data", "prompt_tokens=8,output_tokens=20", "--max-seconds", "3", "--drain-timeout", "1", "--output", filepath.Join(dir, "s.json"),
			"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", port), "--web.linger", "0s"}, nil)
		done <- code
	}()
	seen := false
	for !seen {
		select {
		case code := <-done:
			t.Fatalf("the run ended (exit %d) and Prometheus never showed a TTFT sample while no request had ended", code)
		case <-time.After(200 * time.Millisecond):
		}
		ttft, ok1 := promValue(t, prom.URL, `sum(servebench_request_ttft_seconds_count{suite="bench"})`)
		ended, ok2 := promValue(t, prom.URL, `sum(servebench_requests_total{suite="bench"})`)
		flight, ok3 := promValue(t, prom.URL, `sum(servebench_requests_in_flight{suite="bench"})`)
		waiting, ok4 := promValue(t, prom.URL, `sum(servebench_requests_awaiting_first_token{suite="bench"})`)
		if ok1 && ok2 && ok3 && ok4 && ttft >= 2 && ended == 0 && flight >= ttft && waiting < flight {
			seen = true
		}
	}
	// Every request is cut at the drain deadline: none succeeded (exit 4).
	if code := <-done; code != exitRunFailed {
		t.Fatalf("exit %d, want 4: no request finished within the level", code)
	}
}
