package alerts

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/servebench/servebench/exporter/contract"
)

// Rule file names under deploy/prometheus/rules/.
const (
	RecordingFile = "servebench_recording.yml"
	AlertsFile    = "servebench_alerts.yml"
)

// Files returns the rule files by name.
func Files(o Options) map[string]RuleFile {
	return map[string]RuleFile{RecordingFile: Recording(o), AlertsFile: Alerting(o)}
}

// benchmarkLevel prefixes recorded series aggregated by the benchmark labels
// (level:metric:operations naming).
const benchmarkLevel = "benchmark:"

// LiveLatencies are the live histograms whose quantiles are recorded: the
// ones the Live board plots.
var LiveLatencies = []contract.Metric{contract.RequestTTFT, contract.RequestITL, contract.RequestTPOT, contract.RequestE2E}

// QuantileLabel turns "0.95" into "p95".
func QuantileLabel(q string) string {
	s := strings.TrimPrefix(q, "0.")
	for len(s) < 2 {
		s += "0"
	}
	return "p" + s
}

// RecordedQuantile names the recorded q-quantile of a live histogram.
func RecordedQuantile(m contract.Metric, q string, o Options) string {
	return fmt.Sprintf("%s%s:%s_rate%s", benchmarkLevel, m.Name, QuantileLabel(q), o.RateWindow)
}

// RecordedErrorRatio names the recorded failed / finished request ratio.
func RecordedErrorRatio(o Options) string {
	return fmt.Sprintf("%s%s:error_ratio_rate%s", benchmarkLevel, strings.TrimSuffix(contract.Requests.Name, "_total"), o.ErrorWindow)
}

// Latest, Median and Runs name the recorded latest value, baseline median and
// baseline run count of a summary series.
func Latest(m contract.Metric, o Options) string {
	return fmt.Sprintf("%s%s:latest%s", benchmarkLevel, m.Name, o.Recent)
}

func Median(m contract.Metric, o Options) string {
	return fmt.Sprintf("%s%s:median%s_offset%s", benchmarkLevel, m.Name, o.Baseline, o.Recent)
}

func Runs(m contract.Metric, o Options) string {
	return fmt.Sprintf("%s%s:runs%s_offset%s", benchmarkLevel, m.Name, o.Baseline, o.Recent)
}

// Recording is the live recording rules: p50/p95/p99 of every live latency
// histogram, p50/p99 send lateness and the error ratio, per configuration
// and level, so that alerts and long-range queries need not recompute them.
func Recording(o Options) RuleFile {
	labels := by(append([]string{"le"}, contract.BenchmarkLabels...)...)
	var rules []Rule
	quantile := func(m contract.Metric, q string) Rule {
		return Rule{Record: RecordedQuantile(m, q, o),
			Expr: fmt.Sprintf("histogram_quantile(%s, sum by (%s) (rate(%s_bucket[%s])))", q, labels, m.Name, o.RateWindow)}
	}
	for _, m := range LiveLatencies {
		for _, q := range contract.SummaryQuantiles {
			rules = append(rules, quantile(m, q))
		}
	}
	rules = append(rules, quantile(contract.SendLateness, "0.5"), quantile(contract.SendLateness, "0.99"))
	cfg := by(contract.BenchmarkLabels...)
	rules = append(rules, Rule{Record: RecordedErrorRatio(o), Expr: fmt.Sprintf(
		"sum by (%s) (rate(%s{%s=%q}[%s]))\n/\nsum by (%s) (rate(%s[%s]))",
		cfg, contract.Requests.Name, contract.LabelOutcome, contract.OutcomeError, o.ErrorWindow,
		cfg, contract.Requests.Name, o.ErrorWindow)})
	return RuleFile{Groups: []Group{{Name: "servebench-live-recording", Interval: o.LiveInterval, Rules: rules}}}
}

// Alerting is the regression group (baseline recording rules and the
// regression alerts over the summary series), the live group (alerts
// while a run is in progress) and the run-finished notification.
func Alerting(o Options) RuleFile {
	return RuleFile{Groups: []Group{
		{Name: "servebench-regression", Interval: o.RegressionInterval, Rules: regressionRules(o)},
		{Name: "servebench-live", Interval: o.LiveInterval, Rules: liveAlerts(o)},
		{Name: "servebench-runs", Interval: o.LiveInterval, Rules: []Rule{runFinished(o)}},
	}}
}

