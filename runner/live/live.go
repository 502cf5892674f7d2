// Package live is the runner's live /metrics endpoint while runner bench or
// runner start runs: the Go and build-info series, the host and process
// series of the contract (CPUs with their engine/loadgen roles, the
// process's CPU once as servebench_process_*), the contract's per-request
// series, and each finished benchmark's summary series, which it also
// pushes to remote-write, VictoriaMetrics or Pushgateway targets.
//
// The server outlives the run's context, so that a scrape can still collect
// the figures published after an interrupt; Linger holds it until every
// scraper seen has collected the final summaries.
package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/servebench/servebench/exporter/collector"
	"github.com/servebench/servebench/exporter/push"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/internal/buildinfo"
)

// Collectors are the exporter's collectors the runner serves itself: the
// host's CPUs (with their roles), memory and network, and its own process
// (the load generator's health). Containers are the exporter daemon's.
var Collectors = []string{"cpu", "memory", "network", "process"}

// Metrics is the registry served on the live endpoint, the recorder of the
// per-request series, and the publisher of the summary series.
type Metrics struct {
	Reg  *prometheus.Registry
	Rec  *recorder.Recorder
	Sums *recorder.Summaries
	Pub  *push.Publisher
}

// New builds the live registry. engineCPUs and loadgenCPUs (cpu lists, "" =
// unknown) give the host's CPUs their role; pushTo are the push targets. A
// host collector that cannot be built is logged and left out: the run does
// not depend on it. A bad push URL is an error naming --push.url.
func New(opts recorder.Options, engineCPUs, loadgenCPUs string, pushTo []string, log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), buildinfo.Collector())
	cols, err := collector.Build(Collectors, collector.Options{EngineCPUs: engineCPUs, LoadgenCPUs: loadgenCPUs,
		PID: os.Getpid(), Goroutines: runtime.NumGoroutine, NetworkExclude: regexp.MustCompile(collector.DefaultNetworkExclude)})
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
	pub, err := push.NewPublisher(sums, pushTo, push.Config{Log: log})
	if err != nil {
		return nil, fmt.Errorf("--push.url: %w", err)
	}
	return &Metrics{Reg: reg, Rec: rec, Sums: sums, Pub: pub}, nil
}

// Finish publishes the run's completion (pushed with its last results) and
// makes the last push to every target; a target that did not take them is
// an error wrapping push.ErrNotDelivered.
func (m *Metrics) Finish(ctx context.Context, c recorder.RunCompletion, log *slog.Logger) error {
	if err := m.Pub.PublishRun(c); err != nil {
		log.Warn("publish run completion", "err", err)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), push.DefaultPushTimeout)
	defer cancel()
	return m.Pub.Flush(fctx)
}

// Serve serves the registry on l until stop is called, which returns once
// the server is down; scrapes watches the scrapers, for Linger. The server
// outlives ctx's cancellation.
func (m *Metrics) Serve(ctx context.Context, l net.Listener, webConfig, name string, log *slog.Logger) (scrapes *webserver.Scrapes, stop func()) {
	scrapes = new(webserver.Scrapes)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := webserver.Serve(sctx, l, scrapes.Wrap(webserver.Handler(m.Reg, log, name)), webConfig, log); err != nil {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving live metrics", "url", "http://"+l.Addr().String()+"/metrics")
	return scrapes, func() { cancel(); <-served }
}

// Listen opens the live endpoint's address and prints its URL to w (with
// :0, the port the kernel chose). A busy address is an error naming
// --web.listen-address and the ways out.
func Listen(addr string, w io.Writer) (net.Listener, error) {
	l, err := webserver.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("--web.listen-address %s: %v (another runner? pass --web.listen-address 127.0.0.1:0 for any free port, another address, or off)", addr, err)
	}
	fmt.Fprintf(w, "live metrics: http://%s/metrics\n", l.Addr())
	return l, nil
}

// Listening reports whether addr asks for a live endpoint ("" and "off" do
// not).
func Listening(addr string) bool { return addr != "" && addr != "off" }

// ServeAt serves the registry at addr, printing its URL on console, unless
// addr asks for no endpoint. stop keeps the endpoint up, for at most
// linger, until every scraper seen has taken a scrape that began after
// stop was called (all summaries published), then stops the server.
func (m *Metrics) ServeAt(ctx context.Context, addr, webConfig, name string, console io.Writer, log *slog.Logger) (stop func(linger time.Duration), err error) {
	if !Listening(addr) {
		return func(time.Duration) {}, nil
	}
	l, err := Listen(addr, console)
	if err != nil {
		return nil, err
	}
	scrapes, stopServer := m.Serve(ctx, l, webConfig, name, log)
	return func(linger time.Duration) {
		webserver.Linger(ctx, scrapes, time.Now(), linger, log)
		stopServer()
	}, nil
}
