package analysis

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrNoSamples is returned when a statistic needs samples and got none.
var ErrNoSamples = errors.New("no samples")

// Mean returns the arithmetic mean, NaN for no samples.
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// StdDev returns the sample standard deviation (n-1 denominator), NaN for
// fewer than two samples.
func StdDev(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	m := Mean(x)
	ss := 0.0
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

// Quantile returns the q-quantile (0 <= q <= 1) of x by linear interpolation
// between closest ranks (numpy's default, and results.Dist's convention).
// x need not be sorted. NaN for no samples.
func Quantile(x []float64, q float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return QuantileSorted(s, q)
}

// QuantileSorted is Quantile on an already ascending slice.
func QuantileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	q = math.Min(1, math.Max(0, q))
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return s[lo]
	}
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// MannWhitney is the result of a two-sided Mann-Whitney U test of X against Y.
type MannWhitney struct {
	N1, N2 int
	U1     float64 // U of X: pairs (x, y) with x > y, ties counted half
	U2     float64 // N1*N2 - U1
	Sigma  float64 // standard deviation of U under H0, tie-corrected
	Z      float64 // (U1 - N1*N2/2) with continuity correction, over Sigma; > 0 when X tends larger
	P      float64 // two-sided p-value from the normal approximation
	// PSuperiority is U1/(N1*N2): the probability that a random x exceeds a
	// random y (ties half). 0.5 means no shift; it is the effect size.
	PSuperiority float64
}

// MinMannWhitneySamples is the smallest group size for which the normal
// approximation is trusted; callers should not judge smaller groups.
const MinMannWhitneySamples = 8

// MannWhitneyU runs the two-sided Mann-Whitney U test with midranks for ties,
// the tie-corrected variance and a continuity correction of 0.5. NaN samples
// are an error.
func MannWhitneyU(x, y []float64) (MannWhitney, error) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{}, fmt.Errorf("mann-whitney: %w (x %d, y %d)", ErrNoSamples, n1, n2)
	}
	type obs struct {
		v     float64
		fromX bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		if math.IsNaN(v) {
			return MannWhitney{}, errors.New("mann-whitney: NaN in x")
		}
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		if math.IsNaN(v) {
			return MannWhitney{}, errors.New("mann-whitney: NaN in y")
		}
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	n := n1 + n2
	r1 := 0.0
	tieTerm := 0.0 // sum of t^3 - t over tie groups
	for i := 0; i < n; {
		j := i
		for j < n && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		mid := float64(i+1+j) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			if all[k].fromX {
				r1 += mid
			}
		}
		tieTerm += t*t*t - t
		i = j
	}
	f1, f2, fn := float64(n1), float64(n2), float64(n)
	u1 := r1 - f1*(f1+1)/2
	res := MannWhitney{N1: n1, N2: n2, U1: u1, U2: f1*f2 - u1, PSuperiority: u1 / (f1 * f2)}
	variance := f1 * f2 / 12 * ((fn + 1) - tieTerm/(fn*(fn-1)))
	if n < 2 || variance <= 0 {
		// Every value equal: no evidence of any shift.
		res.P = 1
		return res, nil
	}
	res.Sigma = math.Sqrt(variance)
	d := u1 - f1*f2/2
	ad := math.Max(0, math.Abs(d)-0.5)
	res.Z = math.Copysign(ad/res.Sigma, d)
	res.P = math.Min(1, math.Erfc(ad/res.Sigma/math.Sqrt2))
	return res, nil
}

