// Command exporter is servebench's standalone exporter for the server host of
// a two-host set-up: host and container collectors on /metrics, and, with the
// proxy subcommand, the metering proxy in front of an OpenAI-compatible
// server, recording each request into the same series the runner publishes.
//
//	exporter [flags]                 serve host + container metrics
//	exporter proxy --upstream URL    also meter the requests passing through
//
// Exit codes: 0 success (including an interrupt), 1 failure, 2 bad usage.
// --version prints the build (version, commit, Go version), which
// servebench_build_info also exposes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/servebench/servebench/exporter/collector"
	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/proxy"
	"github.com/servebench/servebench/exporter/push"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/cli"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stderr)
	cli.Setup(root, stdout, stderr, buildinfo.Get().String("exporter"))
	cmd, err := cli.Execute(ctx, root, args)
	switch {
	case err == nil:
		return exitOK
	case cli.IsUsage(err):
		cli.Report(stderr, cmd, err)
		return exitUsage
	default:
		cli.Report(stderr, cmd, err)
		return exitFailure
	}
}

func newRoot(stderr io.Writer) *cobra.Command {
	c := newCommon()
	root := &cobra.Command{
		Use:   "exporter [flags]",
		Short: "serve the host and container series of a server host on /metrics",
		Long: `exporter is servebench's standalone exporter for the server host of a two-host
set-up: host (CPU by role, memory, NUMA, network), process and container
series on /metrics, optionally pushed to VictoriaMetrics or a Pushgateway.
The proxy subcommand also meters an OpenAI-compatible server's requests.`,
		Example: `  exporter --web.listen-address 127.0.0.1:9465 --cpuset.engine 0-15 --cpuset.loadgen 16-17
  exporter --no-collector.container --push.url http://127.0.0.1:8428/api/v1/import/prometheus
  exporter proxy --upstream http://127.0.0.1:8000 --loadgen guidellm`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.check(cmd.Flags()); err != nil {
				return err
			}
			return runDaemon(cmd.Context(), c, stderr)
		},
	}
	c.register(root.PersistentFlags())
	root.AddCommand(newProxyCmd(c, stderr))
	return root
}

// common holds the flags of both modes.
type common struct {
	listen, webConfig       string
	logLevel                *promslog.Level
	format                  *promslog.Format
	pushURL, pushMethod     string
	pushInterval            time.Duration
	pushDropTimestamps      bool
	procfs, sysfs           string
	engineCPUs, loadgenCPUs string
	netExclude              string
	timeout                 time.Duration
	enabled                 map[string]*bool
	disabled                map[string]*bool
}

// collectorDefaults lists every collector and whether it runs by default.
var collectorDefaults = []struct {
	name, help string
	on         bool
}{
	{"cpu", "per-CPU busy seconds with cpuset roles", true},
	{"memory", "host and NUMA memory", true},
	{"network", "bytes per network interface", true},
	{"process", "this process's CPU, memory, threads and goroutines", true},
	{"container", "CPU, throttling and memory of containers labelled " + contract.ContainerRoleLabel + " (Docker Engine API, DOCKER_HOST)", true},
}

func newCommon() *common {
	return &common{logLevel: promslog.NewLevel(), format: promslog.NewFormat(), enabled: map[string]*bool{}, disabled: map[string]*bool{}}
}

