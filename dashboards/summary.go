package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/servebench/servebench/exporter/contract"
)

// The summary series carry one sample per finished benchmark, at its finish
// time, labelled by run (run_id) and configuration. Boards read them with
// last_over_time over the dashboard range and aggregate across runs, never
// with a bare selector: VictoriaMetrics stores a staleness marker at a
// timestamped sample's own time when it leaves a scrape, which a bare
// selector (and a subquery of one) sees instead of the sample.

// latest is a summary series' value in the latest benchmark of each
// configuration among the runs the run variable selects (the one with the
// largest finish time), aggregated by group with max (e.g. the best level
// at each core count).
func latest(m contract.Metric, runVar string, group []string, extra ...string) string {
	run := eq(contract.LabelRunID, runVar)
	return fmt.Sprintf("max by (%s) (last_over_time(%s[$__range]) and on (%s) topk by (%s) (1, last_over_time(%s[$__range])))",
		by(group...), sel(m, "", append([]string{run}, extra...)...), by(contract.SummaryLabels...),
		by(contract.BenchmarkLabels...), sel(contract.BenchmarkFinished, "", run))
}

// quantileMatch selects one quantile of a summary quantile series.
func quantileMatch(q string) string { return `quantile="` + q + `"` }

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
