package exposition_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/exposition"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
)

var labels = measure.BenchmarkLabels{Suite: "smoke", Model: "m", Workload: "chat", Cores: "8", Loadgen: "native", Level: "concurrent-4"}

// success is a successful streamed request of n chunks, 5 ms apart.
func success(n int) *measure.Result {
	t0 := time.Unix(1_767_000_000, 0)
	r := &measure.Result{Scheduled: t0, Sent: t0.Add(time.Millisecond), FirstTok: t0.Add(80 * time.Millisecond),
		OutputTokens: n, PromptTokens: 12, Outcome: contract.OutcomeSuccess}
	for i := range n {
		r.Chunks = append(r.Chunks, measure.Chunk{At: time.Duration(79+5*i) * time.Millisecond, Tokens: 1})
	}
	r.End = t0.Add(time.Duration(80+5*(n-1)) * time.Millisecond)
	return r
}

// recorded is a registry holding the recorder's series for benchmarks at
// least as many exposed series as want, and a published benchmark summary.
func recorded(t testing.TB, want int) (*prometheus.Registry, int) {
	reg := prometheus.NewRegistry()
	rec, err := recorder.New(reg, recorder.Options{NativeHistograms: true})
	if err != nil {
		t.Fatal(err)
	}
	sums := recorder.NewSummaries()
	reg.MustRegister(sums)
	res := success(16)
	add := func(i int) {
		l := labels
		l.Level = fmt.Sprintf("concurrent-%d", i)
		b := rec.Benchmark(l)
		b.SetTarget(float64(i), contract.TargetStreams)
		b.Started()
		b.Finished(res)
	}
	add(0)
	per := count(t, reg) // every benchmark adds as many
	for i := 1; i*per < want; i++ {
		add(i)
	}
	err = sums.Publish(recorder.BenchmarkSummary{RunID: "r1", Labels: labels, Finished: time.UnixMilli(1_767_000_000_123),
		RequestsPerSecond: 2.5, Valid: true, TTFT: recorder.Quantiles{P50: 0.08, P95: 0.09, P99: math.NaN(), Mean: 0.08, Count: 16}})
	if err != nil {
		t.Fatal(err)
	}
	return reg, count(t, reg)
}

// count counts exposed series as a scraper sees them (each classic bucket,
// quantile, _sum and _count is one).
func count(t testing.TB, g prometheus.Gatherer) int {
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Histogram != nil:
				n += len(m.Histogram.GetBucket()) + 3
			case m.Summary != nil:
				n += len(m.Summary.GetQuantile()) + 2
			default:
				n++
			}
		}
	}
	return n
}

func expfmtText(t testing.TB, mfs []*dto.MetricFamily) []byte {
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// Write renders the recorder's and the summaries' families byte for byte as
// the client library does (the handler's test in exporter/webserver covers
// every corner case of the format through HTTP).
func TestWriteMatchesExpfmt(t *testing.T) {
	reg, _ := recorded(t, 500)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := exposition.Write(&got, mfs); err != nil {
		t.Fatal(err)
	}
	want := expfmtText(t, mfs)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("Write differs from expfmt (%d vs %d bytes)", got.Len(), len(want))
	}
	if !bytes.Contains(want, []byte(" 1767000000123\n")) {
		t.Error("the summary's timestamp is missing: the comparison did not cover timestamps")
	}
}
