package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Trend is a one-sided Mann-Kendall test for an increasing trend of y over x,
// with Sen's slope as its size.
type Trend struct {
	N int
	S int // concordant minus discordant pairs, ordered by x
	// Z is S with a continuity correction of 1, over its tie-corrected
	// standard deviation under H0 (no trend); P is the one-sided p-value of
	// an increasing trend from the normal approximation.
	Z, P float64
	// Slope is the Theil-Sen estimate: the median of the pairwise slopes
	// (y_j - y_i) / (x_j - x_i) over pairs with distinct x.
	Slope float64
}

// MinTrendSamples is the smallest series TrendTest judges.
const MinTrendSamples = 4

// TrendTest tests whether y increases with x (Mann-Kendall, one-sided) and
// estimates by how much per unit of x (Theil-Sen). It is rank-based: an
// outlier moves S by at most n-1 and the slope hardly at all, which is why
// it suits series with occasional spikes. x and y have equal lengths and no
// NaN; x need not be sorted.
func TrendTest(x, y []float64) (Trend, error) {
	n := len(x)
	if n != len(y) {
		return Trend{}, fmt.Errorf("trend: %d x values and %d y values", n, len(y))
	}
	if n < MinTrendSamples {
		return Trend{}, fmt.Errorf("trend: %w (%d points, need %d)", ErrNoSamples, n, MinTrendSamples)
	}
	for i := range n {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			return Trend{}, errors.New("trend: NaN in the series")
		}
	}
	t := Trend{N: n}
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			dx, dy := x[j]-x[i], y[j]-y[i]
			if dx < 0 {
				dx, dy = -dx, -dy
			}
			if dx == 0 {
				continue
			}
			switch {
			case dy > 0:
				t.S++
			case dy < 0:
				t.S--
			}
			slopes = append(slopes, dy/dx)
		}
	}
	if len(slopes) > 0 {
		slices.Sort(slopes)
		t.Slope = QuantileSorted(slopes, 0.5)
	}
	// Var(S) = [n(n-1)(2n+5) - Σ t(t-1)(2t+5)] / 18 over groups of tied y.
	ys := slices.Clone(y)
	slices.Sort(ys)
	fn := float64(n)
	v := fn * (fn - 1) * (2*fn + 5)
	for i := 0; i < n; {
		j := i
		for j < n && ys[j] == ys[i] {
			j++
		}
		if g := float64(j - i); g > 1 {
			v -= g * (g - 1) * (2*g + 5)
		}
		i = j
	}
	v /= 18
	if v <= 0 {
		t.P = 1 // every y equal: no evidence of a trend
		return t, nil
	}
	sd := math.Sqrt(v)
	switch {
	case t.S > 0:
		t.Z = float64(t.S-1) / sd
	case t.S < 0:
		t.Z = float64(t.S+1) / sd
	}
	t.P = 0.5 * math.Erfc(t.Z/math.Sqrt2)
	return t, nil
}
