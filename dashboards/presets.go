package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// Grid geometry: Grafana's grid is 24 columns wide.
const (
	gridWidth  = 24
	panelH     = 8
	statH      = 4
	full       = 24
	half       = 12
	third      = 8
	quarter    = 6
	sixth      = 4
	tokensUnit = "suffix: tok/s" // Grafana has no tokens/s unit; a custom suffix unit reads right
	coresUnit  = "suffix: cores"
)

// ds is the datasource every panel, variable and annotation uses: always the
// $datasource variable, never a UID, so the boards work on any Grafana.
var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// Variable names shared by every board.
const (
	varSuite    = "suite"
	varModel    = "model"
	varWorkload = "workload"
	varCores    = "cores"
	varRun      = "run"
	varRunA     = "run_a"
	varRunB     = "run_b"
)

// matchers is the label filter of every servebench series on a board: the
// configuration variables, regex-matched so "All" (.*) also matches an empty
// cores label.
func matchers(extra ...string) string {
	m := []string{
		eq(contract.LabelSuite, varSuite),
		eq(contract.LabelModel, varModel),
		eq(contract.LabelWorkload, varWorkload),
		coresMatch,
	}
	return strings.Join(append(m, extra...), ",")
}

// coresMatch filters by the cores variable. Its values are core counts and,
// for benchmarks whose cores are unknown (an external engine), ^$: joined
// with | and not escaped (Grafana's pipe format), "16|^$" matches both.
const coresMatch = contract.LabelCores + `=~"${` + varCores + `:pipe}"`

// sel is a selector of m (plus a suffix such as "_bucket") filtered by the
// board's variables and any extra matchers.
func sel(m contract.Metric, suffix string, extra ...string) string {
	return m.Name + suffix + "{" + matchers(extra...) + "}"
}

// by joins label names for a "by (...)" clause.
func by(labels ...string) string { return strings.Join(labels, ", ") }

// quantile is the q-quantile of a live latency histogram over the rate
// interval, aggregated by the given labels.
func quantile(q string, m contract.Metric, labels ...string) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (%s) (rate(%s[$__rate_interval])))",
		q, by(append([]string{"le"}, labels...)...), sel(m, "_bucket"))
}

// rate is the per-second rate of a live counter summed by labels.
func rate(m contract.Metric, labels []string, extra ...string) string {
	return fmt.Sprintf("sum by (%s) (rate(%s[$__rate_interval]))", by(labels...), sel(m, "", extra...))
}

// quantileLabels turns "0.95" into "p95" for legends.
func quantileLabel(q string) string {
	s := strings.TrimPrefix(q, "0.")
	for len(s) < 2 {
		s += "0"
	}
	return "p" + s
}

// --- queries ---

// query is a range query for a time series panel.
func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(ds).Expr(expr).LegendFormat(legend).Range()
}

// tableQuery is an instant query formatted as a table.
func tableQuery(expr, refID string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(ds).Expr(expr).Instant().
		Format(prometheus.PromQueryFormatTable).RefId(refID)
}

// heatmapQuery is the bucket increase of a histogram, shaped for a heatmap.
func heatmapQuery(m contract.Metric) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(ds).
		Expr(fmt.Sprintf("sum by (le) (increase(%s[$__rate_interval]))", sel(m, "_bucket"))).
		Format(prometheus.PromQueryFormatHeatmap).LegendFormat("{{le}}").Range()
}

// --- panel presets ---

func timeseriesPanel(title, desc, unit string, w uint32) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).
		Unit(unit).Span(w).Height(panelH).
		LineWidth(1).FillOpacity(10).ShowPoints(common.VisibilityModeNever).SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(false)}).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

// pointsPanel is a time series panel for the summary series: one sample per
// finished benchmark, drawn as points joined by lines.
func pointsPanel(title, desc, unit string, w uint32) *timeseries.PanelBuilder {
	return timeseriesPanel(title, desc, unit, w).ShowPoints(common.VisibilityModeAlways).PointSize(6).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(true)})
}

func statPanel(title, desc, unit string, w uint32) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).Unit(unit).Span(w).Height(statH).
		GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

func tablePanel(title, desc string, w, h uint32) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).Unit(units.Short).Span(w).Height(h)
}

func heatmapPanel(title, desc string, m contract.Metric, w uint32) *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).Unit(units.Short).Span(w).Height(panelH).
		Calculate(false).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit(units.Seconds)).
		Color(heatmap.NewHeatmapColorOptionsBuilder().Mode(heatmap.HeatmapColorModeScheme).Scheme("Spectral").
			Scale(heatmap.HeatmapColorScaleExponential).Exponent(0.5).Steps(64)).
		CellValues(heatmap.NewCellValuesBuilder().Unit("short")).
		WithTarget(heatmapQuery(m))
}