// ofRun is a query template for the value(s) of expr (a PromQL format
// string whose one %q is the run id) over the last week.
func ofRun(expr string) string {
	return "printf `" + expr + "` $labels.run_id | query"
}

// runFinished notifies once that a run ended, with its status, headline
// figures read from its summary series and a link to the Overview board
// filtered to it (over its start to its end). The alert fires for
// FinishedWindow after the run's completion is published, then resolves;
// its route in alertmanager.yml sends it once and never its resolution.
func runFinished(o Options) Rule {
	run, cfg := by(contract.RunLabels...), by(contract.BenchmarkLabels...)
	r := o.alert(AlertRunFinished, SeverityInfo, o.FinishedFor,
		fmt.Sprintf("max by (%s) (last_over_time(%s[%s]))", run, contract.RunFinished.Name, o.FinishedWindow),
		"Run {{ $labels.run_id }} ({{ $labels.suite }}, {{ $labels.model }}) finished: {{ $labels.status }}",
		"Run {{ $labels.run_id }} of suite {{ $labels.suite }} on {{ $labels.model }} ended {{ $labels.status }}: "+
			"{{ with "+ofRun(`count(max by (`+cfg+`) (last_over_time(`+contract.BenchmarkInfo.Name+`{run_id=%q}[1w])))`)+" }}{{ . | first | value }}{{ else }}no{{ end }} benchmarks, "+
			"{{ with "+ofRun(`count(max by (`+cfg+`) (last_over_time(`+contract.BenchmarkValid.Name+`{run_id=%q}[1w])) == 1)`)+" }}{{ . | first | value }}{{ else }}0{{ end }} valid."+
			"{{ with "+ofRun(`topk(1, last_over_time(`+contract.BenchmarkOutputTokenRate.Name+`{run_id=%q}[1w]))`)+" }}{{ with first . }}"+
			" Best output: {{ value . | humanize }} tokens/s at {{ label \"level\" . }} ({{ label \"workload\" . }}).{{ end }}{{ end }}"+
			"{{ with "+ofRun(`min(last_over_time(`+contract.BenchmarkTTFT.Name+`{run_id=%q,quantile="0.95"}[1w]))`)+" }}"+
			" TTFT p95 from {{ . | first | value | humanizeDuration }}{{ end }}"+
			"{{ with "+ofRun(`max(last_over_time(`+contract.BenchmarkTTFT.Name+`{run_id=%q,quantile="0.95"}[1w]))`)+" }}"+
			" to {{ . | first | value | humanizeDuration }} across levels.{{ end }}")
	from := "{{ with " + ofRun(`last_over_time(`+contract.RunStarted.Name+`{run_id=%q}[1w])`) + " }}{{ . | first | value | printf \"%.0f\" }}000{{ end }}"
	r.Annotations["dashboard"] = o.OverviewURL + "?var-suite={{ $labels.suite }}&var-run={{ $labels.run_id }}&from=" + from + "&to={{ printf \"%.0f\" $value }}000"
	return r
}

// regressed are the summary series with a baseline; the quantile series keep
// their quantile label.
var regressed = []contract.Metric{contract.BenchmarkOutputTokenRate, contract.BenchmarkTTFT, contract.BenchmarkITL}

// The summary series carry one sample per run (run_id) and configuration,
// so rules read each with last_over_time over a window and aggregate across
// runs: the latest run is the one with the largest finish time, the baseline
// is the median across the previous runs. Only valid runs count: a run
// flagged invalid (servebench_benchmark_valid 0) neither triggers a
// regression nor enters a baseline.

// runMatch joins a summary series to other series of the same run and
// configuration.
var runMatch = by(contract.SummaryLabels...)

// validRuns keeps the runs of expr (a range function over summary series
// within window, ending offset before the evaluation) that were valid.
func validRuns(expr string, window model.Duration, offset string) string {
	return fmt.Sprintf("%s\nand on (%s) (last_over_time(%s[%s]%s) == 1)", expr, runMatch, contract.BenchmarkValid.Name, window, offset)
}

