package push

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/internal/e2e"
)

type exported struct {
	Metric     map[string]string
	Values     []float64
	Timestamps []int64
}

// export reads raw samples of a series selector back from VictoriaMetrics.
func export(t *testing.T, base, match string) []exported {
	t.Helper()
	if resp, err := http.Get(base + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/api/v1/export?match[]=" + url.QueryEscape(match))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []exported
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e exported
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// Push a recorder's series and a timestamped benchmark summary to a real
// VictoriaMetrics and read them back.
func TestE2EPushToVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := e2e.Require(t, "victoria-metrics")
	port := e2e.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	e2e.Start(t, t.TempDir(), bin, "-storageDataPath="+t.TempDir(), fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-retentionPeriod=10y", "-search.disableCache", "-search.latencyOffset=0s")
	e2e.WaitHTTP(t, base+"/health", 20*time.Second)

	reg := prometheus.NewRegistry()
	rec, err := recorder.New(reg, recorder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sums := recorder.NewSummaries()
	reg.MustRegister(sums)
	labels := measure.BenchmarkLabels{Suite: "ci", Model: "m", Workload: "chat", Cores: "4", Loadgen: "native", Level: "concurrent-1"}
	b := rec.Benchmark(labels)
	t0 := time.Now()
	record := func(n int) {
		for range n {
			b.Started()
			b.FirstToken(40 * time.Millisecond)
			b.Finished(&measure.Result{Scheduled: t0, Sent: t0, FirstTok: t0.Add(40 * time.Millisecond), End: t0.Add(90 * time.Millisecond),
				OutputTokens: 3, Outcome: contract.OutcomeSuccess, Chunks: []measure.Chunk{{At: 40 * time.Millisecond, Tokens: 1}, {At: 65 * time.Millisecond, Tokens: 1}, {At: 90 * time.Millisecond, Tokens: 1}}})
		}
	}
	record(20)
	// A run from last month: VictoriaMetrics keeps its finish time.
	finished := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Millisecond)
	if err := sums.Publish(recorder.BenchmarkSummary{RunID: "nightly-1", Labels: labels, Finished: finished,
		RequestsPerSecond: 12.5, Valid: true, TTFT: recorder.Quantiles{P50: 0.04, P95: 0.05, P99: 0.06}}); err != nil {
		t.Fatal(err)
	}

	p, err := New(Config{URL: base + "/api/v1/import/prometheus", Gatherer: reg, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // VictoriaMetrics keeps one sample per series and millisecond
	record(5)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("final push: %v", err)
	}

	var got []exported
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = export(t, base, `servebench_requests_total{outcome="success"}`)
		if len(got) == 1 && got[0].Values[len(got[0].Values)-1] == 25 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Values[len(got[0].Values)-1] != 25 || got[0].Metric["loadgen"] != "native" {
		t.Fatalf("requests_total in VictoriaMetrics: %+v, want one series ending at 25", got)
	}
	if v := got[0].Values; len(v) < 2 || v[0] != 20 {
		t.Errorf("requests_total samples %v, want 20 from the first push, then more", v)
	}
	if h := export(t, base, `servebench_request_ttft_seconds_bucket{le="0.04"}`); len(h) != 1 || h[0].Values[len(h[0].Values)-1] != 25 {
		t.Errorf("ttft le=0.04 bucket: %+v, want 25", h)
	}
	s := export(t, base, `servebench_benchmark_requests_per_second`)
	if len(s) != 1 || len(s[0].Timestamps) != 1 || s[0].Timestamps[0] != finished.UnixMilli() || s[0].Values[0] != 12.5 {
		t.Errorf("summary in VictoriaMetrics: %+v, want one sample 12.5 at %d", s, finished.UnixMilli())
	}
	if info := export(t, base, `servebench_benchmark_info`); len(info) != 1 || info[0].Metric["run_id"] != "nightly-1" {
		t.Errorf("benchmark_info: %+v", info)
	}
}
