package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/e2e"
)

var update = flag.Bool("update", false, "rewrite testdata/exposition.prom")

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--collector.cpu", "--no-collector.cpu"},
		{"--cpuset.engine", "0-3", "--cpuset.loadgen", "3"},
		{"--cpuset.engine", "x"},
		{"--no-such-flag"},
		{"stray"},
		{"proxy"},
		{"proxy", "--upstream", "not a url"},
		{"--log.format", "xml"},
		{"--push.url", "vm:8428"},
		{"--no-collector.container", "--path.procfs", "/nonexistent"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage || !strings.HasPrefix(stderr.String(), "exporter: ") {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr.String())
		}
	}
	for _, args := range [][]string{{"-h"}, {"proxy", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "--web.listen-address") || !strings.Contains(stdout.String(), "Examples:") {
			t.Errorf("%v: exit %d, output %q", args, code, stdout.String())
		}
	}
}

// Flags may come before or after the subcommand, and the version is the
// build's.
func TestInterspersedAndVersion(t *testing.T) {
	for _, args := range [][]string{
		{"--web.listen-address", "127.0.0.1:1", "proxy", "--upstream", "x"},
		{"proxy", "--upstream", "x", "--web.listen-address", "127.0.0.1:1"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `--upstream "x": want a URL`) {
			t.Errorf("%v: exit %d: %s", args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &stdout, &stderr); code != exitOK || stdout.String() != buildinfo.Get().String("exporter")+"\n" {
		t.Errorf("--version: exit %d: %q", code, stdout.String())
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary built by binary when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds cmd/exporter once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "servebench-exporter-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "exporter")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build exporter: %v", buildErr)
	}
	return binPath
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	promtool := e2e.Require(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// The whole binary on fixture procfs/sysfs trees: its exposition, less the
// collector durations and the build info sample, equals testdata/exposition.prom and passes promtool.
func TestE2EExporterBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := binary(t)
	port := e2e.FreePort(t)
	fixtures, _ := filepath.Abs("../../exporter/collector/testdata")
	e2e.Start(t, ".", bin,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--path.procfs="+filepath.Join(fixtures, "proc"), "--path.sysfs="+filepath.Join(fixtures, "sys"),
		"--cpuset.engine=0-1", "--cpuset.loadgen=2",
		"--no-collector.process", "--no-collector.container", "--log.format=json")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	e2e.WaitHTTP(t, base+"/-/healthy", 10*time.Second)
	text := scrape(t, base+"/metrics")
	promtoolCheck(t, text)

	var kept []string
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(line, "servebench_scrape_collector_duration_seconds{") {
			continue
		}
		if strings.HasPrefix(line, "servebench_build_info{") {
			// The build's own labels change with every commit and toolchain.
			if !strings.Contains(line, `goversion="`+runtime.Version()+`"`) || !strings.HasSuffix(line, "} 1\n") {
				t.Errorf("build info: %s", line)
			}
			continue
		}
		kept = append(kept, line)
	}
	got := strings.Join(kept, "")
	golden := filepath.Join("testdata", "exposition.prom")
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (go test -run TestE2EExporterBinary -update):\n%s", golden, got)
	}
}

// The proxy subcommand meters a streamed request end to end: the client gets
// the upstream's bytes, /metrics shows the request under the loadgen label,
// and the exposition passes promtool.
func TestE2EProxySubcommand(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, stream)
	}))
	defer up.Close()
	bin := binary(t)
	pport, mport := e2e.FreePort(t), e2e.FreePort(t)
	e2e.Start(t, ".", bin, "proxy",
		fmt.Sprintf("--listen=127.0.0.1:%d", pport), "--upstream="+up.URL, "--loadgen=guidellm", "--level=rate-2",
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", mport))
	metrics := fmt.Sprintf("http://127.0.0.1:%d", mport)
	e2e.WaitHTTP(t, metrics+"/-/healthy", 10*time.Second)

	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", pport), "application/json",
		strings.NewReader(`{"model":"tiny","stream":true,"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != stream {
		t.Errorf("client got %q, want the upstream's bytes", body)
	}
	text := scrape(t, metrics+"/metrics")
	for _, want := range []string{
		`servebench_requests_total{cores="",level="rate-2",loadgen="guidellm",model="tiny",outcome="success",suite="bench",workload="custom"} 1`,
		`servebench_output_tokens_total{cores="",level="rate-2",loadgen="guidellm",model="tiny",suite="bench",workload="custom"} 2`,
		`servebench_request_itl_seconds_count{cores="",level="rate-2",loadgen="guidellm",model="tiny",suite="bench",workload="custom"} 1`,
		`servebench_scrape_collector_success{collector="process"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	promtoolCheck(t, text)
}

// With --push.url the daemon pushes its series on the interval and once more
// when stopped by SIGTERM, then exits 0.
func TestE2EExporterPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var mu sync.Mutex
	var bodies []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := io.ReadAll(zr)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer sink.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(bodies) }

	fixtures, _ := filepath.Abs("../../exporter/collector/testdata")
	p := e2e.Start(t, ".", binary(t), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", e2e.FreePort(t)),
		"--path.procfs="+filepath.Join(fixtures, "proc"), "--path.sysfs="+filepath.Join(fixtures, "sys"),
		"--no-collector.process", "--no-collector.container",
		"--push.url="+sink.URL+"/api/v1/import/prometheus", "--push.interval=100ms")
	deadline := time.Now().Add(10 * time.Second)
	for count() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes within 10 s, want at least 2", count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := count()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	if count() <= before {
		t.Errorf("no final push at exit")
	}
	mu.Lock()
	defer mu.Unlock()
	if last := bodies[len(bodies)-1]; !strings.Contains(last, `servebench_host_cpus{role="other"} 4`) {
		t.Errorf("pushed body lacks host series:\n%s", last)
	}
}