// latestRun keeps, of expr over the last window, the latest run of each
// configuration.
func latestRun(expr string, window model.Duration) string {
	return fmt.Sprintf("%s\nand on (%s) topk by (%s) (1, last_over_time(%s[%s]))",
		expr, runMatch, by(contract.BenchmarkLabels...), contract.BenchmarkFinished.Name, window)
}

func regressionRules(o Options) []Rule {
	var rules []Rule
	for _, m := range regressed {
		group := contract.BenchmarkLabels
		if m.Name != contract.BenchmarkOutputTokenRate.Name {
			group = append(append([]string(nil), group...), contract.LabelQuantile)
		}
		g := by(group...)
		offset := " offset " + o.Recent.String()
		// One value per run, whoever scraped or backfilled it.
		baseline := fmt.Sprintf("max by (%s, %s) (\n%s\n)", contract.LabelRunID, g,
			indent(validRuns(fmt.Sprintf("last_over_time(%s[%s]%s)", m.Name, o.Baseline, offset), o.Baseline, offset)))
		rules = append(rules,
			// by (run_id, ...): the same benchmark scraped by two jobs, or
			// backfilled without job and instance, is one run.
			Rule{Record: Latest(m, o), Expr: fmt.Sprintf("max by (%s, %s) (\n%s\n)", contract.LabelRunID, g,
				indent(validRuns(latestRun(fmt.Sprintf("last_over_time(%s[%s])", m.Name, o.Recent), o.Recent), o.Recent, "")))},
			Rule{Record: Median(m, o), Expr: fmt.Sprintf("quantile by (%s) (0.5,\n%s\n)", g, indent(baseline))},
			Rule{Record: Runs(m, o), Expr: fmt.Sprintf("count by (%s) (\n%s\n)", g, indent(baseline))},
		)
	}
	where := "{{ $labels.model }} / {{ $labels.workload }} on {{ $labels.cores }} cores at {{ $labels.level }}"
	tp := contract.BenchmarkOutputTokenRate
	rules = append(rules, o.alert(AlertThroughputRegression, SeverityWarning, o.RegressionFor,
		fmt.Sprintf("(%s / ignoring (run_id) group_left %s) < %s\nand ignoring (run_id) %s >= %d", Latest(tp, o), Median(tp, o), num(1-o.ThroughputDrop), Runs(tp, o), o.MinRuns),
		"Throughput regression: "+where,
		fmt.Sprintf("Output tokens/s of run {{ $labels.run_id }} ({{ $labels.suite }}, {{ $labels.loadgen }}) is {{ $value | humanizePercentage }} of the median of the previous valid runs of the same configuration (alert below %s, at least %d previous valid runs in %s).",
			pct(1-o.ThroughputDrop), o.MinRuns, o.Baseline)))
	for _, l := range []struct {
		name, what, desc string
		m                contract.Metric
	}{{AlertTTFTRegression, "TTFT", "TTFT", contract.BenchmarkTTFT}, {AlertITLRegression, "Inter-token latency", "inter-token latency", contract.BenchmarkITL}} {
		q := `{quantile="0.95"}`
		latest, median, runs := Latest(l.m, o)+q, Median(l.m, o)+q, Runs(l.m, o)+q
		rules = append(rules, o.alert(l.name, SeverityWarning, o.RegressionFor,
			fmt.Sprintf("(%s / ignoring (run_id) group_left %s) > %s\nand (%s - ignoring (run_id) group_left %s) > %s\nand ignoring (run_id) %s >= %d",
				latest, median, num(1+o.LatencyRise), latest, median, num(o.LatencyMinDelta), runs, o.MinRuns),
			fmt.Sprintf("%s p95 regression: %s", l.what, where),
			fmt.Sprintf("p95 %s of run {{ $labels.run_id }} ({{ $labels.suite }}, {{ $labels.loadgen }}) is {{ $value | humanizePercentage }} of the median of the previous valid runs of the same configuration (alert above %s and %s slower, at least %d previous valid runs in %s).",
				l.desc, pct(1+o.LatencyRise), num(o.LatencyMinDelta*1000)+" ms", o.MinRuns, o.Baseline)))
	}
	rules = append(rules, o.alert(AlertBenchmarkFlagged, SeverityWarning, o.FlaggedFor,
		fmt.Sprintf("max by (%s) (\n%s\n)", runMatch, indent(latestRun(fmt.Sprintf("last_over_time(%s[%s]) == 0", contract.BenchmarkValid.Name, o.Recent), o.Recent))),
		"Benchmark flagged invalid: "+where,
		"The latest {{ $labels.suite }} benchmark of this configuration (run {{ $labels.run_id }}) was flagged invalid (client-bound, too few samples or too many errors): it is left out of regression checks and baselines; do not compare its numbers. The run's summary.json lists the invalid_reasons."))
	return rules
}

