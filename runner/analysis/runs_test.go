package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestStudentQuantilesFromTables(t *testing.T) {
	// Student's t table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
	for _, c := range []struct{ p, df, want float64 }{
		{0.975, 1, 12.706205}, {0.95, 1, 6.313752}, {0.975, 2, 4.302653}, {0.975, 4, 2.776445},
		{0.995, 4, 4.604095}, {0.9, 4, 1.533206}, {0.975, 10, 2.228139}, {0.995, 30, 2.749996},
		{0.975, math.Inf(1), 1.959964}, {0.8, 8, 0.888890},
	} {
		got := StudentQuantile(c.p, c.df)
		near(t, "t quantile", got, c.want, 2e-6*math.Max(1, c.want))
		near(t, "t cdf", StudentCDF(c.want, c.df), c.p, 1e-6)
		near(t, "t symmetric", StudentQuantile(1-c.p, c.df), -got, 1e-9*math.Max(1, got))
	}
	if !math.IsNaN(StudentQuantile(0, 3)) || !math.IsNaN(StudentCDF(1, 0)) {
		t.Error("out-of-range arguments should give NaN")
	}
}

func TestFisherCDFFromTables(t *testing.T) {
	// Upper 5% and 1% points of F (NIST tables).
	for _, c := range []struct{ f, d1, d2, p float64 }{
		{3.708265, 3, 10, 0.95}, {6.552313, 3, 10, 0.99}, {4.964603, 1, 10, 0.95}, {2.164579, 10, 30, 0.95},
		{5.991465 / 2, 2, math.Inf(1), 0.95}, // chi-square(2) 95% point over 2
	} {
		near(t, "F cdf", FisherCDF(c.f, c.d1, c.d2), c.p, 2e-6)
	}
	near(t, "incomplete beta symmetry", RegIncBeta(2.5, 3, 0.3)+RegIncBeta(3, 2.5, 0.7), 1, 1e-12)
	near(t, "I_x(1,1) = x", RegIncBeta(1, 1, 0.37), 0.37, 1e-12)
}

func TestLogVarianceAndPool(t *testing.T) {
	v, err := LogVariance([]float64{math.E, math.E * math.E, math.E * math.E * math.E}) // logs 1, 2, 3
	if err != nil {
		t.Fatal(err)
	}
	near(t, "var", v.Var, 1, 1e-12)
	near(t, "df", v.DF, 2, 0)
	if _, err := LogVariance([]float64{1, 0}); err == nil {
		t.Error("a zero run value should be refused")
	}
	if one, _ := LogVariance([]float64{5}); one.DF != 0 {
		t.Errorf("one run: %+v", one)
	}
	p := Pool(Variance{Var: 1, DF: 2}, Variance{Var: 4, DF: 6}, Variance{}, VarianceOfCV(0.5))
	near(t, "pooled var", p.Var, (2+24)/8.0, 1e-12)
	near(t, "pooled df", p.DF, 8, 0)
	near(t, "cv round trip", VarianceOfCV(0.05).CV(), 0.05, 1e-12)
}

func TestRunTestWorked(t *testing.T) {
	// Logs of A: 0, 0.02, -0.02 (mean 0); of B: 0.1, 0.12, 0.08 (mean 0.1).
	// Pooled variance (0.0008 + 0.0008)/4 = 0.0004; SE = 0.02*sqrt(2/3) =
	// 0.01633; t = 6.1237 on 4 df; p = 2*P(T4 > 6.1237) = 0.0036022.
	e := math.Exp
	a := []float64{e(0), e(0.02), e(-0.02)}
	b := []float64{e(0.1), e(0.12), e(0.08)}
	r, err := TestRuns(a, b, Variance{}, 0.05, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "change", r.Change, math.Expm1(0.1), 1e-12)
	near(t, "se", r.SE, 0.02*math.Sqrt(2.0/3), 1e-12)
	near(t, "t", r.T, 6.123724, 1e-5)
	near(t, "df", r.DF, 4, 0)
	near(t, "p", r.P, 0.0036022, 2e-7)
	near(t, "ci lo", r.CI.Lo, math.Expm1(0.1-2.776445*r.SE), 1e-6)
	// MDE: (2.776445 + 0.940965) * SE on the log scale.
	near(t, "mde", r.MDE, math.Expm1((2.776445+0.940965)*r.SE), 1e-6)

	// One run a side: nothing to test with, unless a floor is given.
	if _, err := TestRuns(a[:1], b[:1], Variance{}, 0.05, 0.8); !errors.Is(err, ErrNoVariance) {
		t.Errorf("one run a side without a floor: %v", err)
	}
	f, err := TestRuns(a[:1], b[:1], Variance{Var: 0.0004, DF: 20}, 0.05, 0.8)
	if err != nil || f.DF != 20 || math.Abs(f.SE-0.02*math.Sqrt2) > 1e-12 {
		t.Errorf("stored floor: %+v %v", f, err)
	}
	k, _ := TestRuns(a, b, VarianceOfCV(0.5), 0.05, 0.8)
	if !math.IsInf(k.DF, 1) || k.Variance.Var != math.Log1p(0.25) {
		t.Errorf("an assumed variance is used as known, not pooled: %+v", k)
	}
}

