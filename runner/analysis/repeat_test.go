package analysis

import (
	"math"
	"strings"
	"testing"
)

func TestCVTextbook(t *testing.T) {
	// Mean 5, sample variance 32/7.
	x := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	near(t, "stddev", StdDev(x), math.Sqrt(32.0/7), 1e-12)
	near(t, "cv", CV(x), math.Sqrt(32.0/7)/5, 1e-12)
	if !math.IsNaN(CV([]float64{1})) || !math.IsNaN(CV([]float64{-1, 1})) {
		t.Error("CV of one value or zero mean should be NaN")
	}
}

func TestGradeCV(t *testing.T) {
	for _, c := range []struct {
		cv   float64
		want Grade
	}{
		{0, GradeExcellent}, {0.0099, GradeExcellent}, {0.01, GradeGood}, {0.0299, GradeGood},
		{0.03, GradeAcceptable}, {0.05, GradeAcceptable}, {0.0501, GradePoor}, {0.4, GradePoor},
		{math.NaN(), GradeUnknown},
	} {
		if g := GradeCV(c.cv); g != c.want {
			t.Errorf("GradeCV(%v) = %s, want %s", c.cv, g, c.want)
		}
	}
}

func TestRepeatability(t *testing.T) {
	// Throughput of five repeats: 100, 102, 98, 101, 99 -> mean 100,
	// variance 10/4, CV 1.58% -> good.
	s := Repeatability([]float64{100, 102, 98, 101, 99})
	near(t, "cv", s.CV, math.Sqrt(2.5)/100, 1e-12)
	if s.Grade != GradeGood || s.N != 5 {
		t.Errorf("%+v", s)
	}
	if g := Repeatability([]float64{100}).Grade; g != GradeUnknown {
		t.Errorf("one run graded %s", g)
	}
}

func TestMinSamplesFor(t *testing.T) {
	for q, want := range map[float64]int{0.5: 10, 0.9: 50, 0.95: 100, 0.99: 500, 0.999: 5000} {
		if got := MinSamplesFor(q); got != want {
			t.Errorf("MinSamplesFor(%v) = %d, want %d", q, got, want)
		}
	}
	if w := SampleWarning("ttft p99", 0.99, 499); !strings.Contains(w, "499 samples") || !strings.Contains(w, "500") {
		t.Errorf("warning %q", w)
	}
	if w := SampleWarning("ttft p99", 0.99, 500); w != "" {
		t.Errorf("500 samples should suffice for p99: %q", w)
	}
}
