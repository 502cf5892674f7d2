// Package collector reads the state of the machine (procfs, sysfs) and of the
// containers the runner started (Docker Engine API) at scrape time, and
// exposes it as the contract's host, process and container series.
//
// Each source is a Collector in its own file. A Set fans a scrape out to
// every enabled Collector concurrently and reports, per collector,
// servebench_scrape_collector_success and ..._duration_seconds; a collector
// that fails is logged and reported as 0 but never fails the scrape. A Set is
// safe for concurrent scrapes if its Collectors are; every Collector here is.
package collector

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
)

// Collector sends the current value of its series to ch. An error means the
// source could not be read; series sent before the error are still exposed.
type Collector interface {
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Set is a prometheus.Collector that runs named Collectors.
type Set struct {
	log        *slog.Logger
	timeout    time.Duration
	collectors map[string]Collector
	names      []string
	success    *prometheus.Desc
	duration   *prometheus.Desc
}

// NewSet returns a Set running the given collectors, each bounded by timeout
// (0 means 10 s) so that a hung source cannot hold a scrape forever.
func NewSet(log *slog.Logger, timeout time.Duration, collectors map[string]Collector) *Set {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	s := &Set{log: log, timeout: timeout, collectors: collectors,
		success:  desc(contract.ScrapeCollectorSuccess),
		duration: desc(contract.ScrapeCollectorDuration),
	}
	for n := range collectors {
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	return s
}

// Names lists the collectors in the Set.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// Describe sends only the scrape health descriptors: the collectors' series
// vary with the machine, so the Set is an unchecked collector for the rest.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.success
	ch <- s.duration
}

// Collect implements prometheus.Collector.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, name := range s.names {
		wg.Go(func() { s.run(name, s.collectors[name], ch) })
	}
	wg.Wait()
}

func (s *Set) run(name string, c Collector, ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	start := time.Now()
	err := c.Update(ctx, ch)
	took := time.Since(start).Seconds()
	ok := 1.0
	if err != nil {
		ok = 0
		s.log.Error("collector failed", "collector", name, "duration_seconds", took, "err", err)
	}
	ch <- prometheus.MustNewConstMetric(s.duration, prometheus.GaugeValue, took, name)
	ch <- prometheus.MustNewConstMetric(s.success, prometheus.GaugeValue, ok, name)
}

func desc(m contract.Metric) *prometheus.Desc {
	return prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
}
