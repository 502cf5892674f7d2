package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// scalingBoard plots throughput and latency against the number of engine
// cores from the benchmark summary series: the core-scaling suite's result.
// Throughput per core count is the best level's (the saturation point);
// latencies are the worst level's. With the run variable at All, each core
// count shows its latest benchmark in the time range; pick a run to see
// that run's scaling suite alone.
func scalingBoard() *dashboard.DashboardBuilder {
	return board(scalingUID, "servebench / Core scaling",
		"Throughput, efficiency and latency against engine cores, from the latest finished benchmarks in the time range.",
		[]string{"scaling", "history"}, summaryVars(), []cog.Builder[dashboard.AnnotationQuery]{finishAnnotation(varRun)},
		newRow("Throughput against cores",
			coresBarPanel("Output tokens/s", "Best output token rate over the levels, at each core count.", contract.BenchmarkOutputTokenRate, tokensUnit),
			coresBarPanel("Requests/s", "Best successful request rate over the levels, at each core count.", contract.BenchmarkRequestRate, units.RequestsPerSecond),
			coresBarPanel("Output tokens/s per core", "Best output token rate per engine core.", contract.BenchmarkOutputTokenRatePerCore, tokensUnit),
			efficiencyPanel()),
		newRow("Latency at each core count",
			coresQuantilePanel("TTFT by cores", contract.BenchmarkTTFT),
			coresQuantilePanel("ITL by cores", contract.BenchmarkITL),
			coresQuantilePanel("TPOT by cores", contract.BenchmarkTPOT),
			coresQuantilePanel("E2E by cores", contract.BenchmarkE2E)),
		newRow("Over time",
			scalingTrendPanel()),
	)
}

// coresGroup breaks a scaling figure down by core count.
var coresGroup = []string{contract.LabelCores}

func barPanel(title, desc, unit string, w uint32) *barchart.PanelBuilder {
	return barchart.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).Unit(unit).Span(w).Height(panelH).
		XField(contract.LabelCores).ShowValue(common.VisibilityModeAuto).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true))
}

func coresBarPanel(title, desc string, m contract.Metric, unit string) cog.Builder[dashboard.Panel] {
	return barPanel(title, desc, unit, half).
		WithTarget(tableQuery(latest(m, varRun, coresGroup), "A")).
		Transformations(coresOrder(contract.LabelCores))
}

// efficiencyPanel divides each core count's per-core throughput by the best
// per-core throughput: 1.0 is linear scaling from the most efficient count
// (usually the smallest), 0.5 means each extra core gives half as much.
func efficiencyPanel() cog.Builder[dashboard.Panel] {
	perCore := latest(contract.BenchmarkOutputTokenRatePerCore, varRun, coresGroup)
	return barPanel("Scaling efficiency", "Per-core output token rate over the best per-core rate; 100% is linear scaling.", units.PercentUnit, half).
		Min(0).Max(1).
		WithTarget(tableQuery(fmt.Sprintf("%s / scalar(max(%s))", perCore, perCore), "A")).
		Transformations(coresOrder(contract.LabelCores))
}

// coresQuantilePanel shows p50/p95/p99 of a latency at each core count (the
// worst level's), one bar per quantile.
func coresQuantilePanel(title string, m contract.Metric) cog.Builder[dashboard.Panel] {
	expr := latest(m, varRun, []string{contract.LabelCores, contract.LabelQuantile})
	tr := []dashboard.DataTransformerConfig{
		{Id: "groupingToMatrix", Options: map[string]any{"columnField": "quantile", "rowField": contract.LabelCores, "valueField": "Value"}},
		{Id: "organize", Options: map[string]any{"renameByName": map[string]any{contract.LabelCores + `\quantile`: contract.LabelCores}}},
	}
	return barPanel(title, "p50, p95 and p99 at each core count (worst level).", units.Seconds, half).
		WithTarget(tableQuery(expr, "A")).
		Transformations(append(tr, coresOrder(contract.LabelCores)...))
}

func scalingTrendPanel() cog.Builder[dashboard.Panel] {
	return pointsPanel("Output tokens/s by cores, per benchmark", "One point per finished benchmark: drift at a fixed core count shows here.", tokensUnit, full).
		WithTarget(query(fmt.Sprintf("max by (cores, workload) (%s)", everySample(sel(contract.BenchmarkOutputTokenRate, "", eq(contract.LabelRunID, varRun)))), "{{cores}} cores {{workload}}"))
}