// thresholds colours a value green below warn and red above bad.
func thresholds(warn, bad float64) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
		{Color: "green"}, {Value: cog.ToPtr(warn), Color: "orange"}, {Value: cog.ToPtr(bad), Color: "red"},
	})
}

// --- variables ---

func datasourceVar() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")
}

// labelVar is a multi-value variable listing the values of label on source,
// filtered by the variables before it so the choices narrow down.
func labelVar(name, label string, source contract.Metric, filters ...string) cog.Builder[dashboard.VariableModel] {
	q := fmt.Sprintf("label_values(%s{%s}, %s)", source.Name, strings.Join(filters, ","), label)
	if len(filters) == 0 {
		q = fmt.Sprintf("label_values(%s, %s)", source.Name, label)
	}
	return dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).IncludeAll(true).AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
}

// coresVar lists the core counts of source's series (a series carrying
// BenchmarkLabels) and, when some have no cores label, "unknown" (value ^$,
// which coresMatch turns into a match of the empty label): the variable
// always lists what the data has, and All (.*) matches every benchmark,
// cores known or not.
func coresVar(source contract.Metric, filters ...string) cog.Builder[dashboard.VariableModel] {
	expr := fmt.Sprintf("last_over_time(%s{%s}[$__range])", source.Name, strings.Join(filters, ","))
	for _, r := range []struct{ label, replacement, regex string }{
		{"cores_value", "$1", "(.+)"}, {"cores_value", "^$$", ""}, {"cores_text", "$1", "(.+)"}, {"cores_text", "unknown", ""},
	} {
		expr = fmt.Sprintf("label_replace(%s, %q, %q, %q, %q)", expr, r.label, r.replacement, contract.LabelCores, r.regex)
	}
	q := fmt.Sprintf("query_result(count by (cores_value, cores_text) (%s))", expr)
	return dashboard.NewQueryVariableBuilder(varCores).Label(contract.LabelCores).Datasource(ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Regex(`/cores_text="(?<text>[^"]*)",\s*cores_value="(?<value>[^"]*)"/`).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortNumericalAsc).
		Multi(true).IncludeAll(true).AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
}

// runVar is a variable listing run ids. With all set it is multi-value and
// defaults to every run (panels then show the latest data of any run);
// without, it picks exactly one run (the Compare board's A and B).
func runVar(name, label string, all bool, source contract.Metric, filters ...string) cog.Builder[dashboard.VariableModel] {
	q := fmt.Sprintf("label_values(%s{%s}, run_id)", source.Name, strings.Join(filters, ","))
	v := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalDesc)
	if all {
		v.Multi(true).IncludeAll(true).AllValue(".*").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
	}
	return v
}

func eq(label, variable string) string { return label + `=~"$` + variable + `"` }

// configVars are the suite, model, workload and cores variables read from
// source (a series carrying BenchmarkLabels), each filtered by the previous.
func configVars(source contract.Metric) []cog.Builder[dashboard.VariableModel] {
	return []cog.Builder[dashboard.VariableModel]{
		datasourceVar(),
		labelVar(varSuite, contract.LabelSuite, source),
		labelVar(varModel, contract.LabelModel, source, eq(contract.LabelSuite, varSuite)),
		labelVar(varWorkload, contract.LabelWorkload, source, eq(contract.LabelSuite, varSuite), eq(contract.LabelModel, varModel)),
		coresVar(source, eq(contract.LabelSuite, varSuite), eq(contract.LabelModel, varModel), eq(contract.LabelWorkload, varWorkload)),
	}
}

// liveVars is the variable set of boards that read live series: the
// configuration from the in-flight gauge (there as soon as a level starts,
// whoever measures it), the run from servebench_run_info.
func liveVars() []cog.Builder[dashboard.VariableModel] {
	return append(configVars(contract.RequestsInFlight),
		runVar(varRun, "run", true, contract.RunInfo, eq(contract.LabelSuite, varSuite), eq(contract.LabelModel, varModel)))
}

// summaryVars is the variable set of boards that read the benchmark summary
// series: configuration and run from servebench_benchmark_info.
func summaryVars() []cog.Builder[dashboard.VariableModel] {
	return append(configVars(contract.BenchmarkInfo), summaryRunVar(varRun, "run", true))
}

func summaryRunVar(name, label string, all bool) cog.Builder[dashboard.VariableModel] {
	return runVar(name, label, all, contract.BenchmarkInfo, eq(contract.LabelSuite, varSuite), eq(contract.LabelModel, varModel),
		eq(contract.LabelWorkload, varWorkload), coresMatch)
}

