// Package recorder publishes what the load generator measures, request by
// request, as the contract's Prometheus series on an injected Registerer.
//
// A Recorder implements measure.Recorder. Benchmark resolves every labelled
// child series once; the returned BenchmarkRecorder's methods then only touch
// those children, never fail and are safe for concurrent use. TTFT is
// observed when a request's first token arrives (FirstToken), so a queue
// shows while its requests still run; the other latency histograms (ITL,
// TPOT, E2E) take successful requests when they finish, as the summary files
// do. The summary's TTFT is of successful requests only, so a request that
// fails after its first token is in the live TTFT and not in the summary's.
// Send lateness takes every request that was sent; the counters take every
// request. The in-flight gauges move at the send, the first token and the
// end. RunInfo series are set and cleared by
// StartRun and EndRun; finished benchmarks' headline figures go through
// Summaries (summary.go).
package recorder

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// Options tune a Recorder. The zero value is classic buckets only.
type Options struct {
	// NativeHistograms adds exponential (native) buckets, factor 1.1, to
	// every latency histogram. Classic `le` buckets stay in every
	// exposition; native buckets are only seen by protobuf scrapers.
	NativeHistograms bool
}

// Recorder holds the per-request series of every benchmark of a process.
type Recorder struct {
	ttft, itl, tpot, e2e, lateness *prometheus.HistogramVec
	requests, errors               *prometheus.CounterVec
	outputTokens, promptTokens     *prometheus.CounterVec
	inFlight, awaiting, targetRate *prometheus.GaugeVec
	runInfo                        *prometheus.GaugeVec
}

// New registers the contract's per-request series on reg.
func New(reg prometheus.Registerer, opts Options) (*Recorder, error) {
	r := &Recorder{
		ttft:         histogramVec(contract.RequestTTFT, opts),
		itl:          histogramVec(contract.RequestITL, opts),
		tpot:         histogramVec(contract.RequestTPOT, opts),
		e2e:          histogramVec(contract.RequestE2E, opts),
		lateness:     histogramVec(contract.SendLateness, opts),
		requests:     counterVec(contract.Requests),
		errors:       counterVec(contract.RequestErrors),
		outputTokens: counterVec(contract.OutputTokens),
		promptTokens: counterVec(contract.PromptTokens),
		inFlight:     gaugeVec(contract.RequestsInFlight),
		awaiting:     gaugeVec(contract.RequestsAwaitingFirstToken),
		targetRate:   gaugeVec(contract.TargetRate),
		runInfo:      gaugeVec(contract.RunInfo),
	}
	for _, c := range []prometheus.Collector{r.ttft, r.itl, r.tpot, r.e2e, r.lateness, r.requests, r.errors,
		r.outputTokens, r.promptTokens, r.inFlight, r.awaiting, r.targetRate, r.runInfo} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register recorder series: %w", err)
		}
	}
	return r, nil
}

func histogramVec(m contract.Metric, opts Options) *prometheus.HistogramVec {
	ho := prometheus.HistogramOpts{Name: m.Name, Help: m.Help, Buckets: m.Buckets}
	if opts.NativeHistograms {
		ho.NativeHistogramBucketFactor = 1.1
		ho.NativeHistogramMaxBucketNumber = 160
		ho.NativeHistogramMinResetDuration = time.Hour
	}
	return prometheus.NewHistogramVec(ho, m.Labels)
}

func counterVec(m contract.Metric) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Name, Help: m.Help}, m.Labels)
}

func gaugeVec(m contract.Metric) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: m.Name, Help: m.Help}, m.Labels)
}

// RunInfo is the provenance of an active run, the labels of servebench_run_info.
type RunInfo struct {
	RunID, Suite, Model, Engine, Image, CPUSet, Loadgen string
}

func (i RunInfo) values() []string {
	return []string{i.RunID, i.Suite, i.Model, i.Engine, i.Image, i.CPUSet, i.Loadgen}
}

// StartRun sets servebench_run_info to 1 for the run.
func (r *Recorder) StartRun(info RunInfo) { r.runInfo.WithLabelValues(info.values()...).Set(1) }

// EndRun removes the run's servebench_run_info series.
func (r *Recorder) EndRun(info RunInfo) { r.runInfo.DeleteLabelValues(info.values()...) }

