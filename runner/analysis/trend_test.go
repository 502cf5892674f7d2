package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func seq(n int, f func(i int) float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = f(i)
	}
	return s
}

func TestTrendTest(t *testing.T) {
	x8 := seq(8, func(i int) float64 { return float64(i) })
	cases := []struct {
		name      string
		x, y      []float64
		s         int
		z, p      float64
		slope     float64
		tolerance float64
	}{
		// n = 8, all 28 pairs concordant: Var(S) = 8·7·21/18, Z = 27/sd.
		{"monotone", x8, seq(8, func(i int) float64 { return 2*float64(i) + 1 }), 28,
			27 / math.Sqrt(8*7*21/18.0), 0.5 * math.Erfc(27/math.Sqrt(8*7*21/18.0)/math.Sqrt2), 2, 1e-12},
		{"decreasing", x8, seq(8, func(i int) float64 { return -float64(i) }), -28,
			-27 / math.Sqrt(8*7*21/18.0), 0.5 * math.Erfc(-27/math.Sqrt(8*7*21/18.0)/math.Sqrt2), -1, 1e-12},
		// One spike moves S by its discordant pairs only, the slope not at all.
		{"spike", x8, []float64{0, 1, 2, 100, 4, 5, 6, 7}, 28 - 2*4,
			19 / math.Sqrt(8*7*21/18.0), 0.5 * math.Erfc(19/math.Sqrt(8*7*21/18.0)/math.Sqrt2), 1, 1e-12},
		// Ties: two pairs of equal y, Var = (8·7·21 − 2·2·1·9)/18.
		{"ties", x8, []float64{1, 1, 2, 3, 3, 4, 5, 6}, 26,
			25 / math.Sqrt((8*7*21-2*18)/18.0), 0.5 * math.Erfc(25/math.Sqrt((8*7*21-2*18)/18.0)/math.Sqrt2), 0.75, 1e-12},
		{"flat", x8, seq(8, func(int) float64 { return 3 }), 0, 0, 1, 0, 0},
		// x need not be sorted; pairs are ordered by x.
		{"unsorted x", []float64{3, 0, 2, 1}, []float64{30, 0, 20, 10}, 6,
			5 / math.Sqrt(4*3*13/18.0), 0.5 * math.Erfc(5/math.Sqrt(4*3*13/18.0)/math.Sqrt2), 10, 1e-12},
	}
	for _, c := range cases {
		got, err := TrendTest(c.x, c.y)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.N != len(c.x) || got.S != c.s || math.Abs(got.Z-c.z) > c.tolerance || math.Abs(got.P-c.p) > c.tolerance ||
			math.Abs(got.Slope-c.slope) > c.tolerance {
			t.Errorf("%s: got %+v, want S %d Z %.6g P %.6g slope %g", c.name, got, c.s, c.z, c.p, c.slope)
		}
	}
	if _, err := TrendTest(x8[:3], x8[:3]); !errors.Is(err, ErrNoSamples) {
		t.Errorf("3 points: %v, want ErrNoSamples", err)
	}
	if _, err := TrendTest(x8, x8[:7]); err == nil {
		t.Error("unequal lengths: no error")
	}
	if _, err := TrendTest(x8, append(x8[:7:7], math.NaN())); err == nil {
		t.Error("NaN: no error")
	}
}

// Under H0 (independent noise) the one-sided p-value is calibrated: about a
// fraction a of series fall below a. The normal approximation is slightly
// conservative at n = 8.
func TestTrendTestCalibrated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const runs = 20000
	x := seq(8, func(i int) float64 { return float64(i) })
	y := make([]float64, 8)
	below := map[float64]int{0.05: 0, 0.01: 0}
	for range runs {
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		tr, err := TrendTest(x, y)
		if err != nil {
			t.Fatal(err)
		}
		for a := range below {
			if tr.P < a {
				below[a]++
			}
		}
	}
	for a, n := range below {
		got := float64(n) / runs
		t.Logf("alpha %.2f: %.4f of noise series below it", a, got)
		if got > a*1.1 || got < a*0.5 {
			t.Errorf("alpha %.2f: %.4f of noise series below it", a, got)
		}
	}
}
