package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/e2e"
)

// TestE2ERegressionFromRealRuns is the regression and notification proof
// with real runs: the runner benchmarks the engine simulator (at least)
// three times, then a simulator three times slower (--slowdown 3) twice,
// the first time flagged invalid (a half-second window, shorter than one of
// its requests), the second time valid; a real Prometheus scrapes the
// runner's summary series (finish timestamps and all) and evaluates the
// generated rules with test windows (a run is "the latest" for 4 s, the
// baseline is the runs before that, a finished run is notified for 6 s); a
// real Alertmanager with the generated routes must deliver an
// inter-token-latency regression for the valid slow run only, and exactly
// one run-finished notification per run, never its resolution. Throughput
// is not used here: a two-second level finishes too few requests for a
// stable tokens/s, while the simulator's per-token latency is stable run to
// run. The runs are short (24 output tokens, so requests complete inside
// the window) and relax validity's sample count and lateness (two seconds
// of load on a shared machine): the rules count valid runs only.
func TestE2ERegressionFromRealRuns(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds two binaries and does five real runs")
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
	inbox := collect(hook)

	work := t.TempDir()
	o := DefaultOptions()
	o.RegressionInterval, o.LiveInterval, o.RegressionFor = d("1s"), d("1s"), d("1s")
	o.Recent, o.Baseline = d("4s"), d("10m")
	o.FinishedFor, o.FinishedWindow = d("1s"), d("6s")
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
	var runs []string
	var lastRun time.Time
	bench := func(enginePort int, valid bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// An invalid run: a window shorter than one request (none
		// completes inside it), its figures still measured.
		window := "2"
		if !valid {
			window = "0.5"
		}
		summary := filepath.Join(work, fmt.Sprintf("summary-%d.json", len(runs)))
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "runner"), "bench", fmt.Sprintf("--target=http://127.0.0.1:%d", enginePort),
			"--profile=concurrent", "--rate=4", "--data=prompt_tokens=64,output_tokens=24", "--max-seconds="+window, "--output="+summary,
			"--valid.min-samples=1", "--valid.max-lateness=200", fmt.Sprintf("--web.listen-address=127.0.0.1:%d", runnerPort))
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("runner bench: %v\n%s", err, out)
		}
		b, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			RunID string `json:"run_id"`
		}
		if err := json.Unmarshal(b, &s); err != nil || s.RunID == "" {
			t.Fatalf("summary.json of runner bench has no run_id: %v\n%s", err, b)
		}
		runs = append(runs, s.RunID)
		lastRun = time.Now()
	}

	// Baseline runs until three of them reached Prometheus (the runner
	// lingers for a scrape, but a scrape can still come too late).
	normal := sim("1")
	itl := contract.BenchmarkITL.Name + `{quantile="0.95"}`
	valid := contract.BenchmarkValid.Name
	baseline := 0.0
	for n := 0; baseline < 3; n++ {
		if n == 6 {
			t.Fatalf("only %g of %d baseline runs reached Prometheus", baseline, n)
		}
		bench(normal, true)
		time.Sleep(2 * time.Second) // runs finish more than Recent apart
		for _, v := range queryValues(t, prom.URL, fmt.Sprintf("sum(last_over_time(%s[10m]))", valid)) {
			baseline = v
		}
	}

	// A slow run flagged invalid raises no regression.
	slow := sim("3")
	bench(slow, false)
	time.Sleep(8 * time.Second)
	if al, ok := inbox.find(func(al webhookAlert) bool {
		return al.Labels["alertname"] == AlertITLRegression && al.Status == "firing"
	}); ok {
		t.Fatalf("%s for a run flagged invalid: %s", AlertITLRegression, al.Annotations["description"])
	}

	// The same slowness, valid, does.
	degraded := time.Now()
	bench(slow, true)
	al, ok := inbox.wait(30*time.Second, func(al webhookAlert) bool {
		if al.Labels["alertname"] != AlertITLRegression || al.Status != "firing" {
			return false
		}
		// A three times slower engine more than doubles ITL; a baseline
		// run's noise would fire near the threshold (120%).
		var pct float64
		desc := al.Annotations["description"]
		if _, err := fmt.Sscanf(desc[strings.Index(desc, " is ")+4:], "%g%%", &pct); err != nil || pct < 150 {
			t.Logf("ignoring %s: %s", AlertITLRegression, desc)
			return false
		}
		return true
	})
	if !ok {
		t.Fatalf("no %s delivered within 30s of the valid slow run; p95 ITL of each run: %v", AlertITLRegression,
			queryValues(t, prom.URL, fmt.Sprintf("last_over_time(%s[10m])", itl)))
	}
	t.Logf("delivered %s after %s: %s", AlertITLRegression, time.Since(degraded).Round(100*time.Millisecond), al.Annotations["description"])
	if al.Labels[contract.LabelRunID] != runs[len(runs)-1] {
		t.Errorf("regression labelled run %q, want the slow run %s", al.Labels[contract.LabelRunID], runs[len(runs)-1])
	}

	// Every run that reached Prometheus (a scrape can still come too late
	// for the first) was notified once as it finished, and never again (its
	// alert resolved 6 s after; Alertmanager sends no resolution).
	time.Sleep(time.Until(lastRun.Add(time.Duration(o.FinishedWindow) + 3*time.Second)))
	notified := 0
	for i, id := range runs {
		if len(queryValues(t, prom.URL, fmt.Sprintf(`last_over_time(%s{run_id=%q}[10m])`, contract.RunFinished.Name, id))) == 0 {
			t.Logf("run %s did not reach Prometheus", id)
			continue
		}
		notified++
		got := inbox.all(func(al webhookAlert) bool {
			return al.Labels["alertname"] == AlertRunFinished && al.Labels[contract.LabelRunID] == id
		})
		if len(got) != 1 || got[0].Status != "firing" {
			t.Errorf("run %s: %d run-finished notifications %v, want one, firing", id, len(got), got)
			continue
		}
		desc, link := got[0].Annotations["description"], got[0].Annotations["dashboard"]
		valid := "1 valid"
		if i == len(runs)-2 {
			valid = "0 valid" // the slow run flagged invalid
		}
		for _, want := range []string{"Run " + id + " of suite bench on Qwen/Qwen3-0.6B ended complete: 1 benchmarks, " + valid, "Best output: ", "tokens/s at concurrent-4 (", "TTFT p95 from "} {
			if !strings.Contains(desc, want) {
				t.Errorf("run %s: description %q lacks %q", id, desc, want)
			}
		}
		if !strings.HasPrefix(link, o.OverviewURL+"?var-suite=bench&var-run="+id+"&from=") || !strings.Contains(link, "000&to=") {
			t.Errorf("run %s: dashboard link %q", id, link)
		}
		if i == len(runs)-1 {
			t.Logf("run-finished notification: %s (%s)", desc, link)
		}
	}
	if notified < len(runs)-1 {
		t.Errorf("only %d of %d runs reached Prometheus", notified, len(runs))
	}
}