func (c *common) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.listen, "web.listen-address", webserver.DefaultListenAddress, "address to serve /metrics and /-/healthy on")
	fs.StringVar(&c.webConfig, "web.config.file", "", "exporter-toolkit web configuration file (TLS, basic auth)")
	fs.Var(promFlag{c.logLevel, "level"}, "log.level", "log level: debug, info, warn, error")
	fs.Var(promFlag{c.format, "format"}, "log.format", "log format: logfmt, json")
	fs.StringVar(&c.procfs, "path.procfs", "/proc", "procfs mount point")
	fs.StringVar(&c.sysfs, "path.sysfs", "/sys", "sysfs mount point")
	fs.StringVar(&c.engineCPUs, "cpuset.engine", "", "CPUs of the inference engine (Linux list, e.g. 0-15): role=engine")
	fs.StringVar(&c.loadgenCPUs, "cpuset.loadgen", "", "CPUs of the load generator: role=loadgen")
	fs.StringVar(&c.netExclude, "collector.network.device-exclude", collector.DefaultNetworkExclude, "regexp of network interfaces to leave out (\"\" keeps them all, Docker's veth pairs included)")
	fs.DurationVar(&c.timeout, "collector.timeout", 10*time.Second, "time limit of each collector per scrape")
	fs.StringVar(&c.pushURL, "push.url", "", "also push every series to this URL: Prometheus text to http://vm:8428/api/v1/import/prometheus or http://pushgateway:9091/metrics/job/servebench, remote write to a URL ending in /api/v1/write")
	fs.DurationVar(&c.pushInterval, "push.interval", 15*time.Second, "interval between pushes (a last push happens at exit)")
	fs.StringVar(&c.pushMethod, "push.method", "POST", "HTTP method of pushes (PUT replaces a Pushgateway group)")
	fs.BoolVar(&c.pushDropTimestamps, "push.drop-timestamps", false, "push without sample timestamps (Pushgateway refuses them)")
	for _, d := range collectorDefaults {
		c.enabled[d.name] = fs.Bool("collector."+d.name, d.on, "enable the "+d.name+" collector: "+d.help)
		c.disabled[d.name] = fs.Bool("no-collector."+d.name, false, "disable the "+d.name+" collector")
	}
}

// check validates the parsed flags.
func (c *common) check(fs *pflag.FlagSet) error {
	for name := range c.enabled {
		if fs.Changed("collector."+name) && fs.Changed("no-collector."+name) {
			return cli.Usagef("--collector.%[1]s and --no-collector.%[1]s both given", name)
		}
		if *c.disabled[name] {
			*c.enabled[name] = false
		}
	}
	if err := webserver.Validate(c.webConfig); err != nil {
		return cli.Usage(err)
	}
	if c.pushURL != "" {
		if _, err := push.New(push.Config{URL: c.pushURL, Gatherer: prometheus.NewRegistry(), Interval: c.pushInterval}); err != nil {
			return cli.Usagef("--push.url: %w", err)
		}
	}
	return nil
}