// TestRunTestFalsePositiveRate: under the null, three runs a side with
// lognormal run-to-run noise, p < alpha in about alpha of the draws; and a
// 10% shift at a 2% CV is found with roughly the power the MDE promises.
func TestRunTestFalsePositiveRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	draw := func(shift float64) []float64 {
		x := make([]float64, 3)
		for i := range x {
			x[i] = 100 * math.Exp(shift+0.02*rng.NormFloat64())
		}
		return x
	}
	const trials = 4000
	fp, hits := 0, 0
	var mde float64
	for range trials {
		r, err := TestRuns(draw(0), draw(0), Variance{}, 0.05, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		if r.P < 0.05 {
			fp++
		}
		s, _ := TestRuns(draw(0), draw(math.Log(1.1)), Variance{}, 0.05, 0.8)
		if s.P < 0.05 {
			hits++
		}
		mde += s.MDE / trials
	}
	if rate := float64(fp) / trials; rate < 0.035 || rate > 0.065 {
		t.Errorf("false positive rate %.4f, want about 0.05", rate)
	}
	// True SE of the log ratio is 0.02*sqrt(2/3) = 0.0163: a 10% shift is
	// 5.8 SE, detected nearly always at 4 df.
	if power := float64(hits) / trials; power < 0.9 {
		t.Errorf("power against a 10%% shift %.3f", power)
	}
	t.Logf("mean MDE %.1f%%", 100*mde)
}

func TestVarianceRatioP(t *testing.T) {
	ref := Variance{Var: 0.0004, DF: 20}
	if p := VarianceRatioP(Variance{Var: 0.0004, DF: 4}, ref); p < 0.3 {
		t.Errorf("equal variances: p %v", p)
	}
	// Sixteen times the variance on 4 df: F = 16, P(F(4,20) > 16) ~ 6e-6.
	if p := VarianceRatioP(Variance{Var: 0.0064, DF: 4}, ref); p > 1e-4 {
		t.Errorf("much noisier: p %v", p)
	}
}

func TestAdjustBH(t *testing.T) {
	// Worked: sorted p 0.01, 0.02, 0.03, 0.5 with m = 4 give 0.04, 0.04,
	// 0.04, 0.5 (the step-up takes running minima from the top).
	got := AdjustBH([]float64{0.5, 0.03, math.NaN(), 0.01, 0.02})
	want := []float64{0.5, 0.04, math.NaN(), 0.04, 0.04}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12) {
			t.Errorf("adjusted %v, want %v", got, want)
			break
		}
	}
	// Under the global null with independent uniform p-values, some
	// rejection at q = 0.05 happens in about 5% of families.
	rng := rand.New(rand.NewPCG(5, 5))
	any := 0
	const fams = 4000
	for range fams {
		p := make([]float64, 12)
		for i := range p {
			p[i] = rng.Float64()
		}
		for _, v := range AdjustBH(p) {
			if v <= 0.05 {
				any++
				break
			}
		}
	}
	if rate := float64(any) / fams; rate < 0.035 || rate > 0.065 {
		t.Errorf("familywise rate under the null %.4f, want about 0.05", rate)
	}
}
