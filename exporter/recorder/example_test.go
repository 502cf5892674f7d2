package recorder_test

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
)

// A load generator resolves one BenchmarkRecorder per load level and reports
// every request through it; a finished benchmark's headline goes to
// Summaries with its finish time.
func Example() {
	reg := prometheus.NewRegistry()
	rec, err := recorder.New(reg, recorder.Options{NativeHistograms: true})
	if err != nil {
		panic(err)
	}
	sums := recorder.NewSummaries()
	reg.MustRegister(sums)

	info := recorder.RunInfo{RunID: "r1", Suite: "smoke", Model: "tiny", Engine: "sim", Loadgen: "native"}
	rec.StartRun(info)
	defer rec.EndRun(info)

	l := measure.BenchmarkLabels{Suite: "smoke", Model: "tiny", Workload: "chat", Cores: "4", Loadgen: "native", Level: "concurrent-1"}
	b := rec.Benchmark(l)
	b.SetTarget(1, contract.TargetStreams)
	t0 := time.Now()
	b.Started()
	b.FirstToken(80 * time.Millisecond) // as the first token arrives
	b.Finished(&measure.Result{
		Scheduled: t0, Sent: t0, FirstTok: t0.Add(80 * time.Millisecond), End: t0.Add(130 * time.Millisecond),
		Chunks:       []measure.Chunk{{At: 80 * time.Millisecond, Tokens: 1}, {At: 105 * time.Millisecond, Tokens: 1}, {At: 130 * time.Millisecond, Tokens: 1}},
		OutputTokens: 3, PromptTokens: 12, Outcome: contract.OutcomeSuccess,
	})
	b.Close()

	err = sums.Publish(recorder.BenchmarkSummary{RunID: "r1", Labels: l, Finished: time.Now(), RequestsPerSecond: 0.9, Valid: true,
		TTFT: recorder.Quantiles{P50: 0.08, P95: 0.08, P99: 0.08, Mean: 0.08, Count: 1}})
	if err != nil {
		panic(err)
	}
	n, _ := testutil.GatherAndCount(reg, contract.RequestITL.Name, contract.BenchmarkTTFT.Name, contract.RunInfo.Name)
	// One ITL histogram, one run_info, one TTFT summary (its quantiles, _sum
	// and _count are one metric).
	fmt.Println("series:", n)
	// Output: series: 3
}
