package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// compareBoard puts two runs side by side, per workload, core count and
// level, with the relative change from run A to run B.
func compareBoard() *dashboard.DashboardBuilder {
	vars := append(configVars(contract.BenchmarkInfo), summaryRunVar(varRunA, "run A", false), summaryRunVar(varRunB, "run B", false))
	return board(compareUID, "servebench / Compare runs",
		"Two runs side by side with the change from A to B, per workload, core count and level. Pick the runs in the run A / run B variables; the last 30 days are listed, widen the time range for older runs.",
		[]string{"compare", "history"}, vars, []cog.Builder[dashboard.AnnotationQuery]{finishAnnotation(varRunA, varRunB)},
		newRow("Throughput",
			compareTable("Output tokens/s", contract.BenchmarkOutputTokenRate, tokensUnit),
			compareTable("Requests/s", contract.BenchmarkRequestRate, units.RequestsPerSecond)),
		newRow("Latency p95",
			compareTable("TTFT p95", contract.BenchmarkTTFT, units.Seconds, quantileMatch("0.95")),
			compareTable("ITL p95", contract.BenchmarkITL, units.Seconds, quantileMatch("0.95")),
			compareTable("TPOT p95", contract.BenchmarkTPOT, units.Seconds, quantileMatch("0.95")),
			compareTable("E2E p95", contract.BenchmarkE2E, units.Seconds, quantileMatch("0.95"))),
		newRow("Quality",
			compareTable("Success ratio", contract.BenchmarkSuccessRatio, units.PercentUnit),
			compareTable("Achieved send rate", contract.BenchmarkAchievedRate, units.RequestsPerSecond)),
	).Time("now-30d", "now")
}

// compareGroup is the breakdown of a comparison: the runs' configuration
// minus what the variables already fix.
var compareGroup = []string{contract.LabelWorkload, contract.LabelCores, contract.LabelLevel}

// compareTable shows a summary figure of run A, of run B and B's relative
// change, one row per workload / cores / level.
func compareTable(title string, m contract.Metric, unit string, extra ...string) cog.Builder[dashboard.Panel] {
	a := latest(m, varRunA, compareGroup, extra...)
	b := latest(m, varRunB, compareGroup, extra...)
	delta := fmt.Sprintf("(%s - %s) / %s", b, a, a)
	return tablePanel(title, "Run A, run B and the change (B - A) / A.", half, panelH).Unit(unit).
		WithTarget(tableQuery(a, "A")).WithTarget(tableQuery(b, "B")).WithTarget(tableQuery(delta, "C")).
		Transformations(mergeRename(map[string]string{"A": "run A", "B": "run B", "C": "change"})).
		OverrideByName("change", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.PercentUnit}})
}
