package alerts

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/servebench/servebench/exporter/contract"
)

// TestFile is a promtool rule unit test file (promtool test rules).
type TestFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	Tests              []TestGroup    `yaml:"tests"`
}

// TestGroup is one scenario: input series and the expected alerts.
type TestGroup struct {
	Name           string         `yaml:"name"`
	Interval       model.Duration `yaml:"interval"`
	InputSeries    []InputSeries  `yaml:"input_series"`
	AlertRuleTests []AlertTest    `yaml:"alert_rule_test"`
}

// InputSeries is a series in promtool's expanding notation.
type InputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// AlertTest expects exactly ExpAlerts of Alertname at EvalTime; an empty
// list asserts the alert is not firing.
type AlertTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []ExpAlert     `yaml:"exp_alerts"`
}

// ExpAlert is one expected firing alert.
type ExpAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// YAML renders the test file.
func (f TestFile) YAML() ([]byte, error) { return marshal(f) }

// TestsFile is the name of the unit test file under deploy/prometheus/tests/.
const TestsFile = "servebench_rules_test.yml"

// UnitTests are the promtool scenarios for the rules of DefaultOptions: every
// alert fires once where it should and stays silent in a look-alike case
// (another configuration, a guard not met, too early for its for).
// ruleDir is the rule files' directory relative to the test file.
func UnitTests(ruleDir string) TestFile {
	o := DefaultOptions()
	rules := map[string]Rule{}
	for _, r := range Alerting(o).Alerts() {
		rules[r.Alert] = r
	}
	return TestFile{
		RuleFiles:          []string{ruleDir + "/" + RecordingFile, ruleDir + "/" + AlertsFile},
		EvaluationInterval: d("30s"),
		Tests: []TestGroup{
			regressionScenario(rules),
			invalidBaselineScenario(rules),
			errorScenario(rules),
			latenessScenario(rules),
			engineDownScenario(rules),
			engineDownNoRunScenario(),
			stalledScenario(rules),
			queueScenario(rules),
			runFinishedScenario(rules),
		},
	}
}

// labelSet is a Prometheus label set for test data.
type labelSet map[string]string

