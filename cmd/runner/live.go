package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"

	"github.com/servebench/servebench/exporter/collector"
	"github.com/servebench/servebench/exporter/push"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/cli"
)

// liveCollectors are the exporter's collectors the runner serves itself: the
// host's CPUs (with their roles), memory and network, and its own process
// (the load generator's health). Containers are the exporter daemon's.
var liveCollectors = []string{"cpu", "memory", "network", "process"}

// liveMetrics is the registry runner bench and runner start serve on their
// live /metrics endpoint: the Go collector, the host and process series of
// the contract (the process's CPU once, as servebench_process_*), the
// contract's per-request series and each finished benchmark's summary
// series, which pub also pushes to the --push.url targets.
type liveMetrics struct {
	reg  *prometheus.Registry
	rec  *recorder.Recorder
	sums *recorder.Summaries
	pub  *push.Publisher
}

const pushUsage = "also push each finished benchmark's summary series, and the run's completion, to this `URL` as they are published: " +
	"Prometheus remote write (…/api/v1/write), VictoriaMetrics import (…/api/v1/import/prometheus) or a Pushgateway (…/metrics/job/NAME); " +
	"repeatable (default: $SERVEBENCH_PUSH_URL, comma-separated)"

// addPushFlag registers --push.url on fs.
func addPushFlag(fs *pflag.FlagSet, urls *[]string) {
	fs.StringArrayVar(urls, "push.url", nil, pushUsage)
}

// pushURLs are the --push.url values, else $SERVEBENCH_PUSH_URL's.
func pushURLs(flag []string, getenv func(string) string) []string {
	if len(flag) > 0 {
		return flag
	}
	var out []string
	for _, u := range strings.Split(getenv("SERVEBENCH_PUSH_URL"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// engineCPUs and loadgenCPUs (cpu lists, "" = unknown) give the host's CPUs
// their role. A host collector that cannot be built is logged and left out:
// the run does not depend on it.
func newLiveMetrics(opts recorder.Options, engineCPUs, loadgenCPUs string, pushTo []string, log *slog.Logger) (*liveMetrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), buildinfo.Collector())
	cols, err := collector.Build(liveCollectors, collector.Options{EngineCPUs: engineCPUs, LoadgenCPUs: loadgenCPUs,
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
		return nil, cli.Usage(fmt.Errorf("--push.url: %w", err))
	}
	return &liveMetrics{reg: reg, rec: rec, sums: sums, pub: pub}, nil
}

// finish publishes the run's completion (pushed with its last results) and
// makes the last push to every target; a target that did not take them is
// an error wrapping push.ErrNotDelivered.
func (m *liveMetrics) finish(ctx context.Context, c recorder.RunCompletion, log *slog.Logger) error {
	if err := m.pub.PublishRun(c); err != nil {
		log.Warn("publish run completion", "err", err)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), push.DefaultPushTimeout)
	defer cancel()
	return m.pub.Flush(fctx)
}

// serve serves the registry on l until stop is called, which returns once
// the server is down. scrapes watches the scrapers, for awaitFinalScrape. The server outlives ctx's cancellation, so that a scrape
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

// listenLive opens the live endpoint's address and prints its URL (with
// :0, the port the kernel chose). A busy address is a usage error naming the
// flag and the ways out.
func listenLive(addr string, w io.Writer) (net.Listener, error) {
	l, err := webserver.Listen(addr)
	if err != nil {
		return nil, usagef("--web.listen-address %s: %v (another runner? pass --web.listen-address 127.0.0.1:0 for any free port, another address, or off)", addr, err)
	}
	fmt.Fprintf(w, "live metrics: http://%s/metrics\n", l.Addr())
	return l, nil
}
