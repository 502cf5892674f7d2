package recorder

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// BenchmarkSummary is the headline of one finished benchmark, as the runner
// computed it for summary.json. Latencies are in seconds.
type BenchmarkSummary struct {
	RunID    string
	Labels   measure.BenchmarkLabels
	Finished time.Time // becomes the sample timestamp

	TargetRate            float64
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
// _sum is Mean × Count.
type Quantiles struct {
	P50, P95, P99 float64
	Mean          float64
	Count         uint64
}

func (q Quantiles) values() [3]float64 { return [3]float64{q.P50, q.P95, q.P99} }

// Summaries is a prometheus.Collector exposing the contract's
// servebench_benchmark_* series for finished benchmarks, each sample stamped
// with the benchmark's finish time: gauges for the headline figures, one
// summary (quantiles, _sum, _count) per latency distribution, which passes
// `promtool check metrics` where quantile-labelled gauges would not. It
// keeps the latest benchmark per
// configuration (label set), so the series count is bounded by the number
// of configurations, not of runs; Prometheus keeps the history. Safe for
// concurrent use.
type Summaries struct {
	mu        sync.Mutex
	latest    map[measure.BenchmarkLabels]BenchmarkSummary
	descs     map[string]*prometheus.Desc
	quantiles [3]float64 // contract.SummaryQuantiles as numbers, in Quantiles.values order
}

// NewSummaries returns an empty summary publisher; register it on a registry.
func NewSummaries() *Summaries {
	s := &Summaries{latest: map[measure.BenchmarkLabels]BenchmarkSummary{}, descs: map[string]*prometheus.Desc{}}
	for _, m := range contract.Summary() {
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
		if math.IsNaN(d.q.Mean) || math.IsInf(d.q.Mean, 0) {
			return fmt.Errorf("benchmark summary: %s mean is %v", d.name, d.q.Mean)
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
	for _, b := range s.latest {
		v := b.Labels.Values()
		emit := func(m contract.Metric, value float64, extra ...string) {
			if math.IsNaN(value) || math.IsInf(value, 0) {
				return
			}
			lv := append(append([]string(nil), extra...), v...)
			ch <- prometheus.NewMetricWithTimestamp(b.Finished,
				prometheus.MustNewConstMetric(s.descs[m.Name], prometheus.GaugeValue, value, lv...))
		}
		summary := func(m contract.Metric, d Quantiles) {
			qs := make(map[float64]float64, len(s.quantiles))
			for i, q := range d.values() {
				if !math.IsNaN(q) && !math.IsInf(q, 0) {
					qs[s.quantiles[i]] = q
				}
			}
			ch <- prometheus.NewMetricWithTimestamp(b.Finished,
				prometheus.MustNewConstSummary(s.descs[m.Name], d.Count, d.Mean*float64(d.Count), qs, v...))
		}
		emit(contract.BenchmarkInfo, 1, b.RunID)
		emit(contract.BenchmarkTargetRate, b.TargetRate)
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