func (l labelSet) with(kv ...string) labelSet {
	out := labelSet{}
	for k, v := range l {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func (l labelSet) without(keys ...string) labelSet {
	out := l.with()
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// series renders name{labels} with sorted labels.
func (l labelSet) series(name string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, l[k])
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// config is a benchmark configuration's labels.
func config(suite, workload, cores, level string) labelSet {
	return labelSet{contract.LabelSuite: suite, contract.LabelModel: "qwen-0.5b", contract.LabelWorkload: workload,
		contract.LabelCores: cores, contract.LabelLoadgen: "native", contract.LabelLevel: level}
}

var templateRef = regexp.MustCompile(`\{\{ \$labels\.([a-z_]+) \}\}|\{\{ \$value[^}]*\}\}`)

// expected is the alert r firing with the given labels, its annotations
// expanded the way Prometheus renders them; value is $value as its template
// function prints it (e.g. "80%").
func expected(r Rule, labels labelSet, value string) ExpAlert {
	ann := map[string]string{}
	for k, v := range r.Annotations {
		ann[k] = templateRef.ReplaceAllStringFunc(v, func(m string) string {
			if sub := templateRef.FindStringSubmatch(m); sub[1] != "" {
				return labels[sub[1]]
			}
			return value
		})
	}
	return ExpAlert{ExpLabels: labels.with("severity", r.Labels["severity"]), ExpAnnotations: ann}
}

func at(s string) model.Duration { return d(s) }

// figure is one summary series of a run: a contract series, extra labels
// (a quantile), its value.
type figure struct {
	m     contract.Metric
	extra []string
	value string
}

func tps(v string) figure { return figure{contract.BenchmarkOutputTokenRate, nil, v} }
func ttft(v string) figure {
	return figure{contract.BenchmarkTTFT, []string{contract.LabelQuantile, "0.95"}, v}
}
func itl(v string) figure {
	return figure{contract.BenchmarkITL, []string{contract.LabelQuantile, "0.95"}, v}
}

// history is the finished benchmarks of one configuration, one an hour:
// run k finishes at minute 60k with figures[k], valid unless listed in
// invalid. Each run's series carry its run_id and have one sample, as the
// runner publishes them, with its finish time and validity.
func history(cfg labelSet, name string, invalid []int, figures ...[]figure) []InputSeries {
	var out []InputSeries
	for k, fs := range figures {
		at := 60 * k
		values := func(v string) string {
			if at == 0 {
				return v
			}
			return fmt.Sprintf("_x%d %s", at, v)
		}
		r := cfg.with(contract.LabelRunID, fmt.Sprintf("%s-%d", name, k))
		valid := "1"
		if slices.Contains(invalid, k) {
			valid = "0"
		}
		out = append(out,
			InputSeries{r.series(contract.BenchmarkFinished.Name), values(fmt.Sprint(at * 60))},
			InputSeries{r.series(contract.BenchmarkValid.Name), values(valid)})
		for _, f := range fs {
			out = append(out, InputSeries{r.with(f.extra...).series(f.m.Name), values(f.value)})
		}
	}
	return out
}

// runOf is the labels of run k of a history.
func runOf(cfg labelSet, name string, k int) labelSet {
	return cfg.with(contract.LabelRunID, fmt.Sprintf("%s-%d", name, k))
}

// regressionScenario: hourly runs of four configurations. A regresses on
// its fifth run (throughput -20%, TTFT p95 +40%, ITL p95 +30%); B stays
// within the thresholds, its ITL rising 25% but by only 2.5 ms; C halves
// its throughput with only two previous runs; D's fifth run is as slow as
// A's but flagged invalid: no regression, only the flag.
func regressionScenario(r map[string]Rule) TestGroup {
	a := config("nightly", "chat", "8", "constant-4")
	b := config("nightly", "chat", "16", "constant-4")
	c := config("nightly", "long", "8", "constant-4")
	fl := config("nightly", "chat", "32", "constant-4")
	p95 := []string{"quantile", "0.95"}
	none := []ExpAlert{}
	run := func(t, tt, it string) []figure { return []figure{tps(t), ttft(tt), itl(it)} }
	var in []InputSeries
	in = append(in, history(a, "a", nil, run("100", "0.5", "0.05"), run("102", "0.52", "0.051"), run("98", "0.48", "0.049"),
		run("100", "0.5", "0.05"), run("80", "0.7", "0.065"))...)
	in = append(in, history(b, "b", nil, run("200", "0.5", "0.01"), run("204", "0.52", "0.01"), run("196", "0.48", "0.01"),
		run("200", "0.5", "0.01"), run("195", "0.55", "0.0125"))...)
	in = append(in, history(c, "c", nil, []figure{tps("100")}, []figure{tps("100")}, []figure{tps("50")})...)
	in = append(in, history(fl, "d", []int{4}, run("100", "0.5", "0.05"), run("102", "0.52", "0.051"), run("98", "0.48", "0.049"),
		run("100", "0.5", "0.05"), run("80", "0.7", "0.065"))...)
	a4, d4 := runOf(a, "a", 4), runOf(fl, "d", 4)
	return TestGroup{
		Name:        "regression against the median of previous valid runs of the same configuration",
		Interval:    d("1m"),
		InputSeries: in,
		AlertRuleTests: []AlertTest{
			{at("250m"), AlertThroughputRegression, []ExpAlert{expected(r[AlertThroughputRegression], a4, "80%")}},
			{at("190m"), AlertThroughputRegression, none}, // fourth run in line with the first three
			{at("130m"), AlertThroughputRegression, none}, // C halved, but only two previous runs
			{at("241m"), AlertThroughputRegression, none}, // pending: for not yet elapsed
			{at("250m"), AlertTTFTRegression, []ExpAlert{expected(r[AlertTTFTRegression], a4.with(p95...), "140%")}},
			{at("190m"), AlertTTFTRegression, none},
			{at("250m"), AlertITLRegression, []ExpAlert{expected(r[AlertITLRegression], a4.with(p95...), "130%")}},
			{at("190m"), AlertITLRegression, none},
			{at("250m"), AlertBenchmarkFlagged, []ExpAlert{expected(r[AlertBenchmarkFlagged], d4, "0")}},
			{at("190m"), AlertBenchmarkFlagged, none},
		},
	}
}

// invalidBaselineScenario: E has three valid runs at 100 tokens/s and four
// runs flagged invalid at 10 (a noisy host); its eighth run, valid, makes
// 85. Counted in the baseline, the invalid runs would make the median 10
// and 85 a rise; left out, the median is 100 and 85 a regression. F's
// baseline is only invalid runs: no median, no alert however slow.
func invalidBaselineScenario(r map[string]Rule) TestGroup {
	e := config("nightly", "chat", "4", "constant-2")
	f := config("nightly", "chat", "2", "constant-2")
	one := func(v string) []figure { return []figure{tps(v)} }
	var in []InputSeries
	in = append(in, history(e, "e", []int{3, 4, 5, 6}, one("100"), one("100"), one("100"), one("10"), one("10"), one("10"), one("10"), one("85"))...)
	in = append(in, history(f, "f", []int{0, 1, 2, 3}, one("100"), one("100"), one("100"), one("100"), one("20"))...)
	return TestGroup{
		Name:        "invalid runs stay out of the baseline",
		Interval:    d("1m"),
		InputSeries: in,
		AlertRuleTests: []AlertTest{
			{at("430m"), AlertThroughputRegression, []ExpAlert{expected(r[AlertThroughputRegression], runOf(e, "e", 7), "85%")}},
			{at("250m"), AlertThroughputRegression, []ExpAlert{}},
		},
	}
}

// errorScenario: A fails 10% of its requests, B none.
func errorScenario(r map[string]Rule) TestGroup {
	a := config("smoke", "chat", "8", "constant-4")
	b := config("smoke", "chat", "16", "constant-4")
	name := contract.Requests.Name
	out := func(l labelSet, o contract.Outcome) string {
		return l.with(contract.LabelOutcome, string(o)).series(name)
	}
	return TestGroup{
		Name:     "error rate",
		Interval: d("15s"),
		InputSeries: []InputSeries{
			{out(a, contract.OutcomeSuccess), "0+9x60"},
			{out(a, contract.OutcomeError), "0+1x60"},
			{out(b, contract.OutcomeSuccess), "0+10x60"},
			{out(b, contract.OutcomeError), "0+0x60"},
		},
		AlertRuleTests: []AlertTest{
			{at("10m"), AlertHighErrorRate, []ExpAlert{expected(r[AlertHighErrorRate], a, "10%")}},
			{at("1m"), AlertHighErrorRate, []ExpAlert{}},
		},
	}
}

// latenessScenario: A sends most requests 1-10 ms late, B within 0.1 ms.
func latenessScenario(r map[string]Rule) TestGroup {
	a := config("smoke", "chat", "8", "constant-32")
	b := config("smoke", "chat", "16", "constant-32")
	name := contract.SendLateness.Name + "_bucket"
	bucket := func(l labelSet, le, values string) InputSeries {
		return InputSeries{l.with("le", le).series(name), values}
	}
	return TestGroup{
		Name:     "client-bound: send lateness",
		Interval: d("15s"),
		InputSeries: []InputSeries{
			bucket(a, "0.0001", "0+1x60"), bucket(a, "0.001", "0+2x60"), bucket(a, "0.01", "0+10x60"), bucket(a, "+Inf", "0+10x60"),
			bucket(b, "0.0001", "0+10x60"), bucket(b, "0.001", "0+10x60"), bucket(b, "0.01", "0+10x60"), bucket(b, "+Inf", "0+10x60"),
		},
		AlertRuleTests: []AlertTest{
			{at("10m"), AlertClientBound, []ExpAlert{expected(r[AlertClientBound], a, "9.888ms")}},
			{at("1m"), AlertClientBound, []ExpAlert{}},
		},
	}
}

func runInfo(runID, suite string) labelSet {
	return labelSet{"run_id": runID, contract.LabelSuite: suite, contract.LabelModel: "qwen-0.5b", "engine": "docker",
		"image": "vllm-cpu:v0.11", "cpuset": "0-7", contract.LabelLoadgen: "native"}
}

// engineDownScenario: the engine stops answering scrapes two minutes into run r1.
func engineDownScenario(r map[string]Rule) TestGroup {
	run := runInfo("r1", "smoke")
	up := labelSet{"job": DefaultOptions().EngineJob, "instance": "127.0.0.1:8000"}
	return TestGroup{
		Name:     "engine down during a run",
		Interval: d("15s"),
		InputSeries: []InputSeries{
			{run.series(contract.RunInfo.Name), "1x40"},
			{up.series("up"), "1x8 0x32"},
		},
		AlertRuleTests: []AlertTest{
			{at("5m"), AlertEngineDown, []ExpAlert{expected(r[AlertEngineDown], run.without("engine", "image", "cpuset", contract.LabelLoadgen), "0")}},
			{at("1m"), AlertEngineDown, []ExpAlert{}},
		},
	}
}

// engineDownNoRunScenario: an engine that is down while no run is active is
// not servebench's business.
func engineDownNoRunScenario() TestGroup {
	up := labelSet{"job": DefaultOptions().EngineJob, "instance": "127.0.0.1:8000"}
	return TestGroup{
		Name:        "engine down outside a run",
		Interval:    d("15s"),
		InputSeries: []InputSeries{{up.series("up"), "0x40"}},
		AlertRuleTests: []AlertTest{
			{at("5m"), AlertEngineDown, []ExpAlert{}},
		},
	}
}

// stalledScenario: run r2 finishes requests for five minutes, then none.
// Run r3 keeps finishing requests.
func stalledScenario(r map[string]Rule) TestGroup {
	stalled, fine := runInfo("r2", "stall"), runInfo("r3", "steady")
	req := func(suite, values string) InputSeries {
		return InputSeries{config(suite, "chat", "8", "constant-4").with(contract.LabelOutcome, string(contract.OutcomeSuccess)).series(contract.Requests.Name), values}
	}
	return TestGroup{
		Name:     "run stalled",
		Interval: d("15s"),
		InputSeries: []InputSeries{
			{stalled.series(contract.RunInfo.Name), "1x160"},
			{fine.series(contract.RunInfo.Name), "1x160"},
			req("stall", "0+5x20 100x140"),
			req("steady", "0+5x160"),
		},
		AlertRuleTests: []AlertTest{
			{at("30m"), AlertRunStalled, []ExpAlert{expected(r[AlertRunStalled], stalled.without("engine", "image", "cpuset", contract.LabelLoadgen), "1")}},
			{at("12m"), AlertRunStalled, []ExpAlert{}},
		},
	}
}

// queueScenario: one engine's waiting queue grows by one request every 15 s;
// another's holds at 50.
func queueScenario(r map[string]Rule) TestGroup {
	growing := labelSet{contract.VLLMModelLabel: "qwen-0.5b", "engine": "0", "instance": "127.0.0.1:8000", "job": "engine"}
	steady := growing.with("instance", "127.0.0.1:8001")
	return TestGroup{
		Name:     "engine queue growing",
		Interval: d("15s"),
		InputSeries: []InputSeries{
			{growing.series(contract.VLLMRequestsWaiting.Name), "0+1x120"},
			{steady.series(contract.VLLMRequestsWaiting.Name), "50x120"},
		},
		AlertRuleTests: []AlertTest{
			{at("20m"), AlertQueueGrowing, []ExpAlert{expected(r[AlertQueueGrowing], growing.without("engine", "job"), "80")}},
			{at("5m"), AlertQueueGrowing, []ExpAlert{}},
		},
	}
}

// runFinishedScenario: run r7 (two benchmarks, one valid) finishes at minute
// 5, having started at minute 1. The notification fires once the for has
// passed, with the run's headline figures and a link to its time range, and
// resolves FinishedWindow later.
func runFinishedScenario(r map[string]Rule) TestGroup {
	run := labelSet{contract.LabelRunID: "r7", contract.LabelSuite: "nightly", contract.LabelModel: "qwen-0.5b", contract.LabelStatus: string(contract.RunComplete)}
	at5 := func(v string) string { return "_x5 " + v }
	var in []InputSeries
	for _, b := range []struct{ level, valid, tps, ttft string }{{"concurrent-1", "1", "50", "0.2"}, {"concurrent-8", "0", "120", "0.9"}} {
		l := config("nightly", "chat", "8", b.level).with(contract.LabelRunID, "r7")
		in = append(in,
			InputSeries{l.series(contract.BenchmarkInfo.Name), "_x4 1"},
			InputSeries{l.series(contract.BenchmarkValid.Name), "_x4 " + b.valid},
			InputSeries{l.series(contract.BenchmarkOutputTokenRate.Name), "_x4 " + b.tps},
			InputSeries{l.with(contract.LabelQuantile, "0.95").series(contract.BenchmarkTTFT.Name), "_x4 " + b.ttft})
	}
	in = append(in,
		InputSeries{run.series(contract.RunStarted.Name), at5("60")},
		InputSeries{run.series(contract.RunFinished.Name), at5("300")})
	rule := r[AlertRunFinished]
	want := ExpAlert{ExpLabels: run.with("severity", rule.Labels["severity"]), ExpAnnotations: map[string]string{
		"summary": "Run r7 (nightly, qwen-0.5b) finished: complete",
		"description": "Run r7 of suite nightly on qwen-0.5b ended complete: 2 benchmarks, 1 valid. " +
			"Best output: 120 tokens/s at concurrent-8 (chat). TTFT p95 from 200ms to 900ms across levels.",
		"dashboard":   DefaultOptions().OverviewURL + "?var-suite=nightly&var-run=r7&from=60000&to=300000",
		"runbook_url": rule.Annotations["runbook_url"],
	}}
	return TestGroup{
		Name:        "a finished run is notified",
		Interval:    d("1m"),
		InputSeries: in,
		AlertRuleTests: []AlertTest{
			{at("6m"), AlertRunFinished, []ExpAlert{want}},
			{at("4m"), AlertRunFinished, []ExpAlert{}},  // not finished yet
			{at("16m"), AlertRunFinished, []ExpAlert{}}, // the notification window has passed
		},
	}
}