// A real Prometheus scrapes the proxy subcommand while 30 streamed requests
// go through it, their first token delayed by known amounts chosen well
// inside TTFT buckets: the scraped bucket counts are exactly those amounts'.
func TestE2EPrometheusScrapesProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	delays := []float64{0.101, 0.151, 0.201, 0.251, 0.301, 0.401} // just above the bounds 0.1 0.15 0.2 0.25 0.3 0.4
	const per, chunks = 5, 4
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("delay"))
		w.Header().Set("Content-Type", "text/event-stream")
		time.Sleep(d)
		for range chunks {
			io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	pport, prom := scrapedProxy(t, up.URL, "vllm-bench")

	var wg sync.WaitGroup
	for _, d := range delays {
		for range per {
			wg.Go(func() {
				resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions?delay=%gs", pport, d),
					"application/json", strings.NewReader(`{"model":"tiny","stream":true}`))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
	}
	wg.Wait()

	n := float64(len(delays) * per)
	sel := `{loadgen="vllm-bench",model="tiny"}`
	deadline := time.Now().Add(20 * time.Second)
	for query(t, prom.URL, "servebench_request_ttft_seconds_count"+sel) != n {
		if time.Now().After(deadline) {
			t.Fatalf("ttft count in Prometheus never reached %g", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := map[string]float64{
		`servebench_requests_total{outcome="success",loadgen="vllm-bench"}`:     n,
		`servebench_request_itl_seconds_count` + sel:                            n * (chunks - 1),
		`servebench_request_e2e_seconds_count` + sel:                            n,
		`servebench_request_ttft_seconds_bucket{le="0.1",loadgen="vllm-bench"}`: 0,
	}
	for i, bound := range []string{"0.15", "0.2", "0.25", "0.3", "0.4", "0.5"} {
		want[`servebench_request_ttft_seconds_bucket{le="`+bound+`",loadgen="vllm-bench"}`] = float64((i + 1) * per)
	}
	for q, v := range want {
		if got := query(t, prom.URL, q); got != v {
			t.Errorf("%s = %g, want %g", q, got, v)
		}
	}
}

// Clients that hang up the moment they have read [DONE] (many do) leave
// successes at the proxy, not cancellations: 52 streamed requests go
// through the proxy binary to an upstream that ends each body 300 ms after
// its [DONE], each client closes its connection right after [DONE], and a
// real Prometheus scraping the proxy sees 52 successes and no error.
func TestE2EProxyClientHangsUpAfterDone(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const n, chunks = 52, 4
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range chunks {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d\"}}]}\n\n", i)
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
		w.(http.Flusher).Flush()
		select { // the body's terminating chunk comes late, or never for a client that left
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	pport, prom := scrapedProxy(t, up.URL, "guidellm")

	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", pport),
				"application/json", strings.NewReader(`{"model":"tiny","stream":true}`))
			if err != nil {
				t.Error(err)
				return
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() && sc.Text() != "data: [DONE]" {
			}
			resp.Body.Close() // before the body's end: the connection is closed
		})
	}
	wg.Wait()

	total := `sum(servebench_requests_total{loadgen="guidellm"})`
	deadline := time.Now().Add(20 * time.Second)
	for query(t, prom.URL, total) != n {
		if time.Now().After(deadline) {
			t.Fatalf("requests in Prometheus never reached %d: %g", n, query(t, prom.URL, total))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for q, want := range map[string]float64{
		`sum(servebench_requests_total{outcome="success"})`:  n,
		`sum(servebench_request_errors_total)`:               0,
		`sum(servebench_requests_total{outcome!="success"})`: 0,
		`sum(servebench_request_ttft_seconds_count)`:         n,
		`sum(servebench_request_itl_seconds_count)`:          n * (chunks - 1),
	} {
		if got := query(t, prom.URL, q); got != want {
			t.Errorf("%s = %g, want %g", q, got, want)
		}
	}
}

// scrapedProxy runs the proxy subcommand in front of upstream, with a real
// Prometheus scraping its metrics every second; it returns the proxy's port.
func scrapedProxy(t *testing.T, upstream, loadgen string) (int, *e2e.Prometheus) {
	t.Helper()
	pport, mport := e2e.FreePort(t), e2e.FreePort(t)
	e2e.Start(t, ".", binary(t), "proxy", fmt.Sprintf("--listen=127.0.0.1:%d", pport), "--upstream="+upstream,
		"--loadgen="+loadgen, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", mport), "--no-collector.cpu")
	e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/-/healthy", mport), 10*time.Second)
	prom := e2e.StartPrometheus(t, t.TempDir(), fmt.Sprintf(`
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: proxy
    static_configs: [{targets: ['127.0.0.1:%d']}]
`, mport))
	return pport, prom
}

// query runs an instant PromQL query with one result and returns its value
// (-1 when there is no single result).
func query(t *testing.T, base, q string) float64 {
	t.Helper()
	v := e2e.Query(t, base, q, time.Time{})
	if len(v) != 1 {
		return -1
	}
	return v[0]
}
