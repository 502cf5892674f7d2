package recorder

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/servebench/servebench/exporter/contract"
)

func summary(run string, finished time.Time, rate float64) BenchmarkSummary {
	return BenchmarkSummary{
		RunID: run, Labels: labels, Finished: finished,
		TargetRate: 4, AchievedRate: 3.9, RequestsPerSecond: rate, OutputTokensPerSecond: 80, TotalTokensPerSecond: 480,
		DurationSeconds: 60, SuccessRatio: 0.99, Valid: true,
		TTFT: Quantiles{P50: 0.05, P95: 0.2, P99: 0.3, Mean: 0.08, Count: 240},
		ITL:  Quantiles{P50: 0.02, P95: 0.03, P99: 0.04, Mean: 0.025, Count: 4560},
		TPOT: Quantiles{P50: 0.021, P95: 0.031, P99: 0.041, Mean: 0.026, Count: 240},
		E2E:  Quantiles{P50: 1, P95: 2, P99: 3, Mean: 1.25, Count: 240},
	}
}

func TestSummariesExposeFinishTime(t *testing.T) {
	s := NewSummaries()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	if n := testutil.CollectAndCount(s); n != 0 {
		t.Fatalf("series before any publish = %d, want 0", n)
	}
	fin := time.UnixMilli(1_767_000_000_123)
	if err := s.Publish(summary("r1", fin, 3.8)); err != nil {
		t.Fatal(err)
	}
	text := gatherText(t, reg)
	for _, want := range []string{
		`servebench_benchmark_info{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 1 1767000000123`,
		`servebench_benchmark_finished_timestamp_seconds{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 1.767000000123e+09 1767000000123`,
		`servebench_benchmark_requests_per_second{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 3.8 1767000000123`,
		`servebench_benchmark_output_tokens_per_second_per_core{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 10 1767000000123`,
		`# TYPE servebench_benchmark_ttft_seconds summary`,
		`servebench_benchmark_ttft_seconds{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat",quantile="0.5"} 0.05 1767000000123`,
		`servebench_benchmark_ttft_seconds{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat",quantile="0.95"} 0.2 1767000000123`,
		`servebench_benchmark_ttft_seconds{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat",quantile="0.99"} 0.3 1767000000123`,
		`servebench_benchmark_ttft_seconds_sum{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 19.2 1767000000123`,
		`servebench_benchmark_ttft_seconds_count{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 240 1767000000123`,
		`servebench_benchmark_itl_seconds_sum{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 114 1767000000123`,
		`servebench_benchmark_itl_seconds_count{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 4560 1767000000123`,
		`servebench_benchmark_e2e_seconds{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat",quantile="0.95"} 2 1767000000123`,
		`servebench_benchmark_e2e_seconds_sum{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 300 1767000000123`,
		`servebench_benchmark_valid{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 1 1767000000123`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("exposition lacks\n%s\ngot:\n%s", want, text)
		}
	}

	// A later run of the same configuration replaces the first in the
	// exposition (the database keeps both): as many series, the new run's.
	before := testutil.CollectAndCount(s)
	if err := s.Publish(summary("r2", fin.Add(24*time.Hour), 4.2)); err != nil {
		t.Fatal(err)
	}
	if after := testutil.CollectAndCount(s); after != before {
		t.Errorf("series after a second run = %d, want %d (bounded by configurations)", after, before)
	}
	text = gatherText(t, reg)
	if !strings.Contains(text, `suite="smoke",workload="chat"} 4.2 1767086400123`) || strings.Contains(text, `run_id="r1"`) {
		t.Errorf("second run not exposed in place of the first:\n%s", text)
	}

	// Another configuration adds its own series.
	other := summary("r2", fin, 1)
	other.Labels.Level = "concurrent-8"
	other.Labels.Cores = ""
	other.Valid = false
	if err := s.Publish(other); err != nil {
		t.Fatal(err)
	}
	text = gatherText(t, reg)
	if !strings.Contains(text, `servebench_benchmark_valid{cores="",level="concurrent-8",loadgen="native",model="m",run_id="r2",suite="smoke",workload="chat"} 0`) {
		t.Errorf("invalid benchmark not exposed as 0:\n%s", text)
	}
	if strings.Contains(text, `per_core{cores="",level="concurrent-8"`) {
		t.Errorf("per-core rate exposed although cores is unknown")
	}
}

