package results

import (
	"math"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/runner/pacer"
)

// SummaryOf is the published headline of a finished benchmark (latencies
// from milliseconds to seconds), as runner start and runner bench publish
// it on their live endpoints.
func SummaryOf(runID string, l measure.BenchmarkLabels, b Benchmark, finished time.Time) recorder.BenchmarkSummary {
	total := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
	ratio := math.NaN() // no request: no ratio, and no series
	if total > 0 {
		ratio = float64(b.Requests.Successful) / float64(total)
	}
	// The recorder leaves a NaN gauge or quantile out of the exposition,
	// and a distribution without samples out entirely: an absent figure is
	// no series, never a 0.
	nan := func(f Figure) float64 {
		if v, ok := f.Get(); ok {
			return v
		}
		return math.NaN()
	}
	q := func(d Dist) recorder.Quantiles {
		if d.Empty() {
			return recorder.Quantiles{P50: math.NaN(), P95: math.NaN(), P99: math.NaN(), Mean: math.NaN()}
		}
		ms := func(f Figure) float64 { return nan(f) / 1000 }
		return recorder.Quantiles{P50: ms(d.P50), P95: ms(d.P95), P99: ms(d.P99), Mean: nan(d.Mean) / 1000, Count: uint64(max(d.Count, 0))}
	}
	return recorder.BenchmarkSummary{
		RunID: runID, Labels: l, Finished: finished,
		TargetRate: b.TargetRate, TargetUnit: targetUnit(b.Profile), AchievedRate: nan(b.AchievedRate), RequestsPerSecond: nan(b.RequestsPerSecond),
		OutputTokensPerSecond: nan(b.OutputTokensPerSecond), TotalTokensPerSecond: nan(b.TotalTokensPerSecond),
		DurationSeconds: b.DurationSeconds, SuccessRatio: ratio, Valid: b.Valid,
		TTFT: q(b.TTFT), ITL: q(b.ITL), TPOT: q(b.TPOT), E2E: q(b.E2E),
	}
}

// targetUnit is what a profile's target counts; "" for a profile servebench
// does not know (an imported result's).
func targetUnit(profile string) contract.TargetUnit {
	k, err := pacer.ParseKind(profile)
	switch {
	case err != nil:
		return ""
	case k.Closed():
		return contract.TargetStreams
	}
	return contract.TargetRequestsPerSecond
}
