package recorder

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// BenchmarkSummary is the headline of one finished benchmark, as the runner
// computed it for summary.json. Latencies are in seconds. A figure that does
// not exist is NaN (a rate with no completion) or, for a distribution, a
// zero Count: it gets no series.
type BenchmarkSummary struct {
	RunID    string
	Labels   measure.BenchmarkLabels
	Finished time.Time // becomes the sample timestamp

	TargetRate            float64
	TargetUnit            contract.TargetUnit // "" when the profile is unknown (an imported file)
	AchievedRate          float64
	RequestsPerSecond     float64
	OutputTokensPerSecond float64
	TotalTokensPerSecond  float64
	DurationSeconds       float64
	SuccessRatio          float64
	Valid                 bool

	TTFT, ITL, TPOT, E2E Quantiles
}

// Quantiles describe one latency distribution of a finished benchmark, in
// seconds: its p50, p95 and p99, its mean and its sample count (requests, or
// gaps for ITL). They become one summary whose _count is Count and whose
// _sum is Mean × Count; a quantile that is NaN (withheld) is left out, and a
// distribution without samples (Count 0) has no series at all.
type Quantiles struct {
	P50, P95, P99 float64
	Mean          float64
	Count         uint64
}

func (q Quantiles) values() [3]float64 { return [3]float64{q.P50, q.P95, q.P99} }

// Summaries is a prometheus.Collector exposing the contract's
// servebench_benchmark_* series for finished benchmarks, each sample stamped
// with the benchmark's finish time and labelled with its run and
// configuration: gauges for the headline figures, one summary (quantiles,
// _sum, _count) per latency distribution, which passes `promtool check
// metrics` where quantile-labelled gauges would not. It keeps the latest
// benchmark per configuration, so what it exposes is bounded by the number
// of configurations, not of runs; the database keeps the history. Safe for
// concurrent use.
type Summaries struct {
	mu        sync.Mutex
	latest    map[measure.BenchmarkLabels]BenchmarkSummary
	runs      []RunCompletion // finished runs, oldest first
	descs     map[string]*prometheus.Desc
	quantiles [3]float64 // contract.SummaryQuantiles as numbers, in Quantiles.values order
}

// NewSummaries returns an empty summary publisher; register it on a registry.
func NewSummaries() *Summaries {
	s := &Summaries{latest: map[measure.BenchmarkLabels]BenchmarkSummary{}, descs: map[string]*prometheus.Desc{}}
	for _, m := range append(contract.Summary(), contract.RunCompletion()...) {
		s.descs[m.Name] = prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
	}
	if len(contract.SummaryQuantiles) != len(s.quantiles) {
		panic(fmt.Sprintf("recorder: contract has %d summary quantiles, Quantiles carries %d", len(contract.SummaryQuantiles), len(s.quantiles)))
	}
	for i, q := range contract.SummaryQuantiles {
		v, err := strconv.ParseFloat(q, 64)
		if err != nil {
			panic(fmt.Sprintf("recorder: contract summary quantile %q: %v", q, err))
		}
		s.quantiles[i] = v
	}
	return s
}

// RunCompletion is how and when a run ended: the labels and values of the
// contract's run completion series.
type RunCompletion struct {
	RunID, Suite string
	Models       []string // the run's models, in order; the model label joins them with commas
	Status       contract.RunStatus
	Started      time.Time
	Finished     time.Time // becomes the sample timestamp
}

// maxRuns bounds the finished runs a Summaries keeps exposing (a process
// runs one, runner start --repeat a few).
const maxRuns = 16

// PublishRun exposes a finished run's completion series from the next
// scrape on.
func (s *Summaries) PublishRun(r RunCompletion) error {
	switch {
	case r.RunID == "":
		return errors.New("run completion: run_id is empty")
	case r.Started.IsZero() || r.Finished.Before(r.Started):
		return fmt.Errorf("run completion: run %s started %s, finished %s", r.RunID, r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339))
	case !slices.Contains(contract.RunStatuses, r.Status):
		return fmt.Errorf("run completion: status %q: want one of %v", r.Status, contract.RunStatuses)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, r)
	if len(s.runs) > maxRuns {
		s.runs = s.runs[len(s.runs)-maxRuns:]
	}
	return nil
}

