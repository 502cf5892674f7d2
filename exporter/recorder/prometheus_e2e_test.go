package recorder

import (
	"fmt"
	"math"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/e2e"
)

// promQuery runs an instant PromQL query and returns the single result's value
// (NaN when there is none).
func promQuery(t *testing.T, base, q string) float64 {
	t.Helper()
	v := e2e.Query(t, base, q, time.Time{})
	if len(v) != 1 {
		return math.NaN()
	}
	return v[0]
}

// bucketOf returns the bounds (lo, hi] of the latency bucket holding v.
func bucketOf(v float64) (float64, float64) {
	lo := 0.0
	for _, b := range contract.LatencyBuckets {
		if v <= b {
			return lo, b
		}
		lo = b
	}
	return lo, math.Inf(1)
}

// A real Prometheus scrapes a recorder fed with known requests: histogram
// counts equal the requests recorded, histogram_quantile lands in the bucket
// of the exact quantile, and a published summary is stored at its finish time.
func TestE2EPrometheusScrapesRecorder(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e2e.Require(t, "prometheus")
	reg := prometheus.NewRegistry()
	rec, err := New(reg, Options{NativeHistograms: true})
	if err != nil {
		t.Fatal(err)
	}
	sums := NewSummaries()
	reg.MustRegister(sums)

	// 1000 successful requests, TTFT spread log-uniformly over 5 ms..20 s,
	// 8 chunks each 30 ms apart; 20 failures.
	const n, failed = 1000, 20
	b := rec.Benchmark(labels)
	t0 := time.Now()
	var ttfts []float64
	for i := range n {
		ttft := 0.005 * math.Pow(4000, float64(i)/float64(n-1))
		ttfts = append(ttfts, ttft)
		b.Started()
		b.FirstToken(time.Duration(ttft * float64(time.Second)))
		b.Finished(result(t0, 0, time.Duration(ttft*float64(time.Second)), 30*time.Millisecond, 8))
	}
	for range failed {
		b.Started()
		b.Finished(&measure.Result{Scheduled: t0, Sent: t0, End: t0, Outcome: contract.OutcomeError, ErrorKind: contract.ErrTimeout})
	}
	finished := time.Now().Add(-30 * time.Second).Truncate(time.Millisecond)
	s := summary("run-e2e", finished, 3.5)
	if err := sums.Publish(s); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	// The whole exposition, benchmark summaries included, passes promtool's
	// lint without a single finding.
	check := exec.Command(e2e.Require(t, "promtool"), "check", "metrics")
	check.Stdin = strings.NewReader(gatherText(t, reg))
	if out, err := check.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	dir := t.TempDir()
	prom := e2e.StartPrometheus(t, dir, fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: recorder
    static_configs: [{targets: ['%s']}]
`, strings.TrimPrefix(srv.URL, "http://")))

	sel := `{suite="smoke",level="concurrent-4"}`
	deadline := time.Now().Add(20 * time.Second)
	for promQuery(t, prom.URL, "servebench_request_ttft_seconds_count"+sel) != n {
		if time.Now().After(deadline) {
			t.Fatalf("ttft count never reached %d in Prometheus", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checks := map[string]float64{
		`servebench_requests_total{outcome="success"}`:                                  n,
		`servebench_requests_total{outcome="error"}`:                                    failed,
		`servebench_request_errors_total{kind="timeout"}`:                               failed,
		`servebench_request_itl_seconds_count`:                                          n * 7,
		`servebench_request_tpot_seconds_count`:                                         n,
		`servebench_request_e2e_seconds_count`:                                          n,
		`servebench_send_lateness_seconds_count`:                                        n + failed,
		`servebench_output_tokens_total`:                                                n * 8,
		`servebench_requests_in_flight`:                                                 0,
		`servebench_benchmark_requests_per_second`:                                      3.5,
		`servebench_benchmark_ttft_seconds{quantile="0.95"}`:                            s.TTFT.P95,
		`servebench_benchmark_ttft_seconds_count`:                                       float64(s.TTFT.Count),
		`servebench_benchmark_itl_seconds_sum / servebench_benchmark_itl_seconds_count`: s.ITL.Mean,
		`timestamp(servebench_benchmark_e2e_seconds_sum)`:                               float64(finished.UnixMilli()) / 1000,
		`timestamp(servebench_benchmark_info{run_id="run-e2e"})`:                        float64(finished.UnixMilli()) / 1000,
		`count(servebench_benchmark_success_ratio)`:                                     1,
		`servebench_request_itl_seconds_bucket{le="0.03"}`:                              n * 7,
		`servebench_request_itl_seconds_bucket{le="0.025"}`:                             0,
		`count(servebench_request_ttft_seconds_bucket{le!="+Inf"})`:                     float64(len(contract.LatencyBuckets)),
	}
	for q, want := range checks {
		if got := promQuery(t, prom.URL, q); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %g, want %g", q, got, want)
		}
	}

	slices.Sort(ttfts)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := ttfts[int(math.Ceil(q*n))-1]
		lo, hi := bucketOf(exact)
		got := promQuery(t, prom.URL, fmt.Sprintf(`histogram_quantile(%g, sum by (le) (servebench_request_ttft_seconds_bucket))`, q))
		if got < lo || got > hi {
			t.Errorf("histogram_quantile(%g) = %g, exact %g: outside its bucket (%g, %g]", q, got, exact, lo, hi)
		}
		t.Logf("p%g: exact %.4f s, Prometheus %.4f s, bucket (%g, %g]", q*100, exact, got, lo, hi)
	}
}