func TestSummariesRejectBadInput(t *testing.T) {
	s := NewSummaries()
	fin := time.Unix(1_767_000_000, 0)
	for name, tc := range map[string]struct {
		b    BenchmarkSummary
		want string
	}{
		"no run":      {BenchmarkSummary{Labels: labels, Finished: fin}, "run_id"},
		"no time":     {BenchmarkSummary{RunID: "r", Labels: labels}, "finished"},
		"no level":    {BenchmarkSummary{RunID: "r", Finished: fin}, "level"},
		"out of time": {summary("old", fin.Add(-time.Hour), 1), "before the published run"},
		"nan mean":    {nanMean(summary("nan", fin, 1)), "itl mean"},
	} {
		if name == "out of time" {
			if err := s.Publish(summary("new", fin, 1)); err != nil {
				t.Fatal(err)
			}
		}
		err := s.Publish(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, tc.want)
		}
	}
}

func nanMean(b BenchmarkSummary) BenchmarkSummary {
	b.ITL.Mean = math.NaN()
	return b
}

// A quantile that is not a number is left out of the summary; the rest of
// it, _sum and _count included, is still exposed.
func TestSummariesDropNaNQuantiles(t *testing.T) {
	s := NewSummaries()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	b := summary("r1", time.UnixMilli(1_767_000_000_000), 1)
	b.TPOT.P99 = math.NaN()
	if err := s.Publish(b); err != nil {
		t.Fatal(err)
	}
	text := gatherText(t, reg)
	if strings.Contains(text, `servebench_benchmark_tpot_seconds{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat",quantile="0.99"}`) {
		t.Errorf("NaN quantile exposed:\n%s", text)
	}
	for _, want := range []string{`quantile="0.95"} 0.031 `, `servebench_benchmark_tpot_seconds_count{cores="8",level="concurrent-4",loadgen="native",model="m",run_id="r1",suite="smoke",workload="chat"} 240 `} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

// Figures that do not exist have no series: a distribution without samples
// (its mean may then be NaN), a rate that is NaN.
func TestSummariesLeaveOutAbsentFigures(t *testing.T) {
	s := NewSummaries()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	b := summary("r1", time.UnixMilli(1_767_000_000_000), math.NaN())
	b.TTFT = Quantiles{P50: math.NaN(), P95: math.NaN(), P99: math.NaN(), Mean: math.NaN()}
	b.SuccessRatio = math.NaN()
	if err := s.Publish(b); err != nil {
		t.Fatal(err)
	}
	text := gatherText(t, reg)
	for _, absent := range []string{"servebench_benchmark_ttft_seconds", "servebench_benchmark_requests_per_second{", "servebench_benchmark_success_ratio{"} {
		if strings.Contains(text, absent) {
			t.Errorf("absent figure %s exposed:\n%s", absent, text)
		}
	}
	for _, present := range []string{"servebench_benchmark_itl_seconds_count{", "servebench_benchmark_output_tokens_per_second{", "servebench_benchmark_info{"} {
		if !strings.Contains(text, present) {
			t.Errorf("exposition lacks %s", present)
		}
	}
}

func gatherText(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// A finished run is exposed with its start and finish times, stamped with
// the finish; bad completions are refused naming the field.
func TestSummariesPublishRun(t *testing.T) {
	s := NewSummaries()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	start, end := time.UnixMilli(1_767_000_000_000), time.UnixMilli(1_767_000_060_500)
	if err := s.PublishRun(RunCompletion{RunID: "r1", Suite: "smoke", Models: []string{"a", "b"}, Status: contract.RunComplete, Started: start, Finished: end}); err != nil {
		t.Fatal(err)
	}
	text := gatherText(t, reg)
	for _, want := range []string{
		`servebench_run_started_timestamp_seconds{model="a,b",run_id="r1",status="complete",suite="smoke"} 1.767e+09 1767000060500`,
		`servebench_run_finished_timestamp_seconds{model="a,b",run_id="r1",status="complete",suite="smoke"} 1.7670000605e+09 1767000060500`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("exposition lacks\n%s\ngot:\n%s", want, text)
		}
	}
	for name, r := range map[string]RunCompletion{
		"run_id":   {Suite: "s", Status: contract.RunComplete, Started: start, Finished: end},
		"finished": {RunID: "r", Status: contract.RunComplete, Started: end, Finished: start},
		"status":   {RunID: "r", Status: "done", Started: start, Finished: end},
	} {
		if err := s.PublishRun(r); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming it", name, err)
		}
	}
}
