package pacer_test

import (
	"fmt"
	"time"

	"github.com/servebench/servebench/runner/pacer"
)

// A pacer is a pure schedule: ask it when the next sends are due.
func ExampleNew() {
	for _, s := range []pacer.Spec{
		{Kind: pacer.Constant, Rate: 4},
		{Kind: pacer.Ramp, RampFrom: 0, RampTo: 10, RampOver: 2 * time.Second},
	} {
		p, _ := pacer.New(s)
		fmt.Println(s.Level(), pacer.Take(p, 5, 0))
	}
	// Output:
	// constant-4 [0s 250ms 500ms 750ms 1s]
	// ramp-0-10 [0s 632.455532ms 894.427191ms 1.095445115s 1.264911064s]
}
