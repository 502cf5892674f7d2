package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
)

// liveMetrics is the registry runner bench and runner start serve on their
// live /metrics endpoint: the Go and process collectors, the contract's
// per-request series and each finished benchmark's summary series.
type liveMetrics struct {
	reg  *prometheus.Registry
	rec  *recorder.Recorder
	sums *recorder.Summaries
}

func newLiveMetrics(opts recorder.Options) (*liveMetrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
