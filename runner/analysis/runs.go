package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// MinRunCV is the least run-to-run variation TestRuns assumes. Repeats can
// agree exactly — a completion count over a fixed window, a percentile of a
// few hundred samples from a deterministic engine — without the figure being
// known to better than about a part in a thousand; a zero variance would
// make any difference infinitely significant.
const MinRunCV = 0.001

// ErrNoVariance is returned by TestRuns when nothing says how much a metric
// varies from run to run: one run per side and no prior estimate.
var ErrNoVariance = errors.New("no estimate of the run-to-run variance")

// Variance is an estimate of the run-to-run variance of a metric on the log
// scale (the variance of ln(value) over runs of one configuration), with its
// degrees of freedom. Run-to-run noise on a host is multiplicative — a drift
// of 3% moves a 10 ms and a 10 s figure alike — so it is estimated, pooled
// and tested on logarithms. DF +Inf marks an assumed figure (a documented
// default), not a measured one.
type Variance struct {
	Var float64 `json:"var"`
	DF  float64 `json:"df"`
}

// Assumed reports whether v is an assumption rather than a measurement.
func (v Variance) Assumed() bool { return math.IsInf(v.DF, 1) }

// CV is the coefficient of variation of the values whose logarithm has
// variance v: sqrt(exp(v)-1), about the log standard deviation when small.
func (v Variance) CV() float64 { return math.Sqrt(math.Expm1(v.Var)) }

// VarianceOfCV is the log-scale variance of a metric whose run-to-run
// coefficient of variation is cv, assumed (DF +Inf).
func VarianceOfCV(cv float64) Variance { return Variance{Var: math.Log1p(cv * cv), DF: math.Inf(1)} }

// LogVariance estimates the run-to-run variance from repeated runs of one
// configuration: the sample variance of their logarithms, with n-1 degrees of
// freedom. Non-positive values are an error; fewer than two runs give DF 0.
func LogVariance(x []float64) (Variance, error) {
	l, err := logs(x)
	if err != nil {
		return Variance{}, err
	}
	if len(l) < 2 {
		return Variance{}, nil
	}
	s := StdDev(l)
	return Variance{Var: s * s, DF: float64(len(l) - 1)}, nil
}

// Pool combines measured estimates of one variance, weighting each by its
// degrees of freedom (the pooled variance of a one-way layout). Estimates
// with DF 0 carry nothing; an assumed estimate cannot be pooled and is
// ignored.
func Pool(vs ...Variance) Variance {
	var ss, df float64
	for _, v := range vs {
		if v.DF <= 0 || v.Assumed() || math.IsNaN(v.Var) {
			continue
		}
		ss += v.DF * v.Var
		df += v.DF
	}
	if df == 0 {
		return Variance{}
	}
	return Variance{Var: ss / df, DF: df}
}

// VarianceRatioP is the one-sided p-value of the F test that cur's variance
// is larger than ref's: small when a host has become noisier than its stored
// noise floor says.
func VarianceRatioP(cur, ref Variance) float64 {
	if cur.DF <= 0 || ref.DF <= 0 || ref.Var <= 0 {
		return 1
	}
	if cur.Var <= 0 {
		return 1
	}
	return 1 - FisherCDF(cur.Var/ref.Var, cur.DF, ref.DF)
}

// RunTest is the comparison of one metric measured once per run on two
// sides: Student's two-sample t test on the logarithms of the per-run values,
// with the run-to-run variance pooled over both sides' repeats and a prior
// estimate (a stored noise floor), or taken as known when it is assumed.
type RunTest struct {
	NA, NB int
	// Change is the ratio of the geometric means, B over A, minus one.
	Change float64
	// CI is the interval of Change at 1-alpha.
	CI Interval
	P  float64 // two-sided
	T  float64
	DF float64 // +Inf when the variance is assumed
	SE float64 // standard error of the log ratio
	// MDE is the smallest relative change this test detects with the
	// requested power at alpha (two-sided): exp(delta)-1 for the log-scale
	// effect delta = (t[1-alpha/2] + t[power]) * SE.
	MDE      float64
	Variance Variance // the estimate the test used
}

