package orchestrate

import (
	"fmt"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

// RepeatMetric is one figure whose run-to-run spread the suite summary
// grades.
type RepeatMetric struct {
	Name string
	Get  func(results.Benchmark) results.Figure
}

// RepeatMetrics are the graded figures, in the order tables show them.
var RepeatMetrics = []RepeatMetric{
	{"requests_per_second", func(b results.Benchmark) results.Figure { return b.RequestsPerSecond }},
	{"output_tokens_per_second", func(b results.Benchmark) results.Figure { return b.OutputTokensPerSecond }},
	{"ttft_p50_ms", func(b results.Benchmark) results.Figure { return b.TTFT.P50 }},
	{"ttft_p99_ms", func(b results.Benchmark) results.Figure { return b.TTFT.P99 }},
	{"itl_p50_ms", func(b results.Benchmark) results.Figure { return b.ITL.P50 }},
	{"tpot_p50_ms", func(b results.Benchmark) results.Figure { return b.TPOT.P50 }},
	{"e2e_p50_ms", func(b results.Benchmark) results.Figure { return b.E2E.P50 }},
	{"e2e_p99_ms", func(b results.Benchmark) results.Figure { return b.E2E.P99 }},
}

func ttftDist(b results.Benchmark) results.Dist { return b.TTFT }
func e2eDist(b results.Benchmark) results.Dist  { return b.E2E }

// sampled reports whether some benchmark's dist has a sample.
func sampled(bs []results.Benchmark, dist func(results.Benchmark) results.Dist) bool {
	for _, b := range bs {
		if dist(b).Count > 0 {
			return true
		}
	}
	return false
}

// RepeatRow grades one level of a repeated cell: each RepeatMetrics
// figure's spread over the repetitions that ran it. Warnings name the
// percentiles that rest on too few samples in some repetition (p99 needs
// analysis.MinSamplesFor(0.99) samples), where the CV says more about luck
// than about the server.
type RepeatRow struct {
	Cell     string                     `json:"cell"` // the cell's ID without its repetition suffix
	Level    string                     `json:"level"`
	Runs     int                        `json:"runs"`
	Metrics  map[string]analysis.Spread `json:"metrics"`
	Worst    analysis.Grade             `json:"worst_grade"`
	Warnings []string                   `json:"warnings,omitempty"`
}

var gradeRank = map[analysis.Grade]int{analysis.GradeExcellent: 0, analysis.GradeGood: 1, analysis.GradeAcceptable: 2,
	analysis.GradePoor: 3, analysis.GradeUnknown: 4}

// repeatability builds a RepeatRow per level of every cell the plan
// repeated, from the repetitions that have a summary.
func repeatability(sums []*results.Summary, cells map[string]suite.Cell) []RepeatRow {
	type key struct{ cell, level string }
	byKey := map[key][]results.Benchmark{}
	var order []key
	for _, s := range sums {
		c, ok := cells[s.Cell]
		if !ok || c.Repetition == 0 {
			continue
		}
		for _, b := range s.Benchmarks {
			k := key{c.BaseID, b.Level}
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], b)
		}
	}
	var out []RepeatRow
	for _, k := range order {
		bs := byKey[k]
		row := RepeatRow{Cell: k.cell, Level: k.level, Runs: len(bs), Metrics: map[string]analysis.Spread{}, Worst: analysis.GradeExcellent}
		for _, m := range RepeatMetrics {
			// A figure absent from a repetition has no spread to grade:
			// grading the others would pass off a subset as the whole.
			v := make([]float64, 0, len(bs))
			for _, b := range bs {
				if x, ok := m.Get(b).Get(); ok {
					v = append(v, x)
				}
			}
			if len(v) < len(bs) {
				if len(v) > 0 {
					row.Warnings = append(row.Warnings, fmt.Sprintf("%s absent in %d of %d repetitions: not graded", m.Name, len(bs)-len(v), len(bs)))
				}
				continue
			}
			sp := analysis.Repeatability(v)
			row.Metrics[m.Name] = sp
			if gradeRank[sp.Grade] > gradeRank[row.Worst] {
				row.Worst = sp.Grade
			}
		}
		for _, d := range []struct {
			name string
			dist func(results.Benchmark) results.Dist
		}{
			{"TTFT p99", ttftDist},
			{"E2E p99", e2eDist},
		} {
			if !sampled(bs, d.dist) {
				continue
			}
			fewest := -1
			for _, b := range bs {
				if n := d.dist(b).Count; fewest < 0 || n < fewest {
					fewest = n
				}
			}
			if w := analysis.SampleWarning(d.name, 0.99, fewest); w != "" {
				row.Warnings = append(row.Warnings, w+" (fewest in one repetition)")
			}
		}
		out = append(out, row)
	}
	return out
}
