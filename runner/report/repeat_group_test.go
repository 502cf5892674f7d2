package report

import (
	"testing"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
)

// Repetitions of one cell in one run (runner start --repeat) carry their
// own IDs but one RepeatOf: they are graded together.
func TestRepeatabilityGroupsRepetitions(t *testing.T) {
	var cells []compare.Cell
	for i, rps := range []float64{10, 10.1, 9.9} {
		id := "m_chat_8c_r" + string(rune('1'+i))
		cells = append(cells, compare.Cell{Key: id, Summary: &results.Summary{Cell: id, RepeatOf: "m_chat_8c", Repetition: i + 1, Model: "m", Workload: "chat", Cores: 8,
			Benchmarks: []results.Benchmark{{Level: "concurrent-4", RequestsPerSecond: results.Of(rps), OutputTokensPerSecond: results.Of(100 * rps)}}}})
	}
	r := Build(Input{Cells: cells})
	if len(r.Repeatability) != 1 || r.Repeatability[0].Cell != "m_chat_8c" || len(r.Repeatability[0].Rows) == 0 {
		t.Fatalf("repeatability %+v", r.Repeatability)
	}
}
