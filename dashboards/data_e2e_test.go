package dashboards

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
	"github.com/servebench/servebench/runner/results"
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

// TestE2EEveryPanelHasData is the boards' proof, on both databases a user
// may run: the engine simulator serves vLLM's API and metrics (answering
// 30% of requests with a 500, so the error panels have something to show),
// the standalone exporter reports the host, the runner does a short real
// run of the smoke suite against the simulator, and a real Prometheus (with
// the generated recording rules loaded) and a real VictoriaMetrics both
// scrape all three every second. Both must hold the run's final summaries
// and completion (the runner lingers until every scraper took them); then
// every panel query of every board, with Grafana's variables substituted,
// must return data on each (range queries over the run, instant ones at its
// end), and every variable must list values, but for the panels listed with
// their reason.
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
	vm := startVictoriaMetrics(t, work, cfg)

	// 8 s levels: concurrent-8 completes over 20 requests, enough for the
	// p95 the summary panels show (fewer leave it absent: no series).
	start := time.Now()
	out, runID := runSmoke(t, filepath.Join(bin, "runner"), work, runnerPort,
		"--engine=external", fmt.Sprintf("--target=http://127.0.0.1:%d", enginePort), "--max-seconds=8")
	end := time.Now()
	t.Logf("run %s: %s", runID, end.Sub(start).Round(time.Second))

	// The runner lingered until both had scraped its final results: they
	// are there, the same on both, as soon as each has stored its last
	// scrape.
	final := map[string]string{
		"benchmarks":   fmt.Sprintf(`count(last_over_time(servebench_benchmark_info{run_id=%q}[10m]))`, runID),
		"summaries":    fmt.Sprintf(`count(last_over_time({__name__=~"servebench_benchmark_.+",run_id=%q}[10m]))`, runID),
		"run status":   fmt.Sprintf(`count(last_over_time(servebench_run_finished_timestamp_seconds{run_id=%q,status="complete"}[10m]))`, runID),
		"output tok/s": fmt.Sprintf(`sum(last_over_time(servebench_benchmark_output_tokens_per_second{run_id=%q}[10m]))`, runID),
	}
	var eval time.Time
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		vmFlush(t, vm)
		eval = time.Now()
		var differ []string
		for what, q := range final {
			p, v := e2e.Query(t, prom.URL, q, eval), e2e.Query(t, vm, q, eval)
			if len(p) != 1 || len(v) != 1 || p[0] == 0 || p[0] != v[0] {
				differ = append(differ, fmt.Sprintf("%s: Prometheus %v, VictoriaMetrics %v", what, p, v))
			}
		}
		if len(differ) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("run %s, final results, want the same on both, not zero:\n  %s", runID, strings.Join(differ, "\n  "))
			break
		}
	}
	// The boards are read a little later, as a user would: VictoriaMetrics
	// aligns a range query's points to multiples of its step, so a series
	// whose first sample (the last level's p95, published as the run ends)
	// came in the last second before eval has no point yet.
	time.Sleep(2 * time.Second)
	vmFlush(t, vm)
	eval = time.Now()
	ok := true
	for _, db := range []struct{ name, url string }{{"Prometheus", prom.URL}, {"VictoriaMetrics", vm}} {
		t.Run(db.name, func(t *testing.T) {
			ok = checkEveryPanel(t, db.url, start, eval, runID, noDataExpected, absentTails(t, work, runID, noDataQueries)) && ok
		})
	}
	if !ok || t.Failed() {
		logTail(t, out)
	}
}

// startVictoriaMetrics runs a VictoriaMetrics single node scraping the jobs of
// a prometheus.yml (its scrape_configs; VictoriaMetrics has no rule files),
// answering queries over the latest samples at once, and returns its URL.
func startVictoriaMetrics(t *testing.T, work, promConfig string) string {
	t.Helper()
	bin := e2e.Require(t, "victoria-metrics")
	i := strings.Index(promConfig, "scrape_configs:")
	if i < 0 {
		t.Fatalf("no scrape_configs in\n%s", promConfig)
	}
	cfg := filepath.Join(work, "vm-scrape.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1s\n"+promConfig[i:]), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	e2e.Start(t, work, bin, "-httpListenAddr="+addr, "-storageDataPath="+filepath.Join(t.TempDir(), "vm"), "-retentionPeriod=1",
		"-promscrape.config="+cfg, "-search.latencyOffset=0s", "-search.disableCache")
	url := "http://" + addr
	e2e.WaitHTTP(t, url+"/health", 30*time.Second)
	return url
}

