package alerts

import (
	"fmt"
	"regexp"
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
			errorScenario(rules),
			latenessScenario(rules),
			engineDownScenario(rules),
			engineDownNoRunScenario(),
			stalledScenario(rules),
			queueScenario(rules),
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

// hourly renders one sample per hourly run (interval 1m), '_' between.
func hourly(values ...string) string { return strings.Join(values, " _x59 ") }

// regressionScenario: hourly runs of three configurations. A regresses on
// its fifth run (throughput -20%, TTFT p95 +40%, ITL p95 +30%, flagged
// invalid); B stays within the thresholds, its ITL rising 25% but by only
// 2.5 ms; C halves its throughput with only two previous runs.
func regressionScenario(r map[string]Rule) TestGroup {
	a := config("nightly", "chat", "8", "constant-4")
	b := config("nightly", "chat", "16", "constant-4")
	c := config("nightly", "long", "8", "constant-4")
	p95, p50 := []string{"quantile", "0.95"}, []string{"quantile", "0.5"}
	tps, ttft, itl, valid := contract.BenchmarkOutputTokenRate.Name, contract.BenchmarkTTFT.Name, contract.BenchmarkITL.Name, contract.BenchmarkValid.Name
	none := []ExpAlert{}
	return TestGroup{
		Name:     "regression against the median of previous runs of the same configuration",
		Interval: d("1m"),
		InputSeries: []InputSeries{
			{a.series(tps), hourly("100", "102", "98", "100", "80")},
			{b.series(tps), hourly("200", "204", "196", "200", "195")},
			{c.series(tps), hourly("100", "100", "50")},
			{a.with(p95...).series(ttft), hourly("0.5", "0.52", "0.48", "0.5", "0.7")},
			{a.with(p50...).series(ttft), hourly("0.3", "0.3", "0.3", "0.3", "0.3")},
			{b.with(p95...).series(ttft), hourly("0.5", "0.52", "0.48", "0.5", "0.55")},
			{a.with(p95...).series(itl), hourly("0.05", "0.051", "0.049", "0.05", "0.065")},
			{b.with(p95...).series(itl), hourly("0.01", "0.01", "0.01", "0.01", "0.0125")},
			{a.series(valid), hourly("1", "1", "1", "1", "0")},
			{b.series(valid), hourly("1", "1", "1", "1", "1")},
		},
		AlertRuleTests: []AlertTest{
			{at("250m"), AlertThroughputRegression, []ExpAlert{expected(r[AlertThroughputRegression], a, "80%")}},
			{at("190m"), AlertThroughputRegression, none}, // fourth run in line with the first three
			{at("130m"), AlertThroughputRegression, none}, // C halved, but only two previous runs
			{at("241m"), AlertThroughputRegression, none}, // pending: for not yet elapsed
			{at("250m"), AlertTTFTRegression, []ExpAlert{expected(r[AlertTTFTRegression], a.with(p95...), "140%")}},
			{at("190m"), AlertTTFTRegression, none},
			{at("250m"), AlertITLRegression, []ExpAlert{expected(r[AlertITLRegression], a.with(p95...), "130%")}},
			{at("190m"), AlertITLRegression, none},
			{at("250m"), AlertBenchmarkFlagged, []ExpAlert{expected(r[AlertBenchmarkFlagged], a, "0")}},
			{at("190m"), AlertBenchmarkFlagged, none},
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
