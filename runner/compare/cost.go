package compare

import (
	"math"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
)

// Cost is the cost view of one benchmark: what a core buys.
type Cost struct {
	Cores                  int     `json:"cores"`
	OutputTokensPerSecond  float64 `json:"output_tokens_per_second"`
	OutputTokensPerCore    float64 `json:"output_tokens_per_second_per_core"`
	CoreHourPrice          float64 `json:"core_hour_price,omitempty"`
	PricePerMillionOutputs float64 `json:"price_per_million_output_tokens,omitempty"` // 0 without a price
}

// CostOf computes the cost view; nil when the cores are unknown or nothing
// was produced (the throughput absent on a run).
func CostOf(cores int, outputTokensPerSecond, coreHourPrice float64) *Cost {
	if cores <= 0 || outputTokensPerSecond <= 0 {
		return nil
	}
	c := &Cost{Cores: cores, OutputTokensPerSecond: outputTokensPerSecond,
		OutputTokensPerCore: outputTokensPerSecond / float64(cores)}
	if coreHourPrice > 0 {
		c.CoreHourPrice = coreHourPrice
		// cores*price per hour buys tok/s*3600 tokens per hour.
		c.PricePerMillionOutputs = coreHourPrice * float64(cores) / (outputTokensPerSecond * 3600) * 1e6
	}
	return c
}

func costOf(rs []run, price float64) *Cost {
	if len(rs) == 0 {
		return nil
	}
	v := values(rs, func(b results.Benchmark) float64 { return b.OutputTokensPerSecond.Or(math.NaN()) })
	if m := analysis.Mean(v); !math.IsNaN(m) {
		return CostOf(rs[0].cores, m, price)
	}
	return nil
}
