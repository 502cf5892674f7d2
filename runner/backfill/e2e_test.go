package backfill

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/compare/comparetest"
)

// history is two runs of one configuration, a day apart, ending two days ago
// (old enough to be outside Prometheus' head block).
func history(t *testing.T) ([]recorderSummary, []compare.Cell) {
	t.Helper()
	dir := t.TempDir()
	start := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	c1 := cellAt(t, dir, "r1", start, comparetest.Bench{Seed: 1, N: 80})
	c2 := cellAt(t, dir, "r2", start.Add(24*time.Hour), comparetest.Bench{Seed: 2, N: 80, TTFTMs: 300})
	return summaries(t, c1, c2), []compare.Cell{c1, c2}
}

// promQuery runs an instant PromQL query and returns the single value.
func promQuery(t *testing.T, base, q string, at time.Time) (float64, bool) {
	t.Helper()
	v := e2e.Query(t, base, q, at)
	if len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// checkHistory asserts the backfilled history answers PromQL as summary.json says.
func checkHistory(t *testing.T, base string, all []recorderSummary, cells []compare.Cell) {
	t.Helper()
	last := all[len(all)-1]
	b2 := cells[1].Summary.Benchmarks[0]
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, ok := promQuery(t, base, `servebench_benchmark_requests_per_second{level="concurrent-4",model="qwen3-0.6b"}`, last.Finished.Add(time.Second))
		if ok && math.Abs(v-fv(b2.RequestsPerSecond)) < 1e-9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests_per_second at run 2's finish: %v (found %v), want %v", v, ok, b2.RequestsPerSecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if v, ok := promQuery(t, base, `servebench_benchmark_ttft_seconds{quantile="0.95"}`, last.Finished.Add(time.Second)); !ok || math.Abs(v-fv(b2.TTFT.P95)/1e3) > 1e-9 {
		t.Errorf("ttft p95 = %v, want %v", v, fv(b2.TTFT.P95)/1e3)
	}
	// 80 requests are too few for a p99: summary.json has it null, and the
	// history has no sample of it, not a 0.
	if b2.TTFT.P99.Present() {
		t.Fatalf("fixture: ttft p99 %v from %d samples", b2.TTFT.P99, b2.TTFT.Count)
	}
	if v := e2e.Query(t, base, `servebench_benchmark_ttft_seconds{quantile="0.99"}`, last.Finished.Add(time.Second)); len(v) != 0 {
		t.Errorf("ttft p99 backfilled as %v; it is absent", v)
	}
	// The summaries' _count and _sum arrived with the quantiles: the sample
	// count and the mean of each distribution.
	if v, ok := promQuery(t, base, `servebench_benchmark_itl_seconds_count`, last.Finished.Add(time.Second)); !ok || v != float64(b2.ITL.Count) {
		t.Errorf("itl count = %v (%v), want %d", v, ok, b2.ITL.Count)
	}
	if v, ok := promQuery(t, base, `servebench_benchmark_ttft_seconds_sum / servebench_benchmark_ttft_seconds_count`, last.Finished.Add(time.Second)); !ok || math.Abs(v-fv(b2.TTFT.Mean)/1e3) > 1e-9 {
		t.Errorf("ttft mean = %v (%v), want %v", v, ok, fv(b2.TTFT.Mean)/1e3)
	}
	// History: both runs are in the range, each its own series (run_id)
	// with one sample at its own time.
	if v, ok := promQuery(t, base, `count(last_over_time(servebench_benchmark_e2e_seconds_count[3d]))`, last.Finished.Add(time.Second)); !ok || v != 2 {
		t.Errorf("runs with an e2e _count = %v, want 2", v)
	}
	if v, ok := promQuery(t, base, `sum(count_over_time(servebench_benchmark_e2e_seconds{quantile="0.5"}[3d]))`, last.Finished.Add(time.Second)); !ok || v != 2 {
		t.Errorf("samples of e2e p50 over both runs = %v, want 2", v)
	}
	b1 := cells[0].Summary.Benchmarks[0]
	if v, ok := promQuery(t, base, `servebench_benchmark_ttft_seconds{quantile="0.5"}`, all[0].Finished.Add(time.Second)); !ok || math.Abs(v-fv(b1.TTFT.P50)/1e3) > 1e-9 {
		t.Errorf("run 1 ttft p50 at its finish = %v, want %v", v, fv(b1.TTFT.P50)/1e3)
	}
	if v, ok := promQuery(t, base, `count by (run_id) (servebench_benchmark_info)`, all[0].Finished.Add(time.Second)); !ok || v != 1 {
		t.Errorf("run 1 info at its finish = %v (%v)", v, ok)
	}
}

func TestE2EBackfillVictoriaMetrics(t *testing.T) {
	bin := e2e.Require(t, "victoria-metrics")
	port := e2e.FreePort(t)
	e2e.Start(t, t.TempDir(), bin, "-httpListenAddr", fmt.Sprintf("127.0.0.1:%d", port),
		"-storageDataPath", t.TempDir(), "-retentionPeriod", "100y")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	e2e.WaitHTTP(t, base+"/health", 30*time.Second)

	all, cells := history(t)
	fams, err := Families(all)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := (VictoriaMetrics{URL: base, ExtraLabels: []string{"source=backfill"}}).Import(ctx, fams); err != nil {
		t.Fatal(err)
	}
	// Make the just-imported samples searchable now rather than within a second.
	if resp, err := http.Get(base + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	checkHistory(t, base, all, cells)
	if v, ok := promQuery(t, base, `count(servebench_benchmark_valid{source="backfill"})`, all[1].Finished.Add(time.Second)); !ok || v != 1 {
		t.Errorf("extra label: %v %v", v, ok)
	}
}

func TestE2EBackfillPrometheusBlocks(t *testing.T) {
	promtool := e2e.Require(t, "promtool")
	prom := e2e.Require(t, "prometheus")
	all, cells := history(t)
	fams, err := Families(all)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteOpenMetrics(&buf, fams); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	om := filepath.Join(dir, "history.om")
	if err := os.WriteFile(om, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tsdb := filepath.Join(dir, "tsdb")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", om, tsdb).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := e2e.FreePort(t)
	e2e.Start(t, dir, prom, "--config.file="+cfg, "--storage.tsdb.path="+tsdb, "--storage.tsdb.retention.time=100y",
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	e2e.WaitHTTP(t, base+"/-/ready", 30*time.Second)
	checkHistory(t, base, all, cells)
}

func TestE2EBackfillPrometheusRemoteWrite(t *testing.T) {
	all, cells := history(t)
	fams, err := Families(all)
	if err != nil {
		t.Fatal(err)
	}
	// The samples are days old: the out-of-order window must cover them.
	cfg := "global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: 30d\n"
	p := e2e.StartPrometheus(t, t.TempDir(), cfg, "--web.enable-remote-write-receiver", "--storage.tsdb.retention.time=100y")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := (RemoteWrite{URL: p.URL + "/api/v1/write"}).Write(ctx, fams); err != nil {
		t.Fatal(err)
	}
	checkHistory(t, p.URL, all, cells)
}