// Benchmark resolves one benchmark's series. Counters for every outcome and
// error kind start at zero, so rate() and absent() behave from the first
// scrape.
func (r *Recorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	v := l.Values()
	b := &benchmark{
		rec:          r,
		values:       v,
		ttft:         r.ttft.WithLabelValues(v...),
		itl:          r.itl.WithLabelValues(v...),
		tpot:         r.tpot.WithLabelValues(v...),
		e2e:          r.e2e.WithLabelValues(v...),
		lateness:     r.lateness.WithLabelValues(v...),
		outputTokens: r.outputTokens.WithLabelValues(v...),
		promptTokens: r.promptTokens.WithLabelValues(v...),
		inFlight:     r.inFlight.WithLabelValues(v...),
		awaiting:     r.awaiting.WithLabelValues(v...),
		errors:       make(map[contract.ErrorKind]prometheus.Counter, len(contract.ErrorKinds)),
	}
	for i, o := range contract.Outcomes {
		b.outcomes[i] = r.requests.WithLabelValues(append(v[:len(v):len(v)], string(o))...)
	}
	for _, k := range contract.ErrorKinds {
		b.errors[k] = r.errors.WithLabelValues(append(v[:len(v):len(v)], string(k))...)
	}
	return b
}

type benchmark struct {
	rec                        *Recorder
	values                     []string
	ttft, itl, tpot, e2e       prometheus.Observer
	lateness                   prometheus.Observer
	outcomes                   [3]prometheus.Counter // in contract.Outcomes order
	errors                     map[contract.ErrorKind]prometheus.Counter
	outputTokens, promptTokens prometheus.Counter
	inFlight, awaiting         prometheus.Gauge
}

// SetTarget sets the benchmark's target rate in unit (one unit per
// benchmark: a level's profile does not change).
func (b *benchmark) SetTarget(v float64, unit contract.TargetUnit) {
	b.rec.targetRate.WithLabelValues(append(b.values[:len(b.values):len(b.values)], string(unit))...).Set(v)
}

func (b *benchmark) Started() {
	b.inFlight.Inc()
	b.awaiting.Inc()
}

func (b *benchmark) FirstToken(ttft time.Duration) {
	b.awaiting.Dec()
	b.ttft.Observe(ttft.Seconds())
}

func (b *benchmark) Finished(r *measure.Result) {
	b.inFlight.Dec()
	if r.FirstTok.IsZero() {
		b.awaiting.Dec() // no first token came: FirstToken was not called
	}
	switch r.Outcome {
	case contract.OutcomeSuccess:
		b.outcomes[0].Inc()
	case contract.OutcomeIncomplete:
		b.outcomes[2].Inc()
	default:
		// Errors, and anything not marked otherwise: every error has a kind,
		// and an unknown or missing kind must not become a label value.
		b.outcomes[1].Inc()
		c, ok := b.errors[r.ErrorKind]
		if !ok {
			c = b.errors[contract.ErrOther]
		}
		c.Inc()
	}
	if r.OutputTokens > 0 {
		b.outputTokens.Add(float64(r.OutputTokens))
	}
	if r.PromptTokens > 0 {
		b.promptTokens.Add(float64(r.PromptTokens))
	}
	if !r.Sent.IsZero() && !r.Scheduled.IsZero() {
		b.lateness.Observe(max(0, r.Sent.Sub(r.Scheduled).Seconds()))
	}
	if r.Outcome != contract.OutcomeSuccess {
		return
	}
	if !r.FirstTok.IsZero() && r.OutputTokens > 1 {
		b.tpot.Observe(r.End.Sub(r.FirstTok).Seconds() / float64(r.OutputTokens-1))
	}
	b.e2e.Observe(r.End.Sub(r.Scheduled).Seconds())
	for i := 1; i < len(r.Chunks); i++ {
		b.itl.Observe((r.Chunks[i].At - r.Chunks[i-1].At).Seconds())
	}
}

// Close removes the benchmark's gauges, which only mean something while it
// runs; counters and histograms stay for the scrapes that follow.
func (b *benchmark) Close() {
	for _, u := range contract.TargetUnits {
		b.rec.targetRate.DeleteLabelValues(append(b.values[:len(b.values):len(b.values)], string(u))...)
	}
	b.rec.inFlight.DeleteLabelValues(b.values...)
	b.rec.awaiting.DeleteLabelValues(b.values...)
}
