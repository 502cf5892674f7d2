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
	return board(overviewUID, "servebench / Overview",
		"Active runs, the latest finished runs with their headline numbers and validity, and firing alerts.",
		[]string{"overview"}, summaryVars(), []cog.Builder[dashboard.AnnotationQuery]{runAnnotation(), finishAnnotation(varRun)},
		newRow("Now",
			activeRunsStat(), finishedRunsStat(), invalidBenchmarksStat(), firingAlertsStat()),
		newRow("Latest runs",
			latestRunsTable()),
		newRow("Headline numbers",
			headlineTable()),
	).Time("now-7d", "now").
		Link(boardLink("Live", liveUID, "The selected suite, model and run while it is measured", true)).
		Link(dashboard.NewDashboardLinkBuilder("Compare").Type(dashboard.DashboardLinkTypeLink).
			Url(compareURL + "?var-run_b=${" + varRun + "}").Tooltip("The selected run (B) against another, over the last 30 days").
			Icon("dashboard").IncludeVars(true)).
		Link(boardLink("History", historyUID, "The selected configurations over the last 30 days", false))
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
		WithTarget(tableQuery(fmt.Sprintf("count(%s == 0) or vector(0)", latest(contract.BenchmarkValid, varRun, contract.SummaryLabels)), "A"))
}

func firingAlertsStat() cog.Builder[dashboard.Panel] {
	return statPanel("Firing alerts", "servebench alerts firing now.", units.Short, quarter).
		GraphMode(common.BigValueGraphModeNone).Thresholds(thresholds(1, 1)).ColorMode(common.BigValueColorModeBackground).
		WithTarget(query(`count(ALERTS{alertstate="firing",alertname=~"Servebench.*"}) or vector(0)`, "firing"))
}

// latestRunsTable lists runs by finish time, newest first; a run's id
// links to the Compare board with the run as B.
func latestRunsTable() cog.Builder[dashboard.Panel] {
	run := eq(contract.LabelRunID, varRun)
	perRun := by(contract.LabelRunID, contract.LabelSuite, contract.LabelModel)
	finished := fmt.Sprintf("max by (%s) (last_over_time(%s[$__range])) * 1000", perRun, sel(contract.BenchmarkFinished, "", run))
	benchmarks := fmt.Sprintf("count by (%s) (last_over_time(%s[$__range]))", perRun, sel(contract.BenchmarkInfo, "", run))
	valid := fmt.Sprintf("sum by (%s) (last_over_time(%s[$__range]))", perRun, sel(contract.BenchmarkValid, "", run))
	// A run's status and duration once it ended (its model label lists all
	// its models: the join is on run_id).
	ended := func(m contract.Metric) string {
		return fmt.Sprintf("max by (%s, %s) (last_over_time(%s{%s,%s}[$__range]))", contract.LabelRunID, contract.LabelStatus, m.Name,
			eq(contract.LabelSuite, varSuite), run)
	}
	duration := fmt.Sprintf("%s - %s", ended(contract.RunFinished), ended(contract.RunStarted))
	return tablePanel("Latest runs", "Runs with finished benchmarks in the time range, newest first, with the status and duration of those that ended; click a run to compare it.", full, panelH).
		WithTarget(tableQuery(finished, "A")).WithTarget(tableQuery(benchmarks, "B")).WithTarget(tableQuery(valid, "C")).
		WithTarget(tableQuery(duration, "D")).
		Transformations(mergeRename(map[string]string{"A": "finished", "B": "benchmarks", "C": "valid", "D": "duration"})).
		OverrideByName("finished", []dashboard.DynamicConfigValue{{Id: "unit", Value: "dateTimeAsIso"}}).
		OverrideByName("duration", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.Seconds}}).
		OverrideByName(contract.LabelRunID, []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{{
			"title": "Compare run ${__value.raw} with another",
			"url":   compareURL + "?var-suite=${__data.fields.suite}&var-model=${__data.fields.model}&var-run_b=${__value.raw}&${__url_time_range}",
		}}}}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("finished").Desc(true)})
}

var headlineGroup = []string{contract.LabelRunID, contract.LabelSuite, contract.LabelModel, contract.LabelWorkload, contract.LabelCores, contract.LabelLevel}

// headlineTable shows the latest benchmark of each configuration.
func headlineTable() cog.Builder[dashboard.Panel] {
	return tablePanel("Latest benchmark per configuration", "Headline numbers of the latest finished benchmark of each configuration, with its run; valid 0 means flagged.", full, 10).
		WithTarget(tableQuery(latest(contract.BenchmarkOutputTokenRate, varRun, headlineGroup), "A")).
		WithTarget(tableQuery(latest(contract.BenchmarkRequestRate, varRun, headlineGroup), "B")).
		WithTarget(tableQuery(latest(contract.BenchmarkTTFT, varRun, headlineGroup, quantileMatch("0.95")), "C")).
		WithTarget(tableQuery(latest(contract.BenchmarkITL, varRun, headlineGroup, quantileMatch("0.95")), "D")).
		WithTarget(tableQuery(latest(contract.BenchmarkSuccessRatio, varRun, headlineGroup), "E")).
		WithTarget(tableQuery(latest(contract.BenchmarkValid, varRun, headlineGroup), "F")).
		Transformations(mergeRename(map[string]string{"A": "output tok/s", "B": "req/s", "C": "TTFT p95", "D": "ITL p95", "E": "success", "F": "valid"})).
		OverrideByName("TTFT p95", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.Seconds}}).
		OverrideByName("ITL p95", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.Seconds}}).
		OverrideByName("success", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.PercentUnit}}).
		OverrideByName("req/s", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.RequestsPerSecond}}).
		OverrideByName("output tok/s", []dashboard.DynamicConfigValue{{Id: "unit", Value: tokensUnit}})
}
