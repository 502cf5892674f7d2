package analysis_test

import (
	"fmt"

	"github.com/servebench/servebench/runner/analysis"
)

// Two samples of TTFTs in milliseconds; is the second slower?
func ExampleMannWhitneyU() {
	before := []float64{210, 190, 205, 220, 198, 202, 215, 207, 195, 211}
	after := []float64{236, 229, 241, 225, 238, 232, 245, 229, 236, 240}
	r, _ := analysis.MannWhitneyU(after, before)
	fmt.Printf("U=%.0f z=%.2f p=%.4f P(after>before)=%.2f\n", r.U1, r.Z, r.P, r.PSuperiority)
	// Output: U=100 z=3.74 p=0.0002 P(after>before)=1.00
}

// Five repeats of one configuration's throughput: mean 100.1, sample
// variance 3.5/4, CV 0.934%.
func ExampleRepeatability() {
	s := analysis.Repeatability([]float64{101.2, 99.5, 100.8, 98.9, 100.1})
	fmt.Printf("CV %.2f%%: %s\n", 100*s.CV, s.Grade)
	// Output: CV 0.93%: excellent
}

func ExampleSampleWarning() {
	fmt.Println(analysis.SampleWarning("TTFT p99", 0.99, 120))
	// Output: TTFT p99 rests on 120 samples; at least 500 are needed for 5 beyond it
}
