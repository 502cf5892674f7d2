package dashboards

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// noDataExpected are the panels that cannot show data in this test, and why.
// Everything else on every board must.
var noDataExpected = map[string]string{
	"Container CPU":     "no container labelled io.servebench.role runs in this test",
	"Container memory":  "no container labelled io.servebench.role runs in this test",
	"Throttled periods": "no container labelled io.servebench.role runs in this test",
	"Throttled time":    "no container labelled io.servebench.role runs in this test",
	// The runner cannot know an external engine's cores, and the contract
	// leaves per-core throughput out when cores is unknown.
	"Output tokens/s per core": "an external engine's cores are unknown, so there is no per-core series",
	"Scaling efficiency":       "an external engine's cores are unknown, so there is no per-core series",
}

// noDataQueries are queries (by a part of their expression) that cannot
// show data in this test, and why.
var noDataQueries = map[string]string{
	"quantile by (model, workload, cores, level) (0.5,": "History's median is over valid runs, and 30% of this run's requests fail: every benchmark is flagged invalid",
}

// TestE2EEveryPanelHasData is the boards' proof: the engine simulator serves
// vLLM's API and metrics (answering 30% of requests with a 500, so the error
// panels have something to show), the standalone exporter reports the host,
// the runner does a short real run of the smoke suite against the simulator,
// and a real Prometheus scrapes all three every second with the generated
// recording rules loaded. Then every panel query of every board, with
// Grafana's variables substituted, must return data (range queries over the
// run, instant ones at its end), and every variable must list values.
func TestE2EEveryPanelHasData(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds three binaries and does a real run")
	}
	goBin := e2e.Require(t, "go")
	e2e.Require(t, "prometheus")

	bin := buildBinaries(t, goBin, "runner", "vllm-sim", "exporter")
	if out, err := exec.Command(filepath.Join(bin, "runner"), "start", "--help").CombinedOutput(); err != nil && !strings.Contains(string(out), "-suite") {
		t.Fatalf("runner has no start command: %v\n%s", err, out)
	}

	work := t.TempDir()
	enginePort, exporterPort, runnerPort := e2e.FreePort(t), e2e.FreePort(t), e2e.FreePort(t)
	const model = "Qwen/Qwen3-0.6B"
	e2e.Start(t, work, filepath.Join(bin, "vllm-sim"), "--host=127.0.0.1", fmt.Sprintf("--port=%d", enginePort),
		"--model="+model, "--cores=16", "--fault-error-rate=0.3")
	e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/health", enginePort), 30*time.Second)
	e2e.Start(t, work, filepath.Join(bin, "exporter"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", exporterPort))
	e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", exporterPort), 30*time.Second)

	cfg := scrapeConfig(t, work, runnerPort, exporterPort, enginePort)
	prom := e2e.StartPrometheus(t, work, cfg)

	start := time.Now()
	out, runID := runSmoke(t, filepath.Join(bin, "runner"), work, runnerPort,
		"--engine=external", fmt.Sprintf("--target=http://127.0.0.1:%d", enginePort), "--max-seconds=4")
	end := time.Now()
	t.Logf("run %s: %s", runID, end.Sub(start).Round(time.Second))

	// Subqueries over summary series step every 15 s on absolute time: wait
	// for the first step after the run.
	eval := end.Truncate(15 * time.Second).Add(16 * time.Second)
	time.Sleep(time.Until(eval))
	if !checkEveryPanel(t, prom.URL, start, eval, runID, noDataExpected) {
		logTail(t, out)
	}
}

// checkEveryPanel evaluates every board query (annotations aside) over
// [start, eval] and reports those without data, except the panels in
// noData. It reports whether all others had data.
func checkEveryPanel(t *testing.T, promURL string, start, eval time.Time, runID string, noData map[string]string) bool {
	t.Helper()
	ranges := fmt.Sprintf("%ds", int(eval.Sub(start).Seconds())+60)
	var missing []string
	checked := 0
	for _, q := range boardQueries(t) {
		if strings.HasPrefix(q.Where, "annotation") {
			continue // annotations may be empty (no regression here); TestE2EPanelQueriesParse runs them
		}
		expr := substitute(t, q.Expr, ranges, "__rate_interval", "5s", varRunA, runID, varRunB, runID)
		n, err := countResults(promURL, expr, start, eval, q.Instant)
		if err != nil {
			t.Errorf("%s %s: %v\n  %s", q.Board, q.Where, err, expr)
			continue
		}
		checked++
		if n > 0 {
			continue
		}
		if why, ok := noData[q.Panel]; ok {
			t.Logf("%s %s: no data, as expected: %s", q.Board, q.Where, why)
			continue
		}
		if why, ok := exempt(q.Expr, noDataQueries); ok {
			t.Logf("%s %s: no data, as expected: %s", q.Board, q.Where, why)
			continue
		}
		missing = append(missing, fmt.Sprintf("%s %s\n    %s", q.Board, q.Where, expr))
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d queries returned no data:\n  %s", len(missing), checked, strings.Join(missing, "\n  "))
	}
	t.Logf("%d queries checked against run %s", checked, runID)
	return len(missing) == 0
}

// exempt finds the reason a query may return no data: the reason of the
// first part of exempted that expr contains.
func exempt(expr string, exempted map[string]string) (string, bool) {
	for part, why := range exempted {
		if strings.Contains(expr, part) {
			return why, true
		}
	}
	return "", false
}

// scrapeConfig copies the deployment's rule files into work and returns a
// prometheus.yml scraping the runner, the exporter and the engine every second.
func scrapeConfig(t *testing.T, work string, runnerPort, exporterPort, enginePort int) string {
	t.Helper()
	rules, err := filepath.Glob("../deploy/prometheus/rules/*.yml")
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(work, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		b, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "rules", filepath.Base(r)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules/*.yml]
scrape_configs:
  - job_name: runner
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: exporter
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: engine
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, runnerPort, exporterPort, enginePort)
}

// buildBinaries builds the named commands into a temporary directory.
func buildBinaries(t *testing.T, goBin string, cmds ...string) string {
	t.Helper()
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, c := range cmds {
		args = append(args, "./cmd/"+c)
	}
	build := exec.Command(goBin, args...)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runSmoke runs runner start --suite smoke with extra flags and returns
// its output and run id.
func runSmoke(t *testing.T, runner, work string, runnerPort int, flags ...string) ([]byte, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"start", "--suite=smoke", "--results=" + filepath.Join(work, "results"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", runnerPort)}, flags...)
	run := exec.CommandContext(ctx, runner, args...)
	run.Dir = work
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("runner start: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`run (\d{8}-\d{6}-[0-9a-f]+)`).FindSubmatch(out)
	if id == nil {
		t.Fatalf("no run id in the runner's output:\n%s", out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "benchmark finished") {
			t.Log(strings.TrimSpace(l))
		}
	}
	return out, string(id[1])
}

func logTail(t *testing.T, out []byte) {
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	t.Logf("runner output tail:\n%s", strings.Join(lines, "\n"))
}

// countResults runs expr as Grafana would (an instant query at end, or a
// range query over [start, end] every second) and counts result series.
func countResults(base, expr string, start, end time.Time, instant bool) (int, error) {
	v := url.Values{"query": {expr}}
	path := "/api/v1/query_range"
	if instant {
		path = "/api/v1/query"
		v.Set("time", fmt.Sprintf("%.3f", float64(end.UnixMilli())/1000))
	} else {
		v.Set("start", fmt.Sprintf("%.3f", float64(start.UnixMilli())/1000))
		v.Set("end", fmt.Sprintf("%.3f", float64(end.UnixMilli())/1000))
		v.Set("step", "1")
	}
	resp, err := http.PostForm(base+path, v)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string                             `json:"status"`
		Error  string                             `json:"error"`
		Data   struct{ Result []json.RawMessage } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	return len(r.Data.Result), nil
}
