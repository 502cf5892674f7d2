package analysis

import (
	"encoding/json"
	"fmt"
	"math"
)

// Grade rates run-to-run variation by its coefficient of variation.
type Grade string

// Grades, best first. The bounds follow common benchmarking practice
// (CV under 3% before publishing a number).
const (
	GradeExcellent  Grade = "excellent"  // CV < 1%
	GradeGood       Grade = "good"       // 1% <= CV < 3%
	GradeAcceptable Grade = "acceptable" // 3% <= CV <= 5%
	GradePoor       Grade = "poor"       // CV > 5%
	GradeUnknown    Grade = "unknown"    // fewer than two runs, or a zero mean
)

// GradeCV grades a coefficient of variation given as a fraction (0.02 = 2%).
func GradeCV(cv float64) Grade {
	switch {
	case math.IsNaN(cv) || math.IsInf(cv, 0):
		return GradeUnknown
	case cv < 0.01:
		return GradeExcellent
	case cv < 0.03:
		return GradeGood
	case cv <= 0.05:
		return GradeAcceptable
	default:
		return GradePoor
	}
}

// CV returns the coefficient of variation: sample standard deviation over
// the absolute mean, as a fraction. NaN for fewer than two values or a zero mean.
func CV(x []float64) float64 {
	m := Mean(x)
	if len(x) < 2 || m == 0 {
		return math.NaN()
	}
	return StdDev(x) / math.Abs(m)
}

// Spread summarises one metric measured over repeated runs.
type Spread struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	CV     float64 `json:"cv"` // fraction
	Grade  Grade   `json:"grade"`
}

// Repeatability computes the spread of one metric over repeated runs.
func Repeatability(values []float64) Spread {
	s := Spread{N: len(values), Mean: Mean(values), StdDev: StdDev(values), CV: CV(values)}
	s.Grade = GradeCV(s.CV)
	return s
}

// MinTailSamples is how many samples must lie beyond a percentile for it to
// be trusted: with fewer, p99 is mostly the luck of one or two requests.
const MinTailSamples = 5

// MinSamplesFor returns the fewest samples that give the q-quantile
// MinTailSamples samples beyond it (q=0.99 -> 500).
func MinSamplesFor(q float64) int {
	if q <= 0 || q >= 1 {
		return 1
	}
	// Round first: 1-0.99 is not exactly 0.01.
	return int(math.Ceil(math.Round(MinTailSamples/(1-q)*1e6) / 1e6))
}

// SampleWarning returns a warning when count samples are too few for the
// q-quantile named name, or "" when they suffice.
func SampleWarning(name string, q float64, count int) string {
	need := MinSamplesFor(q)
	if count >= need {
		return ""
	}
	return fmt.Sprintf("%s rests on %d samples; at least %d are needed for %d beyond it", name, count, need, MinTailSamples)
}

// MarshalJSON writes undefined figures (one run, a zero mean) as null.
func (s Spread) MarshalJSON() ([]byte, error) {
	f := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		N      int      `json:"n"`
		Mean   *float64 `json:"mean"`
		StdDev *float64 `json:"stddev"`
		CV     *float64 `json:"cv"`
		Grade  Grade    `json:"grade"`
	}{s.N, f(s.Mean), f(s.StdDev), f(s.CV), s.Grade})
}
