package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// RegressionAlerts matches the names of the regression alerts (see package
// alerts); their firing periods are drawn on the History board.
const RegressionAlerts = "Servebench.*Regression"

// historyBoard shows the trend of headline figures per configuration over
// weeks, each against its 30-day median, with regression markers.
func historyBoard() *dashboard.DashboardBuilder {
	return board(historyUID, "servebench / History",
		"One point per finished benchmark over 30 or 90 days, per model / workload / cores / level, with the 30-day median and regression markers.",
		[]string{"history"}, summaryVars(), []cog.Builder[dashboard.AnnotationQuery]{regressionAnnotation(), finishAnnotation(varRun)},
		newRow("Throughput",
			trendPanel("Output tokens/s", contract.BenchmarkOutputTokenRate, tokensUnit),
			trendPanel("Requests/s", contract.BenchmarkRequestRate, units.RequestsPerSecond)),
		newRow("Latency p95",
			trendPanel("TTFT p95", contract.BenchmarkTTFT, units.Seconds, quantileMatch("0.95")),
			trendPanel("ITL p95", contract.BenchmarkITL, units.Seconds, quantileMatch("0.95")),
			trendPanel("TPOT p95", contract.BenchmarkTPOT, units.Seconds, quantileMatch("0.95")),
			trendPanel("E2E p95", contract.BenchmarkE2E, units.Seconds, quantileMatch("0.95"))),
		newRow("Quality",
			trendPanel("Success ratio", contract.BenchmarkSuccessRatio, units.PercentUnit),
			trendPanel("Valid (1) or flagged (0)", contract.BenchmarkValid, units.Short)),
	).Time("now-30d", "now")
}

var trendGroup = []string{contract.LabelModel, contract.LabelWorkload, contract.LabelCores, contract.LabelLevel}

// trendPanel draws one point per finished benchmark and, dashed, the median
// of the configuration's valid runs in the preceding 30 days: the
// regression alerts' baseline.
func trendPanel(title string, m contract.Metric, unit string, extra ...string) cog.Builder[dashboard.Panel] {
	points := sel(m, "", append([]string{eq(contract.LabelRunID, varRun)}, extra...)...)
	perRun := by(append([]string{contract.LabelRunID}, trendGroup...)...)
	median := fmt.Sprintf("quantile by (%s) (0.5, max by (%s) (last_over_time(%s[30d]) and on (%s) (last_over_time(%s[30d]) == 1)))",
		by(trendGroup...), perRun, sel(m, "", extra...), by(contract.SummaryLabels...), sel(contract.BenchmarkValid, ""))
	return pointsPanel(title, "One point per finished benchmark; dashed: median of the valid runs of the preceding 30 days.", unit, half).
		WithTarget(query(fmt.Sprintf("max by (%s) (%s)", by(trendGroup...), everySample(points)), legend(trendGroup...))).
		WithTarget(query(median, "median "+legend(trendGroup...))).
		OverrideByRegexp("^median .*", []dashboard.DynamicConfigValue{
			{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			{Id: "custom.showPoints", Value: "never"},
		})
}

// regressionAnnotation marks the periods in which a regression alert fired.
func regressionAnnotation() cog.Builder[dashboard.AnnotationQuery] {
	expr := fmt.Sprintf(`max by (alertname, model, workload, cores, level) (ALERTS{alertstate="firing",alertname=~"%s",%s,%s})`,
		RegressionAlerts, eq(contract.LabelSuite, varSuite), eq(contract.LabelModel, varModel))
	return dashboard.NewAnnotationQueryBuilder().Name("Regressions").Datasource(ds).Enable(true).IconColor("red").
		Expr(expr).Step("1m").TitleFormat("{{alertname}}").TextFormat("{{model}} {{workload}} {{cores}} cores {{level}}").
		TagKeys("alertname,model,workload,cores").UseValueForTime(false)
}
