package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %g", name, got, want, tol)
	}
}

func TestQuantileLinear(t *testing.T) {
	x := []float64{4, 1, 3, 2} // unsorted on purpose; must not be modified
	near(t, "p50", Quantile(x, 0.5), 2.5, 1e-12)
	near(t, "p99", Quantile(x, 0.99), 3.97, 1e-12) // numpy.percentile([1,2,3,4], 99)
	near(t, "p0", Quantile(x, 0), 1, 0)
	near(t, "p100", Quantile(x, 1), 4, 0)
	if x[0] != 4 {
		t.Error("Quantile sorted its input")
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile(nil) should be NaN")
	}
}

func TestMannWhitneyNoTies(t *testing.T) {
	// Complete separation, n1 = n2 = 5: U1 = 0, sigma^2 = 25*11/12,
	// z = -(12.5-0.5)/sqrt(22.9167) = -2.5067, p = 2*Phi(-2.5067) = 0.01219
	// (scipy.stats.mannwhitneyu(method="asymptotic") gives the same).
	r, err := MannWhitneyU([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "U1", r.U1, 0, 0)
	near(t, "U2", r.U2, 25, 0)
	near(t, "sigma", r.Sigma, math.Sqrt(25.0*11/12), 1e-12)
	near(t, "z", r.Z, -2.50672, 1e-4)
	near(t, "p", r.P, 0.01219, 1e-4)
	near(t, "P(x>y)", r.PSuperiority, 0, 0)
}

func TestMannWhitneyTies(t *testing.T) {
	// Worked by hand. Pooled: 1x 2x 2x 2y 3x 3y 4y 5y; midranks 1, 3, 3, 3,
	// 5.5, 5.5, 7, 8. R1 = 1+3+3+5.5 = 12.5, U1 = 12.5 - 10 = 2.5.
	// Ties: one group of 3 (24), one of 2 (6): T = 30.
	// sigma^2 = 16/12 * (9 - 30/56) = 11.285714; z = -(5.5-0.5)/3.359422 = -1.48835;
	// p = 2*(1-Phi(1.48835)) = 0.1367.
	r, err := MannWhitneyU([]float64{1, 2, 2, 3}, []float64{2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "U1", r.U1, 2.5, 1e-12)
	near(t, "sigma^2", r.Sigma*r.Sigma, 11.285714, 1e-6)
	near(t, "z", r.Z, -1.48835, 1e-5)
	near(t, "p", r.P, 0.1367, 5e-4)
}

func TestMannWhitneyAgainstPairCounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		x := make([]float64, 1+rng.IntN(30))
		y := make([]float64, 1+rng.IntN(30))
		for i := range x {
			x[i] = float64(rng.IntN(10)) // many ties
		}
		for i := range y {
			y[i] = float64(rng.IntN(12))
		}
		u := 0.0
		for _, a := range x {
			for _, b := range y {
				switch {
				case a > b:
					u++
				case a == b:
					u += 0.5
				}
			}
		}
		r, err := MannWhitneyU(x, y)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "U1", r.U1, u, 1e-9)
		near(t, "U1+U2", r.U1+r.U2, float64(len(x)*len(y)), 1e-9)
		s, _ := MannWhitneyU(y, x)
		near(t, "symmetric p", s.P, r.P, 1e-12)
		near(t, "antisymmetric z", s.Z, -r.Z, 1e-12)
	}
}