// Publish exposes a finished benchmark from the next scrape on, replacing
// the previous benchmark of the same configuration.
func (s *Summaries) Publish(b BenchmarkSummary) error {
	if b.RunID == "" {
		return errors.New("benchmark summary: run_id is empty")
	}
	if b.Finished.IsZero() {
		return errors.New("benchmark summary: finished time is zero")
	}
	if b.Labels.Level == "" {
		return errors.New("benchmark summary: level label is empty")
	}
	for _, d := range []struct {
		name string
		q    Quantiles
	}{{"ttft", b.TTFT}, {"itl", b.ITL}, {"tpot", b.TPOT}, {"e2e", b.E2E}} {
		// The mean becomes the summary's _sum; a quantile that is not a
		// number is left out of the exposition instead.
		if d.q.Count > 0 && (math.IsNaN(d.q.Mean) || math.IsInf(d.q.Mean, 0)) {
			return fmt.Errorf("benchmark summary: %s mean is %v over %d samples", d.name, d.q.Mean, d.q.Count)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.latest[b.Labels]; ok && prev.Finished.After(b.Finished) {
		return fmt.Errorf("benchmark summary: run %s finished at %s, before the published run %s of the same configuration",
			b.RunID, b.Finished.Format(time.RFC3339), prev.RunID)
	}
	s.latest[b.Labels] = b
	return nil
}

// Describe implements prometheus.Collector.
func (s *Summaries) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Summaries) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		v := []string{r.RunID, r.Suite, strings.Join(r.Models, ","), string(r.Status)}
		for _, m := range []struct {
			m contract.Metric
			t time.Time
		}{{contract.RunStarted, r.Started}, {contract.RunFinished, r.Finished}} {
			ch <- prometheus.NewMetricWithTimestamp(r.Finished, prometheus.MustNewConstMetric(s.descs[m.m.Name],
				prometheus.GaugeValue, float64(m.t.UnixMilli())/1000, v...))
		}
	}
	for _, b := range s.latest {
		v := append([]string{b.RunID}, b.Labels.Values()...)
		emit := func(m contract.Metric, value float64, extra ...string) {
			if math.IsNaN(value) || math.IsInf(value, 0) {
				return
			}
			ch <- prometheus.NewMetricWithTimestamp(b.Finished,
				prometheus.MustNewConstMetric(s.descs[m.Name], prometheus.GaugeValue, value, append(v[:len(v):len(v)], extra...)...))
		}
		summary := func(m contract.Metric, d Quantiles) {
			if d.Count == 0 {
				return // no samples: the distribution does not exist
			}
			qs := make(map[float64]float64, len(s.quantiles))
			for i, q := range d.values() {
				if !math.IsNaN(q) && !math.IsInf(q, 0) {
					qs[s.quantiles[i]] = q
				}
			}
			ch <- prometheus.NewMetricWithTimestamp(b.Finished,
				prometheus.MustNewConstSummary(s.descs[m.Name], d.Count, d.Mean*float64(d.Count), qs, v...))
		}
		emit(contract.BenchmarkInfo, 1)
		emit(contract.BenchmarkFinished, float64(b.Finished.UnixMilli())/1000)
		emit(contract.BenchmarkTargetRate, b.TargetRate, string(b.TargetUnit))
		emit(contract.BenchmarkAchievedRate, b.AchievedRate)
		emit(contract.BenchmarkRequestRate, b.RequestsPerSecond)
		emit(contract.BenchmarkOutputTokenRate, b.OutputTokensPerSecond)
		emit(contract.BenchmarkTotalTokenRate, b.TotalTokensPerSecond)
		if cores, err := strconv.ParseFloat(b.Labels.Cores, 64); err == nil && cores > 0 {
			emit(contract.BenchmarkOutputTokenRatePerCore, b.OutputTokensPerSecond/cores)
		}
		for _, d := range []struct {
			m contract.Metric
			q Quantiles
		}{{contract.BenchmarkTTFT, b.TTFT}, {contract.BenchmarkITL, b.ITL}, {contract.BenchmarkTPOT, b.TPOT}, {contract.BenchmarkE2E, b.E2E}} {
			summary(d.m, d.q)
		}
		emit(contract.BenchmarkSuccessRatio, b.SuccessRatio)
		valid := 0.0
		if b.Valid {
			valid = 1
		}
		emit(contract.BenchmarkValid, valid)
		emit(contract.BenchmarkDuration, b.DurationSeconds)
	}
}
