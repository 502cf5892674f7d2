package orchestrate

import (
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

func level(name string, valid bool, outTokS float64, reasons ...string) results.Benchmark {
	b := results.Benchmark{Level: name, Valid: valid, InvalidReasons: reasons, RequestsPerSecond: results.Of(outTokS / 100)}
	if outTokS > 0 {
		b.OutputTokensPerSecond = results.Of(outTokS)
	}
	return b
}

// The scaling table takes its throughput from valid levels only, leaves
// invalid ones out of speedup and efficiency with their reasons, and calls
// an efficiency above linear an anomaly instead of printing it.
func TestScalingFromValidLevelsOnly(t *testing.T) {
	p := planFor(t, "scaling", suite.Overrides{Cores: []int{1, 2, 4}})
	sums := []*results.Summary{
		// 1 core: the invalid level's throughput is higher; it must not count.
		{Cell: p.Cells[0].ID, Cores: 1, Benchmarks: []results.Benchmark{
			level("throughput-64", false, 500, "window shorter than one request: no request completed inside the 5 s window"),
			level("poisson-50pct", true, 100)}},
		{Cell: p.Cells[1].ID, Cores: 2, Benchmarks: []results.Benchmark{level("throughput-64", true, 190), level("poisson-50pct", true, 120)}},
		// 4 cores: 17× the 1-core throughput on 4× the cores.
		{Cell: p.Cells[2].ID, Cores: 4, Benchmarks: []results.Benchmark{level("throughput-64", true, 1700)}},
	}
	rep := BuildReport(p, sums)
	if len(rep.Scaling) != 3 {
		t.Fatalf("rows %+v", rep.Scaling)
	}
	r1, r2, r4 := rep.Scaling[0], rep.Scaling[1], rep.Scaling[2]
	if r1.MaxOutputTokensPerSecond != results.Of(100) || r1.ValidLevels != 1 || r1.Levels != 2 || r1.Speedup != results.Of(1) {
		t.Errorf("1 core: %+v", r1)
	}
	if r2.Speedup != results.Of(1.9) || r2.Efficiency != results.Of(0.95) || r2.BaseCores != 1 || r2.Anomaly != "" {
		t.Errorf("2 cores: %+v", r2)
	}
	if r4.Speedup.Present() || r4.Efficiency.Present() || !strings.Contains(r4.Anomaly, "efficiency 4.25, above linear: an anomaly, not a result") {
		t.Errorf("4 cores: %+v", r4)
	}
	if h := rep.Cells[0]; h.MaxOutputTokensPerSecond != results.Of(100) || h.AllValid || len(h.InvalidReasons) != 1 ||
		!strings.HasPrefix(h.InvalidReasons[0], "throughput-64: window shorter") {
		t.Errorf("cell headline: %+v", h)
	}
}

// With no valid level at a core count, its row has no throughput, says why,
// and the speedups are taken from the smallest core count that has one; with
// none at all, the report says so.
func TestScalingWithoutValidLevels(t *testing.T) {
	p := planFor(t, "scaling", suite.Overrides{Cores: []int{1, 2}})
	bad := func(cores int, cell string) *results.Summary {
		return &results.Summary{Cell: cell, Cores: cores, Benchmarks: []results.Benchmark{
			level("throughput-64", false, 50, "window shorter than one request: no request completed inside the 5 s window"),
			level("poisson-25pct", false, 0, "no request measured"), level("poisson-50pct", false, 0, "no request measured")}}
	}
	rep := BuildReport(p, []*results.Summary{bad(1, p.Cells[0].ID), {Cell: p.Cells[1].ID, Cores: 2,
		Benchmarks: []results.Benchmark{level("throughput-64", true, 90)}}})
	r1, r2 := rep.Scaling[0], rep.Scaling[1]
	if r1.MaxOutputTokensPerSecond.Present() || r1.Speedup.Present() || !strings.Contains(r1.Invalid, "no valid level of 3: throughput-64: window shorter") ||
		!strings.Contains(r1.Invalid, "| poisson-25pct, poisson-50pct: no request measured") {
		t.Errorf("1 core: %+v", r1)
	}
	if r2.BaseCores != 2 || r2.Speedup != results.Of(1) {
		t.Errorf("2 cores: %+v", r2)
	}
	rep = BuildReport(p, []*results.Summary{bad(1, p.Cells[0].ID), bad(2, p.Cells[1].ID)})
	for _, r := range rep.Scaling {
		if r.Speedup.Present() || r.Efficiency.Present() || r.MaxOutputTokensPerSecond.Present() || r.Invalid == "" {
			t.Errorf("%d cores: %+v", r.Cores, r)
		}
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "no core count has a valid level") ||
		!strings.Contains(rep.Notes[0], "the levels' windows are shorter than one request at these core counts: give them more time (--max-seconds)") {
		t.Errorf("notes %q", rep.Notes)
	}
}

// A contention row compares valid levels only: with an invalid side the
// loss is absent and the row says which side.
func TestContentionFromValidLevelsOnly(t *testing.T) {
	p := planFor(t, "contention", suite.Overrides{})
	var sums []*results.Summary
	for i, c := range p.Cells {
		b := level("concurrent-4", c.Variant != suite.VariantCPUNeighbour, 100-float64(i)*10, "error rate 5.00% is above 1.00%")
		b.TTFT = results.Dist{P50: results.Of(100 + float64(i)*50), Count: 200}
		sums = append(sums, &results.Summary{Cell: c.ID, Cores: c.Cores, Benchmarks: []results.Benchmark{b}})
	}
	rep := BuildReport(p, sums)
	var found bool
	for _, r := range rep.Contention {
		if r.Variant != suite.VariantCPUNeighbour {
			if !r.ThroughputLoss.Present() || r.Invalid != "" {
				t.Errorf("valid row: %+v", r)
			}
			continue
		}
		found = true
		if r.ThroughputLoss.Present() || r.TTFTIncrease.Present() || !strings.Contains(r.Invalid, "cpu-neighbour invalid: error rate") {
			t.Errorf("invalid row: %+v", r)
		}
	}
	if !found {
		t.Fatalf("no cpu-neighbour row: %+v", rep.Contention)
	}
}