func TestMannWhitneyDegenerate(t *testing.T) {
	if _, err := MannWhitneyU(nil, []float64{1}); err == nil {
		t.Error("empty x: want error")
	}
	if _, err := MannWhitneyU([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Error("NaN: want error")
	}
	r, err := MannWhitneyU([]float64{3, 3, 3}, []float64{3, 3})
	if err != nil || r.P != 1 {
		t.Errorf("all equal: p = %v, err %v; want 1", r.P, err)
	}
}

func TestMannWhitneySameDistributionRarelySignificant(t *testing.T) {
	// Under H0 the p-value is uniform: about 5% of draws fall below 0.05.
	rng := rand.New(rand.NewPCG(7, 7))
	sig := 0
	const trials = 400
	for i := 0; i < trials; i++ {
		x, y := make([]float64, 60), make([]float64, 60)
		for j := range x {
			x[j], y[j] = rng.ExpFloat64(), rng.ExpFloat64()
		}
		r, _ := MannWhitneyU(x, y)
		if r.P < 0.05 {
			sig++
		}
	}
	if rate := float64(sig) / trials; rate < 0.02 || rate > 0.09 {
		t.Errorf("false positive rate %.3f, want about 0.05", rate)
	}
}

func TestBootstrapConstant(t *testing.T) {
	ci, err := Bootstrap{Seed: 1}.CI([]float64{7, 7, 7, 7}, MeanStat)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Lo != 7 || ci.Hi != 7 || ci.Point != 7 || ci.Level != 0.95 {
		t.Errorf("constant sample: %+v", ci)
	}
	if _, err := (Bootstrap{}).CI(nil, MeanStat); err == nil {
		t.Error("empty: want error")
	}
}

func TestBootstrapSeeded(t *testing.T) {
	x := []float64{1, 5, 2, 8, 3, 9, 4, 4, 6}
	a, _ := Bootstrap{Seed: 42, Iterations: 500}.CI(x, QuantileStat(0.9))
	b, _ := Bootstrap{Seed: 42, Iterations: 500}.CI(x, QuantileStat(0.9))
	c, _ := Bootstrap{Seed: 43, Iterations: 500}.CI(x, QuantileStat(0.9))
	if a != b {
		t.Errorf("same seed, different intervals: %+v %+v", a, b)
	}
	if a == c {
		t.Errorf("different seeds gave identical intervals %+v", a)
	}
	if x[0] != 1 || x[1] != 5 {
		t.Error("bootstrap modified its input")
	}
}

func TestBootstrapMeanWidthAndCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// Width: the 95% interval of the mean of 400 N(0,1) draws is about
	// 2*1.96/sqrt(400) = 0.196 wide.
	x := make([]float64, 400)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	ci, _ := Bootstrap{Seed: 9}.CI(x, MeanStat)
	near(t, "width", ci.Hi-ci.Lo, 0.196, 0.025)

	// Coverage: about 95% of intervals contain the true mean (10).
	covered := 0
	const trials = 200
	for tr := 0; tr < trials; tr++ {
		s := make([]float64, 80)
		for i := range s {
			s[i] = 10 + 2*rng.NormFloat64()
		}
		ci, _ := Bootstrap{Seed: uint64(tr), Iterations: 400}.CI(s, MeanStat)
		if ci.Contains(10) {
			covered++
		}
	}
	if c := float64(covered) / trials; c < 0.88 || c > 0.99 {
		t.Errorf("coverage %.3f, want about 0.95", c)
	}
}

func TestBootstrapDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := make([]float64, 200), make([]float64, 200)
	for i := range x {
		x[i], y[i] = rng.NormFloat64(), 1+rng.NormFloat64()
	}
	ci, err := Bootstrap{Seed: 1}.DiffCI(x, y, MeanStat)
	if err != nil {
		t.Fatal(err)
	}
	if !ci.Contains(1) || ci.Contains(0) {
		t.Errorf("diff of means: %+v, want an interval around 1 excluding 0", ci)
	}
}

func TestQuantileStatMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 200; trial++ {
		x := make([]float64, 1+rng.IntN(300))
		for i := range x {
			x[i] = float64(rng.IntN(50)) // ties exercise the partition
		}
		for _, q := range []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
			want := Quantile(x, q)
			got := QuantileStat(q)(append([]float64(nil), x...))
			near(t, "quantile", got, want, 1e-9)
		}
	}
}

func TestClusteredBootstrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// 100 requests per side, 50 gaps each; each request has its own speed,
	// so gaps within a request are strongly correlated.
	mk := func(shift float64) [][]float64 {
		c := make([][]float64, 100)
		for i := range c {
			speed := 30 + 10*rng.NormFloat64() + shift
			for j := 0; j < 50; j++ {
				c[i] = append(c[i], speed+rng.NormFloat64())
			}
		}
		return c
	}
	a, b := mk(0), mk(0)
	cl, err := Bootstrap{Seed: 1, Iterations: 500}.ClusteredDiffCI(a, b, MeanStat)
	if err != nil {
		t.Fatal(err)
	}
	naive, _ := Bootstrap{Seed: 1, Iterations: 500}.DiffCI(flatten(a), flatten(b), MeanStat)
	// The honest interval is about sqrt(50) times wider: the effective sample
	// is the 100 requests, not the 5000 gaps.
	if ratio := (cl.Hi - cl.Lo) / (naive.Hi - naive.Lo); ratio < 4 || ratio > 10 {
		t.Errorf("clustered/naive width %.2f, want about 7", ratio)
	}
	if !cl.Contains(0) {
		t.Errorf("same distribution, clustered interval %+v excludes 0", cl)
	}
	// Clusters of one are the ordinary bootstrap's resampling unit.
	single := func(x []float64) [][]float64 {
		out := make([][]float64, len(x))
		for i, v := range x {
			out[i] = []float64{v}
		}
		return out
	}
	x, y := samples(300, 1), samples(300, 2)
	c1, _ := Bootstrap{Seed: 3, Iterations: 400}.ClusteredDiffCI(single(x), single(y), MeanStat)
	d1, _ := Bootstrap{Seed: 3, Iterations: 400}.DiffCI(x, y, MeanStat)
	if c1.Point != d1.Point || math.Abs((c1.Hi-c1.Lo)-(d1.Hi-d1.Lo)) > 0.25*(d1.Hi-d1.Lo) {
		t.Errorf("singleton clusters %+v vs plain %+v", c1, d1)
	}
	if _, err := (Bootstrap{}).ClusteredDiffCI(nil, a, MeanStat); err == nil {
		t.Error("no clusters: want error")
	}
}
