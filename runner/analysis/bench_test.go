package analysis

import (
	"math/rand/v2"
	"testing"
)

func samples(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n)
	for i := range x {
		x[i] = 50 * rng.ExpFloat64()
	}
	return x
}

// BenchmarkMannWhitney100k: one test of two 100 000-sample groups (a long
// run's ITL gaps).
func BenchmarkMannWhitney100k(b *testing.B) {
	x, y := samples(100000, 1), samples(100000, 2)
	for b.Loop() {
		if _, err := MannWhitneyU(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/test")
}

// BenchmarkBootstrapP99Diff: the p99 difference interval compare computes,
// 1000 resamples of two 20 000-sample groups.
func BenchmarkBootstrapP99Diff(b *testing.B) {
	x, y := samples(20000, 1), samples(20000, 2)
	for b.Loop() {
		if _, err := (Bootstrap{Iterations: 1000, Seed: 1}).DiffCI(x, y, QuantileStat(0.99)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/interval")
}