// Interval is a confidence interval around a point estimate.
type Interval struct {
	Point float64 `json:"point"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Level float64 `json:"level"` // e.g. 0.95
}

// Contains reports whether v lies in [Lo, Hi].
func (i Interval) Contains(v float64) bool { return v >= i.Lo && v <= i.Hi }

// Bootstrap configures a percentile bootstrap.
type Bootstrap struct {
	Iterations int     // resamples; 0 means 2000
	Level      float64 // confidence level; 0 means 0.95
	Seed       uint64  // the same seed gives the same interval
}

func (b Bootstrap) norm() Bootstrap {
	if b.Iterations <= 0 {
		b.Iterations = 2000
	}
	if b.Level <= 0 || b.Level >= 1 {
		b.Level = 0.95
	}
	return b
}

// Statistic reduces a sample to one number. It may reorder its argument.
type Statistic func([]float64) float64

// MeanStat is Mean as a Statistic.
func MeanStat(x []float64) float64 { return Mean(x) }

// QuantileStat returns a Statistic giving the q-quantile (linear
// interpolation). It selects rather than sorts, so bootstrapping a p99 over
// tens of thousands of samples stays linear per resample.
func QuantileStat(q float64) Statistic {
	return func(x []float64) float64 { return quantileSelect(x, q) }
}

// quantileSelect is QuantileSorted without the sort: two order statistics
// found by quickselect. It reorders x.
func quantileSelect(x []float64, q float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	q = math.Min(1, math.Max(0, q))
	pos := q * float64(len(x)-1)
	lo := int(math.Floor(pos))
	v := nth(x, lo)
	if float64(lo) == pos {
		return v
	}
	// The next order statistic is the minimum of what lies above lo.
	next := math.Inf(1)
	for _, w := range x[lo+1:] {
		next = math.Min(next, w)
	}
	return v + (next-v)*(pos-float64(lo))
}

// nth reorders x so that x[k] is its k-th smallest value (Hoare's
// selection, middle pivot) and returns it.
func nth(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for lo < hi {
		p := x[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for x[i] < p {
				i++
			}
			for x[j] > p {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}

// CI returns the percentile-bootstrap confidence interval of stat over x.
func (b Bootstrap) CI(x []float64, stat Statistic) (Interval, error) {
	if len(x) == 0 {
		return Interval{}, fmt.Errorf("bootstrap: %w", ErrNoSamples)
	}
	b = b.norm()
	rng := rand.New(rand.NewPCG(b.Seed, 0x5e7ebe7c4))
	point := stat(slices.Clone(x))
	buf := make([]float64, len(x))
	est := make([]float64, b.Iterations)
	for i := range est {
		resample(rng, x, buf)
		est[i] = stat(buf)
	}
	return b.interval(point, est), nil
}

// LogVar returns the bootstrap variance of ln(stat(x)): how much the
// statistic of one run moves from sampling alone. Resamples whose statistic
// is not positive are left out; NaN when none is.
func (b Bootstrap) LogVar(x []float64, stat Statistic) (float64, error) {
	if len(x) == 0 {
		return math.NaN(), fmt.Errorf("bootstrap: %w", ErrNoSamples)
	}
	b = b.norm()
	rng := rand.New(rand.NewPCG(b.Seed, 0x10c5a7))
	buf := make([]float64, len(x))
	var est []float64
	for range b.Iterations {
		resample(rng, x, buf)
		if v := stat(buf); v > 0 {
			est = append(est, math.Log(v))
		}
	}
	sd := StdDev(est)
	return sd * sd, nil
}

// ClusteredLogVar is LogVar resampling whole clusters (ClusteredDiffCI).
func (b Bootstrap) ClusteredLogVar(x [][]float64, stat Statistic) (float64, error) {
	if len(x) == 0 {
		return math.NaN(), fmt.Errorf("bootstrap: %w", ErrNoSamples)
	}
	b = b.norm()
	rng := rand.New(rand.NewPCG(b.Seed, 0x10c5c1))
	var buf, est []float64
	for range b.Iterations {
		buf = resampleClusters(rng, x, buf[:0])
		if v := stat(buf); len(buf) > 0 && v > 0 {
			est = append(est, math.Log(v))
		}
	}
	sd := StdDev(est)
	return sd * sd, nil
}

// DiffCI returns the percentile-bootstrap interval of stat(y) - stat(x),
// resampling both groups independently.
func (b Bootstrap) DiffCI(x, y []float64, stat Statistic) (Interval, error) {
	if len(x) == 0 || len(y) == 0 {
		return Interval{}, fmt.Errorf("bootstrap: %w (x %d, y %d)", ErrNoSamples, len(x), len(y))
	}
	b = b.norm()
	rng := rand.New(rand.NewPCG(b.Seed, 0xd1ff))
	point := stat(slices.Clone(y)) - stat(slices.Clone(x))
	bx, by := make([]float64, len(x)), make([]float64, len(y))
	est := make([]float64, b.Iterations)
	for i := range est {
		resample(rng, x, bx)
		resample(rng, y, by)
		est[i] = stat(by) - stat(bx)
	}
	return b.interval(point, est), nil
}

// ClusteredDiffCI is DiffCI for samples that come in clusters whose members
// are not independent — the inter-token gaps of one request. It resamples
// whole clusters (a cluster bootstrap) and applies stat to the pooled members,
// so the interval reflects request-to-request variation rather than treating
// thousands of correlated gaps as independent evidence.
func (b Bootstrap) ClusteredDiffCI(x, y [][]float64, stat Statistic) (Interval, error) {
	if len(x) == 0 || len(y) == 0 {
		return Interval{}, fmt.Errorf("bootstrap: %w (x %d clusters, y %d)", ErrNoSamples, len(x), len(y))
	}
	b = b.norm()
	rng := rand.New(rand.NewPCG(b.Seed, 0xc105))
	point := stat(flatten(y)) - stat(flatten(x))
	var bx, by []float64
	est := make([]float64, b.Iterations)
	for i := range est {
		bx, by = resampleClusters(rng, x, bx[:0]), resampleClusters(rng, y, by[:0])
		if len(bx) == 0 || len(by) == 0 {
			est[i] = point
			continue
		}
		est[i] = stat(by) - stat(bx)
	}
	return b.interval(point, est), nil
}

func flatten(c [][]float64) []float64 {
	var out []float64
	for _, m := range c {
		out = append(out, m...)
	}
	return out
}

func resampleClusters(rng *rand.Rand, src [][]float64, dst []float64) []float64 {
	for range src {
		dst = append(dst, src[rng.IntN(len(src))]...)
	}
	return dst
}

func resample(rng *rand.Rand, src, dst []float64) {
	for i := range dst {
		dst[i] = src[rng.IntN(len(src))]
	}
}

func (b Bootstrap) interval(point float64, est []float64) Interval {
	slices.Sort(est)
	alpha := (1 - b.Level) / 2
	return Interval{Point: point, Lo: QuantileSorted(est, alpha), Hi: QuantileSorted(est, 1-alpha), Level: b.Level}
}