// --- annotations ---

// runAnnotation marks each run of the selected suite and model as a region
// from its start to its end: Grafana merges consecutive samples of
// servebench_run_info (1 while the run is active) into one region.
func runAnnotation() cog.Builder[dashboard.AnnotationQuery] {
	expr := fmt.Sprintf(`max by (run_id, suite, model, engine) (%s{%s,%s,%s})`, contract.RunInfo.Name,
		eq(contract.LabelSuite, varSuite), eq(contract.LabelModel, varModel), eq(contract.LabelRunID, varRun))
	return dashboard.NewAnnotationQueryBuilder().Name("Runs").Datasource(ds).Enable(true).IconColor("rgba(0, 211, 255, 0.6)").
		Expr(expr).Step("15s").TitleFormat("run {{run_id}}").TextFormat("{{suite}} / {{model}} on {{engine}}").
		TagKeys("suite,model,engine").UseValueForTime(false)
}

// finishAnnotation marks each finished benchmark at its finish time: the
// value of servebench_benchmark_finished_timestamp_seconds (in ms) is the
// annotation's time, whichever steps the sample is seen in.
// runs are the run variables whose benchmarks are marked.
func finishAnnotation(runs ...string) cog.Builder[dashboard.AnnotationQuery] {
	var vs []string
	for _, r := range runs {
		vs = append(vs, "$"+r)
	}
	run := contract.LabelRunID + `=~"` + strings.Join(vs, "|") + `"`
	expr := fmt.Sprintf("last_over_time(%s[1m]) * 1000", sel(contract.BenchmarkFinished, "", run))
	return dashboard.NewAnnotationQueryBuilder().Name("Benchmarks finished").Datasource(ds).Enable(true).IconColor("green").
		Expr(expr).Step("1m").TitleFormat("run {{run_id}}").
		TextFormat("{{workload}} / {{cores}} cores / {{level}}").TagKeys("run_id,model,workload,cores").UseValueForTime(true)
}

// --- links ---

// Board UIDs; Grafana serves a board at /d/UID.
const (
	overviewUID = "servebench-overview"
	liveUID     = "servebench-live"
	engineUID   = "servebench-engine"
	hostUID     = "servebench-host"
	scalingUID  = "servebench-scaling"
	compareUID  = "servebench-compare"
	historyUID  = "servebench-history"
)

// OverviewPath is the Overview board's path on a Grafana server: links
// from elsewhere (a completion notification) append ?var-run=... to it.
const OverviewPath = "/d/" + overviewUID

const compareURL = "/d/" + compareUID

// boardsMenu links every servebench board from every other, as a dropdown
// that keeps the time range and the variables (suite, model, workload,
// cores, run share their names across boards).
func boardsMenu() cog.Builder[dashboard.DashboardLink] {
	return dashboard.NewDashboardLinkBuilder("servebench boards").Type(dashboard.DashboardLinkTypeDashboards).
		Tags([]string{"servebench"}).AsDropdown(true).IncludeVars(true).KeepTime(true)
}

// boardLink is a link to one board carrying the current variables; with
// keepTime, the time range too.
func boardLink(title, uid, tooltip string, keepTime bool) cog.Builder[dashboard.DashboardLink] {
	return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).Url("/d/" + uid).
		Tooltip(tooltip).Icon("dashboard").IncludeVars(true).KeepTime(keepTime)
}

// --- layout ---

// row is a titled group of panels; the panels of a row must tile the 24
// columns line by line (TestPanelsTile checks it).
type row struct {
	title  string
	panels []cog.Builder[dashboard.Panel]
}

func newRow(title string, panels ...cog.Builder[dashboard.Panel]) row { return row{title, panels} }

// board assembles the common parts of every servebench dashboard.
func board(uid, title, desc string, tags []string, vars []cog.Builder[dashboard.VariableModel],
	annotations []cog.Builder[dashboard.AnnotationQuery], rows ...row) *dashboard.DashboardBuilder {
	b := dashboard.NewDashboardBuilder(title).Uid(uid).Description(desc).
		Tags(append([]string{"servebench"}, tags...)).
		Timezone(common.TimeZoneBrowser).Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Editable().Refresh("30s").Time("now-1h", "now").Variables(vars).Annotations(annotations).Link(boardsMenu())
	for _, r := range rows {
		b.WithRow(dashboard.NewRowBuilder(r.title))
		for _, p := range r.panels {
			b.WithPanel(p)
		}
	}
	return b
}
