package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// TestBenchPublishesSummaries: once its benchmarks finish, runner bench
// serves their summary series (as runner start does), stamped with the
// time each level ended, and waits (at most --web.linger) for the scrape
// that collects them. The test scrapes every millisecond, as a scraper
// that watched the run.
func TestBenchPublishesSummaries(t *testing.T) {
	srv, _ := benchServer(t)
	addr := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	started := time.Now()
	done := make(chan int, 1)
	go func() {
		code, _, _ := runCmd([]string{"bench", "--target", srv.URL, "--profile", "concurrent", "--rate", "1,2",
			"--data", "prompt_tokens=8,output_tokens=3", "--max-requests", "300", "--cores", "4",
			"--output", t.TempDir() + "/summary.json", "--web.listen-address", addr, "--web.linger", "10s"}, nil)
		done <- code
	}()
	re := regexp.MustCompile(`servebench_benchmark_achieved_rate\{[^}]*level="concurrent-2"[^}]*\} (\S+) (\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		body := scrapeText("http://" + addr + "/metrics")
		if m := re.FindStringSubmatch(body); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			ms, _ := strconv.ParseInt(m[2], 10, 64)
			at := time.UnixMilli(ms)
			if v <= 0 || at.Before(started) || at.After(time.Now()) {
				t.Errorf("published %v at %v; the run started %v\n%s", v, at, started, body)
			}
			if !regexp.MustCompile(`servebench_benchmark_target_rate\{[^}]*cores="4"[^}]*level="concurrent-2"[^}]*\} 2 `).MatchString(body) {
				t.Errorf("concurrent-2 target rate is not 2 streams:\n%s", body)
			}
			if !regexp.MustCompile(`servebench_benchmark_ttft_seconds_count\{[^}]*level="concurrent-1"[^}]*\} 300 `).MatchString(body) {
				t.Errorf("concurrent-1 TTFT count is not its 300 requests:\n%s", body)
			}
			// Go on scraping, as a scraper would, until bench has seen a
			// scrape that began after it published and exits.
			for {
				select {
				case code := <-done:
					if code != exitOK {
						t.Fatalf("exit %d", code)
					}
					return
				case <-time.After(time.Millisecond):
					scrapeText("http://" + addr + "/metrics")
				}
			}
		}
		select {
		case code := <-done:
			t.Fatalf("bench ended (exit %d) and no summary series was scraped", code)
		case <-time.After(time.Millisecond):
		}
	}
	t.Fatal("no summary series within 20s")
}

func scrapeText(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
