// Package alerts generates servebench's Prometheus recording and alerting
// rules from the metric contract in exporter/contract, and the promtool unit
// tests that prove every alert fires when it should and stays silent when it
// should not.
//
// Regression alerts rely on the contract's summary series: one sample per
// finished benchmark at its finish time, labelled by run (run_id) and
// configuration (suite, model, workload, cores, loadgen, level). The latest
// run of a configuration is the one with the largest
// servebench_benchmark_finished_timestamp_seconds in the last Recent; its
// baseline is the median, across runs, of the configuration's runs in the
// Baseline window before that (quantile by configuration over
// last_over_time(x[Baseline] offset Recent)), used only when MinRuns of them
// exist. Only valid runs (servebench_benchmark_valid 1) count, as latest run
// or in a baseline; a latest run flagged invalid raises BenchmarkFlagged
// instead. Runs of one configuration closer together than Recent fall out of
// each other's baseline.
//
// Everything here is a pure function of Options; output is byte for byte
// reproducible and the package is safe for concurrent use.
package alerts

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
)

// Options are the thresholds, windows and durations of the rules.
type Options struct {
	RunbookBase string // URL prefix of docs/runbooks/, ending in "/"
	EngineJob   string // Prometheus job scraping the engine's /metrics
	// OverviewURL is the Overview board on the Grafana the notifications
	// link to (dashboards.OverviewPath on its base URL).
	OverviewURL string

	LiveInterval       model.Duration // evaluation interval of the live group
	RegressionInterval model.Duration // evaluation interval of the regression group
	RateWindow         model.Duration // rate window of the recorded live quantiles
	ErrorWindow        model.Duration // rate window of the error ratio

	Baseline        model.Duration // how far back a configuration's previous runs count
	Recent          model.Duration // how long a finished run is "the latest"
	MinRuns         int            // previous runs needed before a regression can fire
	ThroughputDrop  float64        // fire when throughput < (1 - drop) x baseline
	LatencyRise     float64        // fire when p95 latency > (1 + rise) x baseline ...
	LatencyMinDelta float64        // ... and by more than this many seconds
	RegressionFor   model.Duration

	ErrorRatio  float64 // failed / finished requests
	ErrorFor    model.Duration
	LatenessP99 float64 // seconds of p99 send lateness that make a run client-bound
	LatenessFor model.Duration
	FlaggedFor  model.Duration

	EngineDownFor model.Duration
	StallWindow   model.Duration // no request finished in this long ...
	StallFor      model.Duration // ... for this long
	QueueWaiting  float64        // waiting requests above this ...
	QueueWindow   model.Duration // ... rising over this window ...
	QueueFor      model.Duration // ... for this long

	FinishedFor    model.Duration // a finished run is notified after this long ...
	FinishedWindow model.Duration // ... and its alert resolves after this long
}

// DefaultOptions are the options of the checked-in rule files.
func DefaultOptions() Options {
	return Options{
		RunbookBase:        "https://github.com/servebench/servebench/blob/main/docs/runbooks/",
		EngineJob:          "engine",
		OverviewURL:        "http://127.0.0.1:3000/d/servebench-overview",
		LiveInterval:       d("30s"),
		RegressionInterval: d("1m"),
		RateWindow:         d("1m"),
		ErrorWindow:        d("5m"),
		Baseline:           d("30d"),
		Recent:             d("1h"),
		MinRuns:            3,
		ThroughputDrop:     0.10,
		LatencyRise:        0.20,
		LatencyMinDelta:    0.005,
		RegressionFor:      d("2m"),
		ErrorRatio:         0.05,
		ErrorFor:           d("2m"),
		LatenessP99:        0.001,
		LatenessFor:        d("2m"),
		FlaggedFor:         d("1m"),
		EngineDownFor:      d("1m"),
		StallWindow:        d("10m"),
		StallFor:           d("5m"),
		QueueWaiting:       10,
		QueueWindow:        d("10m"),
		QueueFor:           d("10m"),
		FinishedFor:        d("10s"),
		FinishedWindow:     d("10m"),
	}
}

func d(s string) model.Duration {
	v, err := model.ParseDuration(s)
	if err != nil {
		panic(err) // programmer error in a literal
	}
	return v
}

// Severities, the routing key of alertmanager.yml (the run-finished
// notification has a route of its own).
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Severities lists the severities from the most to the least urgent.
var Severities = []string{SeverityCritical, SeverityWarning, SeverityInfo}

// Alert names. The regression alerts end in "Regression" (the History board
// marks them by that suffix).
const (
	AlertThroughputRegression = "ServebenchThroughputRegression"
	AlertTTFTRegression       = "ServebenchTTFTRegression"
	AlertITLRegression        = "ServebenchITLRegression"
	AlertHighErrorRate        = "ServebenchHighErrorRate"
	AlertClientBound          = "ServebenchClientBound"
	AlertBenchmarkFlagged     = "ServebenchBenchmarkFlagged"
	AlertEngineDown           = "ServebenchEngineDown"
	AlertRunStalled           = "ServebenchRunStalled"
	AlertQueueGrowing         = "ServebenchQueueGrowing"
	// AlertRunFinished is the notification that a run ended (complete,
	// interrupted or failed); Alertmanager sends it once.
	AlertRunFinished = "ServebenchRunFinished"
)

// Runbooks maps each alert to its runbook, a file in docs/runbooks/.
var Runbooks = map[string]string{
	AlertThroughputRegression: "throughput-regression.md",
	AlertTTFTRegression:       "latency-regression.md",
	AlertITLRegression:        "latency-regression.md",
	AlertHighErrorRate:        "high-error-rate.md",
	AlertClientBound:          "client-bound.md",
	AlertBenchmarkFlagged:     "benchmark-flagged.md",
	AlertEngineDown:           "engine-down.md",
	AlertRunStalled:           "run-stalled.md",
	AlertQueueGrowing:         "queue-growing.md",
	AlertRunFinished:          "run-finished.md",
}

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []Group `yaml:"groups"`
}

// Group is a rule group.
type Group struct {
	Name     string         `yaml:"name"`
	Interval model.Duration `yaml:"interval,omitempty"`
	Rules    []Rule         `yaml:"rules"`
}

// Rule is a recording rule (Record set) or an alerting rule (Alert set).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         model.Duration    `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Alerts lists the alerting rules of f.
func (f RuleFile) Alerts() []Rule {
	var out []Rule
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// alert builds an alerting rule with the annotations every servebench alert
// carries.
func (o Options) alert(name, severity string, forDur model.Duration, expr, summary, description string) Rule {
	return Rule{
		Alert:  name,
		Expr:   expr,
		For:    forDur,
		Labels: map[string]string{"severity": severity},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": o.RunbookBase + Runbooks[name],
		},
	}
}

// by joins labels for a by (...) clause.
func by(labels ...string) string { return strings.Join(labels, ", ") }

// num formats a threshold the way PromQL reads it.
func num(v float64) string { return fmt.Sprintf("%g", v) }