// vmFlush makes VictoriaMetrics' freshest samples searchable.
func vmFlush(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url + "/internal/force_flush")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// checkEveryPanel evaluates every board query (annotations aside) over
// [start, eval] and reports those without data, except the panels in
// noData and the queries in noDataQueries (by a part of their expression).
// It reports whether all others had data.
func checkEveryPanel(t *testing.T, promURL string, start, eval time.Time, runID string, noData, noDataQueries map[string]string) bool {
	t.Helper()
	ranges := fmt.Sprintf("%ds", int(eval.Sub(start).Seconds())+60)
	var missing []string
	checked := 0
	for _, q := range boardQueries(t) {
		if strings.HasPrefix(q.Where, "annotation") {
			continue // annotations may be empty (no regression here); TestE2EPanelQueriesParse runs them
		}
		expr := substitute(t, q.Expr, ranges, "__rate_interval", "5s", varRunA, runID, varRunB, runID)
		count := countResults
		if strings.HasPrefix(q.Where, "variable") && !q.Instant {
			count = countSeries
		}
		n, err := count(promURL, expr, start, eval, q.Instant)
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
// first key of exempted whose parts (separated by " && ") expr all contains.
func exempt(expr string, exempted map[string]string) (string, bool) {
next:
	for key, why := range exempted {
		for _, part := range strings.Split(key, " && ") {
			if !strings.Contains(expr, part) {
				continue next
			}
		}
		return why, true
	}
	return "", false
}

// absentTails adds to noData the p95 series the run cannot have: a p95 is
// null (and so not published) in a level that completed too few requests
// for it, and a loaded machine may leave every level of the run so.
func absentTails(t *testing.T, work, runID string, noData map[string]string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(work, "results", "smoke", runID, "*", "summary.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no summary.json for run %s: %v", runID, err)
	}
	have := map[string]bool{}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := results.ReadSummary(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, b := range s.Benchmarks {
			for name, d := range map[string]results.Dist{"ttft": b.TTFT, "tpot": b.TPOT, "e2e": b.E2E, "itl": b.ITL} {
				have[name] = have[name] || d.P95.Present()
			}
		}
	}
	out := maps.Clone(noData)
	for _, name := range []string{"ttft", "tpot", "e2e", "itl"} {
		if !have[name] {
			out["servebench_benchmark_"+name+`_seconds{ && quantile="0.95"`] = "no level of this run completed enough requests for a " + name + " p95: it is null, so not published"
		}
	}
	return out
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

// countSeries lists the label values of a variable as Grafana does
// (label_values over the dashboard's range): the series matching expr that
// have samples in [start, end], from the series API, counted.
func countSeries(base, expr string, start, end time.Time, _ bool) (int, error) {
	v := url.Values{"match[]": {expr}, "start": {unixSeconds(start)}, "end": {unixSeconds(end)}}
	var series []json.RawMessage
	err := apiGet(base+"/api/v1/series", v, &series)
	return len(series), err
}

// countResults runs expr as Grafana would (an instant query at end, or a
// range query over [start, end] every second) and counts result series.
func countResults(base, expr string, start, end time.Time, instant bool) (int, error) {
	v := url.Values{"query": {expr}}
	path := "/api/v1/query_range"
	if instant {
		path = "/api/v1/query"
		v.Set("time", unixSeconds(end))
	} else {
		v.Set("start", unixSeconds(start))
		v.Set("end", unixSeconds(end))
		v.Set("step", "1")
	}
	var data struct{ Result []json.RawMessage }
	err := apiGet(base+path, v, &data)
	return len(data.Result), err
}

func unixSeconds(t time.Time) string { return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000) }

// apiGet posts a Prometheus HTTP API request and decodes its data into out;
// an error answer is an error.
func apiGet(u string, v url.Values, out any) error {
	resp, err := http.PostForm(u, v)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err
	}
	if r.Status != "success" {
		return fmt.Errorf("%s", r.Error)
	}
	return json.Unmarshal(r.Data, out)
}
