package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/servebench/servebench/exporter/collector"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/internal/buildinfo"
)

// liveCollectors are the exporter's collectors the runner serves itself: the
// host's CPUs (with their roles), memory and network, and its own process
// (the load generator's health). Containers are the exporter daemon's.
var liveCollectors = []string{"cpu", "memory", "network", "process"}

// liveMetrics is the registry runner bench and runner start serve on their
// live /metrics endpoint: the Go and process collectors, the host and
// process series of the contract, the contract's per-request series and
// each finished benchmark's summary series.
type liveMetrics struct {
	reg  *prometheus.Registry
	rec  *recorder.Recorder
	sums *recorder.Summaries
}

// engineCPUs and loadgenCPUs (cpu lists, "" = unknown) give the host's CPUs
// their role. A host collector that cannot be built is logged and left out:
// the run does not depend on it.
func newLiveMetrics(opts recorder.Options, engineCPUs, loadgenCPUs string, log *slog.Logger) (*liveMetrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector())
	cols, err := collector.Build(liveCollectors, collector.Options{EngineCPUs: engineCPUs, LoadgenCPUs: loadgenCPUs,
		PID: os.Getpid(), Goroutines: runtime.NumGoroutine})
	if err != nil {
		log.Warn("host and process series left out", "err", err)
	} else {
		reg.MustRegister(collector.NewSet(log, 5*time.Second, cols))
	}
	rec, err := recorder.New(reg, opts)
	if err != nil {
		return nil, err
	}
	sums := recorder.NewSummaries()
	reg.MustRegister(sums)
	return &liveMetrics{reg: reg, rec: rec, sums: sums}, nil
}

// serve serves the registry on l until stop is called, which returns once
// the server is down. scrapes counts the scrapes served, for
// awaitFinalScrape. The server outlives ctx's cancellation, so that a scrape
// can still collect the figures published after an interrupt.
func (m *liveMetrics) serve(ctx context.Context, l net.Listener, webConfig, name string, log *slog.Logger) (scrapes *webserver.Scrapes, stop func()) {
	scrapes = new(webserver.Scrapes)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := webserver.Serve(sctx, l, scrapes.Wrap(webserver.Handler(m.reg, log, name)), webConfig, log); err != nil {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving live metrics", "url", "http://"+l.Addr().String()+"/metrics")
	return scrapes, func() { cancel(); <-served }
}
