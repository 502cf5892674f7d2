package alerts

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/e2e"
)

// TestE2ERegressionFromRealRuns is the regression proof with real runs: the
// runner does (at least) three short smoke runs against the engine simulator, then one
// against a simulator three times slower (--slowdown 3); a real Prometheus
// scrapes the runner's summary series (finish timestamps and all) and
// evaluates the generated rules with test windows (a run is "the latest"
// for 4 s, the baseline is the runs before that); a real Alertmanager must
// deliver an inter-token-latency regression for the slow run to the test's
// webhook. Throughput is not used here: a one-second level finishes too few
// requests for a stable tokens/s, while the simulator's per-token latency is
// stable run to run.
func TestE2ERegressionFromRealRuns(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds two binaries and does four real runs")
	}
	goBin := e2e.Require(t, "go")
	e2e.Require(t, "prometheus")

	bin := t.TempDir()
	build := exec.Command(goBin, "build", "-o", bin+string(filepath.Separator), "./cmd/runner", "./cmd/vllm-sim")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	hook, am := startWebhookAlertmanager(t)

	work := t.TempDir()
	o := DefaultOptions()
	o.RegressionInterval, o.LiveInterval, o.RegressionFor = d("1s"), d("1s"), d("1s")
	o.Recent, o.Baseline = d("4s"), d("10m")
	writeRules(t, work, o)
	runnerPort := e2e.FreePort(t)
	prom := e2e.StartPrometheus(t, work, mustString(t, func() ([]byte, error) {
		return Prometheus(Scrape{Interval: d("500ms"), EvaluationInterval: d("1s"), Runner: fmt.Sprintf("127.0.0.1:%d", runnerPort),
			EngineJob: o.EngineJob, Alertmanager: am.Addr, RuleFiles: []string{"rules/*.yml"}})
	}))

	sim := func(slowdown string) int {
		port := e2e.FreePort(t)
		e2e.Start(t, work, filepath.Join(bin, "vllm-sim"), "--host=127.0.0.1", fmt.Sprintf("--port=%d", port),
			"--model=Qwen/Qwen3-0.6B", "--cores=16", "--slowdown="+slowdown)
		e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/health", port), 30*time.Second)
		return port
	}
	smoke := func(enginePort int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "runner"), "start", "--suite=smoke", "--engine=external",
			fmt.Sprintf("--target=http://127.0.0.1:%d", enginePort), "--results="+filepath.Join(work, "results"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", runnerPort), "--max-seconds=1")
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("runner start: %v\n%s", err, out)
		}
	}

	// Baseline runs until three of them reached Prometheus: the runner exits
	// right after its last benchmark, so a scrape can miss a run's summary.
	normal := sim("1")
	itl := contract.BenchmarkITL.Name + `{quantile="0.95"}`
	baseline := 0.0
	for runs := 0; baseline < 3; runs++ {
		if runs == 6 {
			t.Fatalf("only %g of %d baseline runs reached Prometheus", baseline, runs)
		}
		smoke(normal)
		time.Sleep(2 * time.Second) // runs finish more than Recent apart
		for _, v := range queryValues(t, prom.URL, fmt.Sprintf("count_over_time(%s[10m])", itl)) {
			baseline = max(baseline, v)
		}
	}
	for len(hook) > 0 { // nothing about the baseline runs concerns this test
		<-hook
	}

	slow := sim("3")
	degraded := time.Now()
	smoke(slow)

	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-hook:
			for _, al := range m.Alerts {
				if al.Labels["alertname"] != AlertITLRegression || al.Status != "firing" {
					continue
				}
				// A three times slower engine more than doubles ITL; a
				// baseline run's noise would fire near the threshold (120%).
				var pct float64
				desc := al.Annotations["description"]
				if _, err := fmt.Sscanf(desc[strings.Index(desc, " is ")+4:], "%g%%", &pct); err != nil || pct < 150 {
					t.Logf("ignoring %s: %s", AlertITLRegression, desc)
					continue
				}
				t.Logf("delivered %s after %s: %s", AlertITLRegression, time.Since(degraded).Round(100*time.Millisecond), al.Annotations["description"])
				return
			}
		case <-deadline:
			t.Fatalf("no %s delivered within 30s of the slow run; latest p95 ITL per level: %v", AlertITLRegression,
				queryValues(t, prom.URL, fmt.Sprintf("last_over_time(%s[10m])", itl)))
		}
	}
}
