package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// overviewBoard is the landing page: what is running, what finished
// recently with its headline numbers and validity, and what is alerting.
func overviewBoard() *dashboard.DashboardBuilder {
	return board("servebench-overview", "servebench / Overview",
		"Active runs, the latest finished runs with their headline numbers and validity, and firing alerts.",
		[]string{"overview"}, summaryVars(), []cog.Builder[dashboard.AnnotationQuery]{runAnnotation(), finishAnnotation()},
		newRow("Now",
			activeRunsStat(), finishedRunsStat(), invalidBenchmarksStat(), firingAlertsStat()),
		newRow("Latest runs",
			latestRunsTable()),
		newRow("Headline numbers",
			headlineTable()),
	).Time("now-7d", "now")
}

func activeRunsStat() cog.Builder[dashboard.Panel] {
	return statPanel("Active runs", "Runs in progress now.", units.Short, quarter).GraphMode(common.BigValueGraphModeNone).
		WithTarget(query(fmt.Sprintf("count(count by (run_id) (%s == 1)) or vector(0)", contract.RunInfo.Name), "active"))
}

func finishedRunsStat() cog.Builder[dashboard.Panel] {
	return statPanel("Runs finished", "Runs with at least one finished benchmark in the time range.", units.Short, quarter).GraphMode(common.BigValueGraphModeNone).
		WithTarget(tableQuery(fmt.Sprintf("count(count by (run_id) (last_over_time(%s[$__range]))) or vector(0)", sel(contract.BenchmarkInfo, "")), "A"))
}

func invalidBenchmarksStat() cog.Builder[dashboard.Panel] {
	return statPanel("Flagged benchmarks", "Latest benchmark of each configuration flagged invalid (client-bound, too few samples, too many errors).", units.Short, quarter).
		GraphMode(common.BigValueGraphModeNone).Thresholds(thresholds(1, 1)).ColorMode(common.BigValueColorModeBackground).
		WithTarget(tableQuery(fmt.Sprintf("count(last_over_time(%s[$__range]) == 0) or vector(0)", sel(contract.BenchmarkValid, "")), "A"))
}

func firingAlertsStat() cog.Builder[dashboard.Panel] {
	return statPanel("Firing alerts", "servebench alerts firing now.", units.Short, quarter).
		GraphMode(common.BigValueGraphModeNone).Thresholds(thresholds(1, 1)).ColorMode(common.BigValueColorModeBackground).
		WithTarget(query(`count(ALERTS{alertstate="firing",alertname=~"Servebench.*"}) or vector(0)`, "firing"))
}

// latestRunsTable lists runs by finish time, newest first.
func latestRunsTable() cog.Builder[dashboard.Panel] {
	finished := fmt.Sprintf("max by (run_id, suite, model) (max_over_time(timestamp(%s)[$__range:%s])) * 1000", sel(contract.BenchmarkInfo, ""), subqueryStep)
	benchmarks := fmt.Sprintf("count by (run_id, suite, model) (last_over_time(%s[$__range]))", sel(contract.BenchmarkInfo, ""))
	return tablePanel("Latest runs", "Runs with finished benchmarks in the time range, newest first.", full, panelH).
		WithTarget(tableQuery(finished, "A")).WithTarget(tableQuery(benchmarks, "B")).
		Transformations(mergeRename(map[string]string{"A": "finished", "B": "benchmarks"})).
		OverrideByName("finished", []dashboard.DynamicConfigValue{{Id: "unit", Value: "dateTimeAsIso"}}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("finished").Desc(true)})
}

var headlineGroup = []string{contract.LabelSuite, contract.LabelModel, contract.LabelWorkload, contract.LabelCores, contract.LabelLevel}

// headlineTable shows the latest benchmark of each configuration.
func headlineTable() cog.Builder[dashboard.Panel] {
	return tablePanel("Latest benchmark per configuration", "Headline numbers of the latest finished benchmark of each configuration; valid 0 means flagged.", full, 10).
		WithTarget(tableQuery(latest(contract.BenchmarkOutputTokenRate, headlineGroup), "A")).
		WithTarget(tableQuery(latest(contract.BenchmarkRequestRate, headlineGroup), "B")).
		WithTarget(tableQuery(latest(contract.BenchmarkTTFT, headlineGroup, quantileMatch("0.95")), "C")).
		WithTarget(tableQuery(latest(contract.BenchmarkITL, headlineGroup, quantileMatch("0.95")), "D")).
		WithTarget(tableQuery(latest(contract.BenchmarkSuccessRatio, headlineGroup), "E")).
		WithTarget(tableQuery(latest(contract.BenchmarkValid, headlineGroup), "F")).
		Transformations(mergeRename(map[string]string{"A": "output tok/s", "B": "req/s", "C": "TTFT p95", "D": "ITL p95", "E": "success", "F": "valid"})).
		OverrideByName("TTFT p95", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.Seconds}}).
		OverrideByName("ITL p95", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.Seconds}}).
		OverrideByName("success", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.PercentUnit}}).
		OverrideByName("req/s", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.RequestsPerSecond}}).
		OverrideByName("output tok/s", []dashboard.DynamicConfigValue{{Id: "unit", Value: tokensUnit}})
}
