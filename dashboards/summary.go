package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/servebench/servebench/exporter/contract"
)

// The summary series carry one sample per finished benchmark, at its finish
// time, labelled by configuration. Boards read them with *_over_time over
// the dashboard range and tie them to runs through servebench_benchmark_info.

// latest is the most recent value of a summary series in the dashboard
// range, per group.
func latest(m contract.Metric, group []string, extra ...string) string {
	return fmt.Sprintf("max by (%s) (last_over_time(%s[$__range]))", by(group...), sel(m, "", extra...))
}

// quantileMatch selects one quantile of a summary quantile series.
func quantileMatch(q string) string { return `quantile="` + q + `"` }

// ofRun is the value of a summary series in the benchmark(s) of one run:
// the series and the run's info sample share their finish timestamp, so
// inside a subquery step the series is kept only where the run's info is
// visible for the same configuration; last_over_time then returns it for
// any time range that includes the run. Runs of the same configuration that
// finish within the lookback (5 min) of each other cannot be told apart.
func ofRun(m contract.Metric, runVar string, group []string, extra ...string) string {
	return fmt.Sprintf("max by (%s) (last_over_time((%s and on (%s) %s{run_id=~\"$%s\"})[$__range:%s]))",
		by(group...), sel(m, "", extra...), by(contract.BenchmarkLabels...), contract.BenchmarkInfo.Name, runVar, subqueryStep)
}

// subqueryStep is the resolution of subqueries over summary series: a
// finished benchmark shows up at the next multiple of it (subquery steps are
// aligned to absolute time), and it must stay below the 5 min lookback so no
// sample falls between two steps. 15 s costs 5760 steps a day of range.
const subqueryStep = "15s"

// everySample plots a summary series in a range query: a sample is visible
// for the 5 min lookback only, and a month-long range steps by tens of
// minutes, so a bare selector would miss most runs; the last sample of each
// step's interval shows every run (two runs in one step show the later).
func everySample(selector string) string {
	return "last_over_time(" + selector + "[$__interval])"
}

// coresOrder sorts a table by the numeric value of its cores column so bar
// charts read left to right in core counts, and turns cores back into a
// category for the bar chart's x axis.
func coresOrder(cores string) []dashboard.DataTransformerConfig {
	return []dashboard.DataTransformerConfig{
		{Id: "convertFieldType", Options: map[string]any{"conversions": []map[string]any{{"targetField": cores, "destinationType": "number"}}}},
		{Id: "sortBy", Options: map[string]any{"sort": []map[string]any{{"field": cores}}}},
		{Id: "convertFieldType", Options: map[string]any{"conversions": []map[string]any{{"targetField": cores, "destinationType": "string"}}}},
	}
}

// mergeRename merges instant table queries into one table and names the
// value column of each (Value #A, Value #B, ...) and hides Time.
func mergeRename(names map[string]string) []dashboard.DataTransformerConfig {
	rename := map[string]any{}
	for ref, name := range names {
		rename["Value #"+ref] = name
	}
	return []dashboard.DataTransformerConfig{
		{Id: "merge", Options: map[string]any{}},
		{Id: "organize", Options: map[string]any{"excludeByName": map[string]any{"Time": true}, "renameByName": rename}},
	}
}

// legend names a configuration in a legend.
func legend(labels ...string) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = "{{" + l + "}}"
	}
	return strings.Join(parts, " ")
}