// indent indents every line of s by two spaces.
func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func liveAlerts(o Options) []Rule {
	where := "{{ $labels.model }} / {{ $labels.workload }} on {{ $labels.cores }} cores at {{ $labels.level }}"
	run := by("run_id", contract.LabelSuite, contract.LabelModel)
	activeRun := fmt.Sprintf("max by (%s) (%s == 1)", run, contract.RunInfo.Name)
	waiting := contract.VLLMRequestsWaiting.Name
	engine := by(contract.VLLMModelLabel, "instance")
	return []Rule{
		o.alert(AlertHighErrorRate, SeverityCritical, o.ErrorFor,
			fmt.Sprintf("%s > %s", RecordedErrorRatio(o), num(o.ErrorRatio)),
			"High error rate: "+where,
			fmt.Sprintf("{{ $value | humanizePercentage }} of the requests of the {{ $labels.suite }} run failed over the last %s (alert above %s).", o.ErrorWindow, pct(o.ErrorRatio))),
		o.alert(AlertClientBound, SeverityWarning, o.LatenessFor,
			fmt.Sprintf("%s > %s", RecordedQuantile(contract.SendLateness, "0.99", o), num(o.LatenessP99)),
			"Client-bound run: "+where,
			fmt.Sprintf("p99 send lateness of the {{ $labels.suite }} run ({{ $labels.loadgen }}) is {{ $value | humanizeDuration }} (alert above %s): the load generator, not the server, limits the load.", num(o.LatenessP99*1000)+" ms")),
		o.alert(AlertEngineDown, SeverityCritical, o.EngineDownFor,
			fmt.Sprintf("%s\nand on () (max(up{job=%q}) == 0)", activeRun, o.EngineJob),
			"Engine down during run {{ $labels.run_id }}",
			fmt.Sprintf("Prometheus cannot scrape the engine (job %q) while run {{ $labels.run_id }} ({{ $labels.suite }}, {{ $labels.model }}) is active.", o.EngineJob)),
		o.alert(AlertRunStalled, SeverityCritical, o.StallFor,
			fmt.Sprintf("%s\nunless on (%s, %s)\n(sum by (%s, %s) (increase(%s[%s])) > 0)", activeRun,
				contract.LabelSuite, contract.LabelModel, contract.LabelSuite, contract.LabelModel, contract.Requests.Name, o.StallWindow),
			"Run {{ $labels.run_id }} stalled",
			fmt.Sprintf("Run {{ $labels.run_id }} ({{ $labels.suite }}, {{ $labels.model }}) is active but no request finished in the last %s.", o.StallWindow)),
		o.alert(AlertQueueGrowing, SeverityInfo, o.QueueFor,
			fmt.Sprintf("max by (%s) (%s) > %s\nand max by (%s) (deriv(%s[%s])) > 0", engine, waiting, num(o.QueueWaiting), engine, waiting, o.QueueWindow),
			"Engine queue growing: {{ $labels.model_name }} on {{ $labels.instance }}",
			fmt.Sprintf("{{ $value }} requests are waiting in the engine and the queue has grown for %s: the offered load is above what the engine serves.", o.QueueFor)),
	}
}

// pct formats a ratio as a percentage for annotations.
func pct(v float64) string { return strconv.FormatFloat(math.Round(v*1e4)/1e2, 'f', -1, 64) + "%" }
