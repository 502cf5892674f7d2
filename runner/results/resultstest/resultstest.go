// Package resultstest helps tests read results figures.
package resultstest

import (
	"fmt"

	"github.com/servebench/servebench/runner/results"
)

// Must is a figure's value for a test that expects it present: an absent
// figure panics, failing the test, where reading it as 0 (or NaN, which
// compares false) could let a wrong figure pass.
func Must(f results.Figure) float64 {
	v, ok := f.Get()
	if !ok {
		panic(fmt.Sprintf("figure is absent (%v)", f))
	}
	return v
}