// serve serves reg on the metrics address and, with --push.url, pushes it
// until ctx is done.
func (c *common) serve(ctx context.Context, reg *prometheus.Registry, name string, log *slog.Logger) error {
	l, err := webserver.Listen(c.listen)
	if err != nil {
		return err
	}
	if c.pushURL == "" {
		return webserver.Serve(ctx, l, webserver.Handler(reg, log, name), c.webConfig, log)
	}
	p, err := push.New(push.Config{URL: c.pushURL, Gatherer: reg, Interval: c.pushInterval, Method: c.pushMethod,
		DropTimestamps: c.pushDropTimestamps, Log: log})
	if err != nil {
		l.Close()
		return cli.Usage(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	serr := webserver.Serve(ctx, l, webserver.Handler(reg, log, name), c.webConfig, log)
	return errors.Join(serr, <-errc)
}

func (c *common) logger(stderr io.Writer) *slog.Logger {
	return promslog.New(&promslog.Config{Level: c.logLevel, Format: c.format, Writer: stderr})
}

// collectors builds the enabled collectors.
func (c *common) collectors() (map[string]collector.Collector, func(), error) {
	closeAll := func() {}
	var names []string
	for _, n := range collector.Names {
		if *c.enabled[n] {
			names = append(names, n)
		}
	}
	o := collector.Options{ProcFS: c.procfs, SysFS: c.sysfs, EngineCPUs: c.engineCPUs, LoadgenCPUs: c.loadgenCPUs,
		PID: os.Getpid(), Goroutines: runtime.NumGoroutine}
	if c.netExclude != "" {
		re, err := regexp.Compile(c.netExclude)
		if err != nil {
			return nil, closeAll, cli.Usagef("--collector.network.device-exclude: %w", err)
		}
		o.NetworkExclude = re
	}
	if *c.enabled["container"] {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, closeAll, fmt.Errorf("docker client: %w", err)
		}
		o.Docker = cli
		closeAll = func() { cli.Close() }
	}
	cols, err := collector.Build(names, o)
	if err != nil {
		return nil, closeAll, cli.Usage(err)
	}
	return cols, closeAll, nil
}

func (c *common) registry(log *slog.Logger) (*prometheus.Registry, func(), error) {
	cols, closeAll, err := c.collectors()
	if err != nil {
		return nil, closeAll, err
	}
	reg := prometheus.NewRegistry()
	set := collector.NewSet(log, c.timeout, cols)
	reg.MustRegister(set, buildinfo.Collector())
	log.Info("collectors enabled", "collectors", strings.Join(set.Names(), ","))
	return reg, closeAll, nil
}

func runDaemon(ctx context.Context, c *common, stderr io.Writer) error {
	log := c.logger(stderr)
	reg, closeAll, err := c.registry(log)
	defer closeAll()
	if err != nil {
		return err
	}
	return c.serve(ctx, reg, "servebench exporter", log)
}

// proxyFlags are the proxy subcommand's own flags.
type proxyFlags struct {
	listen, upstream string
	labels           measure.BenchmarkLabels
	native           bool
}

func newProxyCmd(c *common, stderr io.Writer) *cobra.Command {
	var p proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy --upstream URL [flags]",
		Short: "meter the requests passing through to an OpenAI-compatible server",
		Long: `Runs the metering proxy in front of an OpenAI-compatible server: a load
generator sends to --listen, every request is timed chunk by chunk on its way
back and recorded into the same series the runner publishes, next to the host
series.`,
		Example: `  exporter proxy --upstream http://127.0.0.1:8000 --listen 127.0.0.1:8001 --loadgen guidellm --level rate-2`,
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The proxy runs next to the load generator; containers are the daemon's job.
			if !cmd.Flags().Changed("collector.container") {
				*c.enabled["container"] = false
			}
			if err := c.check(cmd.Flags()); err != nil {
				return err
			}
			return runProxy(cmd.Context(), c, p, stderr)
		},
	}
	fs, l := cmd.Flags(), &p.labels
	fs.StringVar(&p.listen, "listen", "127.0.0.1:8001", "address the load generator sends its OpenAI requests to")
	fs.StringVar(&p.upstream, "upstream", "", "base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000 (required)")
	fs.StringVar(&l.Loadgen, "loadgen", "proxy", "loadgen label: the client behind the proxy (guidellm, vllm-bench, ...)")
	fs.StringVar(&l.Suite, "suite", "bench", "suite label")
	fs.StringVar(&l.Workload, "workload", "custom", "workload label")
	fs.StringVar(&l.Cores, "cores", "", "cores label: cores given to the engine")
	fs.StringVar(&l.Level, "level", "proxy", "level label")
	fs.StringVar(&l.Model, "model", "", "model label for requests whose body names none")
	fs.BoolVar(&p.native, "histograms.native", true, "expose native (exponential) histogram buckets to protobuf scrapers, next to the classic ones")
	return cmd
}

func runProxy(ctx context.Context, c *common, p proxyFlags, stderr io.Writer) error {
	if p.upstream == "" {
		return cli.Usagef("--upstream is required")
	}
	up, err := url.Parse(p.upstream)
	if err != nil || up.Scheme == "" || up.Host == "" {
		return cli.Usagef("--upstream %q: want a URL such as http://127.0.0.1:8000", p.upstream)
	}
	log := c.logger(stderr)
	reg, closeAll, err := c.registry(log)
	defer closeAll()
	if err != nil {
		return err
	}
	rec, err := recorder.New(reg, recorder.Options{NativeHistograms: p.native})
	if err != nil {
		return err
	}
	px, err := proxy.New(proxy.Config{Upstream: up, Recorder: rec, Labels: p.labels, Log: log})
	if err != nil {
		return cli.Usage(err)
	}
	defer px.Close()
	pl, err := webserver.Listen(p.listen)
	if err != nil {
		return err
	}
	log.Info("metering proxy", "listen", pl.Addr().String(), "upstream", up.String(), "loadgen", p.labels.Loadgen)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- c.serve(ctx, reg, "servebench metering proxy", log) }()
	go func() { errc <- px.Serve(ctx, pl) }()
	err = <-errc
	cancel()
	return errors.Join(err, <-errc)
}

// promFlag adapts promslog's Level and Format to pflag.
type promFlag struct {
	v interface {
		String() string
		Set(string) error
	}
	typ string
}

func (f promFlag) Type() string { return f.typ }

func (f promFlag) String() string {
	if f.v == nil {
		return ""
	}
	return f.v.String()
}

func (f promFlag) Set(s string) error { return f.v.Set(s) }