// TestRuns compares per-run values a and b (all > 0). The run-to-run
// variance is prior when prior is assumed (Variance.Assumed), else the pool
// of both sides' own variances and prior, never below MinRunCV. With no
// degrees of freedom at all it returns ErrNoVariance.
func TestRuns(a, b []float64, prior Variance, alpha, power float64) (RunTest, error) {
	la, err := logs(a)
	if err != nil {
		return RunTest{}, fmt.Errorf("a: %w", err)
	}
	lb, err := logs(b)
	if err != nil {
		return RunTest{}, fmt.Errorf("b: %w", err)
	}
	if len(la) == 0 || len(lb) == 0 {
		return RunTest{}, fmt.Errorf("run test: %w (a %d runs, b %d)", ErrNoSamples, len(la), len(lb))
	}
	if alpha <= 0 || alpha >= 1 || power <= 0 || power >= 1 {
		return RunTest{}, fmt.Errorf("run test: alpha %g and power %g must lie in (0, 1)", alpha, power)
	}
	v := prior
	if !prior.Assumed() {
		va, _ := LogVariance(a)
		vb, _ := LogVariance(b)
		v = Pool(va, vb, prior)
	}
	if v.DF <= 0 {
		return RunTest{}, ErrNoVariance
	}
	if min := math.Log1p(MinRunCV * MinRunCV); !(v.Var >= min) {
		v.Var = min
	}
	r := RunTest{NA: len(la), NB: len(lb), DF: v.DF, Variance: v}
	d := Mean(lb) - Mean(la)
	r.SE = math.Sqrt(v.Var * (1/float64(r.NA) + 1/float64(r.NB)))
	r.Change = math.Expm1(d)
	crit := StudentQuantile(1-alpha/2, v.DF)
	r.CI = Interval{Point: r.Change, Lo: math.Expm1(d - crit*r.SE), Hi: math.Expm1(d + crit*r.SE), Level: 1 - alpha}
	r.MDE = math.Expm1((crit + StudentQuantile(power, v.DF)) * r.SE)
	r.T = d / r.SE
	r.P = 2 * StudentCDF(-math.Abs(r.T), v.DF)
	return r, nil
}

func logs(x []float64) ([]float64, error) {
	out := make([]float64, len(x))
	for i, v := range x {
		if !(v > 0) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("run value %g: the run-level test needs positive figures", v)
		}
		out[i] = math.Log(v)
	}
	return out, nil
}

// AdjustBH returns the Benjamini-Hochberg adjusted p-values of p, in p's
// order: a hypothesis is rejected at false discovery rate q when its adjusted
// p-value is at most q. When every null hypothesis is true (an A/A
// comparison) the false discovery rate is the probability of any false
// rejection, so q bounds that too; for positively dependent tests — the
// latency and throughput figures of one benchmark move together — the bound
// holds (Benjamini and Yekutieli 2001). NaN p-values are left NaN and do not
// count among the tests.
func AdjustBH(p []float64) []float64 {
	type ip struct {
		i int
		p float64
	}
	var s []ip
	for i, v := range p {
		if !math.IsNaN(v) {
			s = append(s, ip{i, v})
		}
	}
	slices.SortFunc(s, func(a, b ip) int {
		switch {
		case a.p < b.p:
			return -1
		case a.p > b.p:
			return 1
		}
		return a.i - b.i
	})
	out := make([]float64, len(p))
	for i := range out {
		out[i] = math.NaN()
	}
	m := float64(len(s))
	run := 1.0
	for k := len(s) - 1; k >= 0; k-- {
		run = math.Min(run, s[k].p*m/float64(k+1))
		out[s[k].i] = run
	}
	return out
}
