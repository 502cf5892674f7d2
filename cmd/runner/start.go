package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/cli"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/live"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

func init() { register(newStartCmd) }

// startFlags are runner start's flags; overrides stay nil unless given, so
// that only given flags override the layers below them.
type startFlags struct {
	suite, resume, apiKeyFile, webConfig, modelCache string
	loadgenBinary, loadgenImage, tokenizer           string
	dryRun, forceOverlap, reserveFrontend            bool
	enginePort                                       int
	engineMetricsEvery, linger                       time.Duration
	pushURLs                                         []string
	o                                                suite.Overrides
	raw                                              struct {
		models, workloads, phases, cores, engine, image, target, loadgen, api string
		results, listen, engineCPUs, loadgenCPUs                              string
		maxSeconds, drain, idle                                               float64
		maxRequests, numa, repeat, tp                                         int
	}
}

func newStartCmd(e *env) *cobra.Command {
	f := &startFlags{}
	c := &cobra.Command{
		Use:   "start --suite SUITE [flags]",
		Short: "run a suite: plan, start engines, run load, write results",
		Long: `Plans the suite's cells (models x workloads x cores x load levels), starts an
engine per cell (the built-in simulator, a pinned vLLM container, or an external
server), runs every load level with live series on /metrics, and writes
results/<suite>/<run>/<cell>/.

Precedence: suite defaults < suite file < SERVEBENCH_* environment < flags.`,
		Example: `  runner start --suite smoke
  runner start --suite scaling --cores 8,16,32 --dry-run
  runner start --suite scaling --engine docker --cores 8,16
  runner start --suite concurrent-load --engine external --target http://10.0.0.5:8000
  runner start --resume 20260101-120000-abcd`,
		Args: cli.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.finish(c.Flags()); err != nil {
				return err
			}
			return runStart(c.Context(), e, f)
		},
	}
	f.register(c.Flags())
	return c
}

func (f *startFlags) register(fs *pflag.FlagSet) {
	r := &f.raw
	fs.StringVar(&f.suite, "suite", "", "suite `NAME` (runner suites) or YAML file")
	fs.StringVar(&r.models, "models", "", "comma-separated model ids")
	fs.StringVar(&r.workloads, "workloads", "", "comma-separated workloads")
	fs.StringVar(&r.phases, "phases", "", "comma-separated phases of the suite to run (default: all)")
	fs.StringVar(&r.cores, "cores", "", "comma-separated engine core counts, e.g. 8,16,32")
	fs.StringVar(&r.engine, "engine", "", "engine: sim (in-process simulator), docker, external")
	fs.StringVar(&r.image, "image", "", "engine image (docker); default: the vLLM CPU image for the daemon's architecture")
	fs.StringVar(&r.target, "target", "", "base URL of an external engine")
	fs.StringVar(&r.loadgen, "loadgen", "", "load generator: native, guidellm, vllm-bench")
	fs.StringVar(&r.api, "api", "", "API: chat, completions, embeddings (default: each workload's)")
	fs.Float64Var(&r.maxSeconds, "max-seconds", 0, "longest duration of one load level, seconds")
	fs.IntVar(&r.maxRequests, "max-requests", 0, "most requests of one load level")
	fs.Float64Var(&r.drain, "drain-timeout", 0, "how long in-flight requests may finish after a level's sending stops before they are cut and recorded incomplete, seconds (default 10)")
	fs.Float64Var(&r.idle, "stream-idle-timeout", 0, "end a stream that receives nothing for this long after its first token as a stalled error, seconds (default 30; 0 = never)")
	fs.StringVar(&r.results, "results", "", "results `DIR` (default results)")
	fs.StringVar(&r.listen, "web.listen-address", "", "address of the live /metrics endpoint (default 127.0.0.1:9464; \"off\" disables)")
	fs.StringVar(&r.engineCPUs, "engine-cpus", "", "explicit engine cpuset, e.g. 0-7 (docker)")
	fs.StringVar(&r.loadgenCPUs, "loadgen-cpus", "", "explicit cpuset for the runner and its load generator")
	fs.IntVar(&r.numa, "numa-node", -1, "pin the engine to this NUMA node (TP 1)")
	fs.IntVar(&r.repeat, "repeat", 0, "run every cell N times in a row, each with a fresh engine; the suite summary grades the run-to-run variation (default 1)")
	fs.IntVar(&r.tp, "tp", 0, "tensor-parallel degree (default: chosen from the topology)")
	fs.BoolVar(&f.forceOverlap, "force-overlap", false, "run even when the load generator must share the engine's CPUs")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan, placements, container specs and commands, and exit")
	fs.StringVar(&f.resume, "resume", "", "finish run `RUN_ID`, skipping its finished cells")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "file holding the external engine's API key (else SERVEBENCH_API_KEY)")
	fs.DurationVar(&f.linger, "web.linger", defaultLinger, lingerUsage)
	addPushFlag(fs, &f.pushURLs)
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web config (TLS, basic auth) for /metrics")
	fs.StringVar(&f.modelCache, "model-cache", "", "host directory mounted as the engine container's Hugging Face cache")
	fs.BoolVar(&f.reserveFrontend, "reserve-frontend-core", false, "keep one core of the engine's cpuset out of VLLM_CPU_OMP_THREADS_BIND for vLLM's API server")
	fs.IntVar(&f.enginePort, "engine-port", 0, "first port of docker engines on the host network (default 8000)")
	fs.DurationVar(&f.engineMetricsEvery, "engine-metrics-interval", time.Second, "how often the engine's own /metrics is sampled into each cell's engine-metrics.jsonl; 0 disables")
	fs.StringVar(&f.loadgenBinary, "loadgen-binary", "", "guidellm or vllm binary to run (default: on PATH, else the tool's container image)")
	fs.StringVar(&f.loadgenImage, "loadgen-image", "", "container image of the third-party load generator")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer for a third-party tool's synthetic prompts (default: the served model id)")
}

// parseStartFlags parses start's arguments (a resumed run's stored ones).
func parseStartFlags(args []string) (*startFlags, error) {
	fs := pflag.NewFlagSet("start", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &startFlags{}
	f.register(fs)
	fs.String("log-level", "", "") // the root's flags, given after start
	fs.String("log-format", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, cli.Usage(err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("start: unexpected argument %q", fs.Arg(0))
	}
	return f, f.finish(fs)
}

// finish turns the given flags into overrides and checks them.
func (f *startFlags) finish(fs *pflag.FlagSet) error {
	r, set := &f.raw, fs.Changed
	models, workloads, phases, cores := &r.models, &r.workloads, &r.phases, &r.cores
	eng, image, target, loadgen, api := &r.engine, &r.image, &r.target, &r.loadgen, &r.api
	resultsDir, listen, engineCPUs, loadgenCPUs := &r.results, &r.listen, &r.engineCPUs, &r.loadgenCPUs
	maxSeconds, maxRequests, numa, repeat, tp := &r.maxSeconds, &r.maxRequests, &r.numa, &r.repeat, &r.tp
	o := &f.o
	if set("models") {
		o.Models = suite.SplitList(*models)
	}
	if set("workloads") {
		o.Workloads = suite.SplitList(*workloads)
	}
	if set("phases") {
		o.Phases = suite.SplitList(*phases)
	}
	if set("cores") {
		c, err := suite.ParseCores(*cores)
		if err != nil {
			return usagef("--cores: %v", err)
		}
		o.Cores = c
	}
	str := func(name string, v *string) *string {
		if set(name) {
			return v
		}
		return nil
	}
	o.Engine, o.Image, o.Target, o.Loadgen, o.API = str("engine", eng), str("image", image), str("target", target), str("loadgen", loadgen), str("api", api)
	o.Results, o.ListenAddress = str("results", resultsDir), str("web.listen-address", listen)
	o.EngineCPUs, o.LoadgenCPUs = str("engine-cpus", engineCPUs), str("loadgen-cpus", loadgenCPUs)
	if set("max-seconds") {
		if *maxSeconds <= 0 {
			return usagef("--max-seconds: %g is not a positive number of seconds", *maxSeconds)
		}
		o.MaxSeconds = maxSeconds
	}
	if set("max-requests") {
		if *maxRequests < 0 {
			return usagef("--max-requests: %d is negative", *maxRequests)
		}
		o.MaxRequests = maxRequests
	}
	if set("drain-timeout") {
		if err := suite.Bounds.DrainTimeout.Check(r.drain); err != nil || r.drain == 0 {
			return usagef("--drain-timeout: %g is not a positive number of seconds", r.drain)
		}
		o.DrainTimeout = &r.drain
	}
	if set("stream-idle-timeout") {
		if err := suite.Bounds.StreamIdleTimeout.Check(r.idle); err != nil {
			return usagef("--stream-idle-timeout: %v", err)
		}
		o.StreamIdleTimeout = &r.idle
	}
	if set("numa-node") {
		o.NUMANode = numa
	}
	if set("tp") {
		o.TP = tp
	}
	if set("repeat") {
		if *repeat < 1 {
			return usagef("--repeat: %d is not a positive count", *repeat)
		}
		o.Repeat = repeat
	}
	if f.enginePort < 0 || f.enginePort > 65535 {
		return usagef("--engine-port: %d is not a port", f.enginePort)
	}
	if f.engineMetricsEvery < 0 {
		return usagef("--engine-metrics-interval: %s is negative", f.engineMetricsEvery)
	}
	if set("force-overlap") {
		o.ForceOverlap = &f.forceOverlap
	}
	return nil
}

func (f *startFlags) loadgenOptions(cfg suite.Config, runID string) loadgenOptions {
	cpus, _ := topology.ParseList(cfg.LoadgenCPUs) // checked by setupStart
	return loadgenOptions{binary: f.loadgenBinary, image: f.loadgenImage, tokenizer: f.tokenizer, cpus: cpus, runID: runID, enginePort: f.enginePort}
}

// startSetup is everything resolved before a run begins.
type startSetup struct {
	cfg        suite.Config
	plan       *suite.Plan
	topo       *topology.Topology
	placements []orchestrate.Placement
	opts       orchestrate.PlaceOptions
}

func setupStart(f *startFlags, getenv func(string) string, topoRoot string) (*startSetup, error) {
	if f.suite == "" {
		return nil, usagef("start: --suite is required (see runner suites)")
	}
	s, err := suite.Lookup(f.suite)
	if err != nil {
		return nil, cli.Usage(err)
	}
	env, err := suite.FromEnv(getenv)
	if err != nil {
		return nil, cli.Usage(err)
	}
	cfg, err := suite.Resolve(s, env, f.o)
	if err != nil {
		return nil, cli.Usage(err)
	}
	plan, err := suite.NewPlan(cfg)
	if err != nil {
		return nil, cli.Usage(err)
	}
	if len(plan.Cells) == 0 {
		return nil, usagef("start: every cell of the plan is skipped (runner show %s lists why)", s.Name)
	}
	opts := orchestrate.PlaceOptions{Engine: cfg.Engine, NUMANode: cfg.NUMANode, TP: cfg.TP, ForceOverlap: cfg.ForceOverlap,
		ReserveFrontend: f.reserveFrontend}
	if opts.EngineCPUs, err = topology.ParseList(cfg.EngineCPUs); err != nil {
		return nil, usagef("engine cpus: %v", err)
	}
	if opts.LoadgenCPUs, err = topology.ParseList(cfg.LoadgenCPUs); err != nil {
		return nil, usagef("loadgen cpus: %v", err)
	}
	topo, terr := topology.Read(topoRoot)
	if terr != nil && cfg.Engine == "docker" {
		return nil, fmt.Errorf("start: the docker engine needs the CPU topology: %w", terr)
	}
	// With DOCKER_HOST on another machine, this machine's topology says
	// nothing about the engine's: the user must pin by hand.
	if cfg.Engine == "docker" && remoteDocker(getenv("DOCKER_HOST")) {
		topo = nil
		opts.Engine = "external-docker"
	}
	pls, err := placeFor(plan, topo, opts)
	if err != nil {
		return nil, cli.Usage(err)
	}
	return &startSetup{cfg: cfg, plan: plan, topo: topo, placements: pls, opts: opts}, nil
}

func placeFor(plan *suite.Plan, topo *topology.Topology, o orchestrate.PlaceOptions) ([]orchestrate.Placement, error) {
	if o.Engine == "external-docker" {
		pls := make([]orchestrate.Placement, len(plan.Cells))
		for i := range pls {
			pls[i].Note = "remote Docker daemon: cores are not pinned from here"
		}
		return pls, nil
	}
	return orchestrate.Place(plan, topo, o)
}

func remoteDocker(host string) bool {
	return host != "" && !strings.HasPrefix(host, "unix://") && !strings.HasPrefix(host, "npipe://")
}

func runStart(ctx context.Context, e *env, f *startFlags) error {
	var resumed *store.Run
	if f.resume != "" {
		root := resultsRoot("", e.getenv)
		if f.o.Results != nil {
			root = *f.o.Results
		}
		r, err := store.New(root, nil).Resume(f.resume)
		if err != nil {
			return cli.Usage(err)
		}
		// The run's own arguments decide its plan, so resuming needs no
		// flags; flags given now come after them and win (a plan that no
		// longer matches the run's cells is refused below).
		cfgMap, _ := r.State().Config.(map[string]any)
		args, _ := cfgMap["args"].([]any)
		var sargs []string
		for _, a := range args {
			sargs = append(sargs, fmt.Sprint(a))
		}
		sargs = append(sargs, withoutResume(e.args)...)
		if f, err = parseStartFlags(sargs); err != nil {
			_ = r.Close(store.StatusIncomplete)
			return fmt.Errorf("resume %s: stored arguments: %w", r.ID(), err)
		}
		resumed = r
	}
	st, err := setupStart(f, e.getenv, e.topoRoot)
	if err == nil && st.cfg.Engine == "external" && f.o.Models == nil && e.getenv("SERVEBENCH_MODELS") == "" {
		// The suite's models mean nothing to a server someone else runs:
		// plan (cells, labels, context check) with the model it serves.
		key, kerr := readAPIKey(f.apiKeyFile, e.getenv)
		if kerr != nil {
			return cli.Usage(kerr)
		}
		model, derr := detectModel(ctx, st.cfg.Target, key)
		switch {
		case derr == nil:
			f.o.Models = []string{model}
			st, err = setupStart(f, e.getenv, e.topoRoot)
		case f.dryRun:
			fmt.Fprintf(e.stderr, "runner: %v; the plan below uses the suite's models\n", derr)
		default:
			err = derr
		}
	}
	if err != nil {
		if resumed != nil {
			_ = resumed.Close(store.StatusIncomplete)
		}
		return err
	}
	if f.dryRun {
		return printDryRun(e.stdout, st, f.loadgenOptions(st.cfg, ""), e.getenv)
	}
	return execute(ctx, e, f, st, resumed)
}

func execute(ctx context.Context, e *env, f *startFlags, st *startSetup, run *store.Run) error {
	cfg, log := st.cfg, e.log
	apiKey, err := readAPIKey(f.apiKeyFile, e.getenv)
	if err != nil {
		return cli.Usage(err)
	}
	driver, cleanup, err := newDriver(cfg, log, e.getenv)
	if err != nil {
		return err
	}
	defer cleanup()
	load, closeLoad, err := newLoadGenerator(ctx, cfg, f.loadgenOptions(cfg, ""), log, e.stderr, e.getenv)
	if err != nil {
		return err
	}
	defer closeLoad()
	if cfg.Suite.Offline() {
		// vllm bench throughput runs the engine itself.
		docker, _ := driver.(*engine.Docker)
		load = &orchestrate.OfflineBatch{Docker: docker, Datasets: e.getenv("SERVEBENCH_DATASETS"), Log: log}
	}

	// Live metrics for as long as the run lasts.
	lm, err := live.New(recorder.Options{}, cfg.EngineCPUs, cfg.LoadgenCPUs, pushURLs(f.pushURLs, e.getenv), log)
	if err != nil {
		return cli.Usage(err)
	}
	if live.Listening(cfg.ListenAddress) {
		l, err := live.Listen(cfg.ListenAddress, e.stderr)
		if err != nil {
			return cli.Usage(err)
		}
		scrapes, stopServer := lm.Serve(ctx, l, f.webConfig, "servebench runner", log)
		defer func() {
			// Every summary is published by now.
			webserver.Linger(ctx, scrapes, time.Now(), f.linger, log)
			stopServer()
		}()
	}

	stor := store.New(cfg.Results, nil)
	if run == nil {
		var cells []store.CellState
		for _, c := range st.plan.Cells {
			cells = append(cells, store.CellState{ID: c.ID})
		}
		for _, c := range st.plan.Skipped {
			cells = append(cells, store.CellState{ID: c.ID, Status: store.CellSkipped, Error: c.Skip})
		}
		run, err = stor.Create(cfg.Suite.Name, store.NewRunID(time.Now()), cells, map[string]any{"args": e.args, "engine": cfg.Engine, "loadgen": cfg.Loadgen})
		if err != nil {
			return err
		}
	} else {
		for _, c := range st.plan.Cells {
			if !hasCell(run, c.ID) {
				_ = run.Close(store.StatusIncomplete)
				return fmt.Errorf("resume %s: the plan has cell %s that the run does not", run.ID(), c.ID)
			}
		}
	}
	logPath := filepath.Join(run.Dir, "runner.log")
	if err := e.runLog.Attach(logPath); err != nil {
		log.Warn("no log file", "err", err)
	}
	fmt.Fprintf(e.stderr, "run %s: suite %s, %d cells, %d load levels, %s; results in %s (log: %s)\n",
		run.ID(), cfg.Suite.Name, len(st.plan.Cells), st.plan.Benchmarks(), st.plan.Budget(), run.Dir, logPath)

	build := buildinfo.Get()
	o := &orchestrate.Orchestrator{
		Plan: st.plan, Placements: st.placements, Run: run, Driver: driver, Load: load,
		Recorder: lm.Rec, Summaries: lm.Pub, Live: lm.Rec, Stress: orchestrate.Stress, Pin: topology.PinSelf, EnginePort: f.enginePort,
		Image: cfg.Image, Target: cfg.Target, APIKey: apiKey, ModelCache: f.modelCache,
		Secrets: secretsFromEnv(e.getenv), Host: hostInfo(st.topo), GitRevision: gitRevision(ctx), Build: &build,
		Command:  "runner start " + strings.Join(e.args, " "),
		Progress: e.stderr, TTY: isTTY(e.stderr), Log: log, EngineMetricsEvery: f.engineMetricsEvery,
	}
	if home, err := topology.Affinity(); err == nil {
		o.Home = home
	}
	if !o.TTY {
		o.ProgressEvery = 5 * time.Second // plain lines in a log: fewer of them
	}
	err = o.Execute(ctx)
	state := run.State()
	fmt.Fprintf(e.stderr, "run %s %s: %s\n", run.ID(), state.Status, run.Dir)
	if perr := lm.Finish(ctx, recorder.RunCompletion{RunID: run.ID(), Suite: cfg.Suite.Name, Models: planModels(st.plan),
		Status: contract.RunStatus(state.Status), Started: state.Started, Finished: state.Finished}, log); perr != nil {
		err = errors.Join(err, perr)
	}
	// A run whose levels had no successful request, or whose cells failed
	// after measuring, still shows its table: it says what the levels did.
	if ctx.Err() == nil && (err == nil || errors.Is(err, loadgen.ErrNoSuccess) || errors.Is(err, orchestrate.ErrCellsFailed)) {
		if rerr := orchestrate.WriteTable(e.stdout, run.Dir); rerr != nil {
			log.Warn("results table", "err", rerr)
		}
	}
	return err
}

// planModels lists the models of a plan's cells, each once, in order.
func planModels(p *suite.Plan) []string {
	var out []string
	for _, c := range p.Cells {
		if !slices.Contains(out, c.Model) {
			out = append(out, c.Model)
		}
	}
	return out
}

// withoutResume drops --resume and its value from args.
func withoutResume(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--resume" || a == "-resume":
			i++
		case strings.HasPrefix(a, "--resume=") || strings.HasPrefix(a, "-resume="):
		default:
			out = append(out, a)
		}
	}
	return out
}

func hasCell(r *store.Run, id string) bool {
	for _, c := range r.State().Cells {
		if c.ID == id {
			return true
		}
	}
	return false
}

// detectModel asks an external engine which model it serves: the first id
// of /v1/models, with the API key.
func detectModel(ctx context.Context, target, apiKey string) (string, error) {
	base, err := engine.NormalizeURL(target)
	if err != nil {
		return "", cli.Usage(fmt.Errorf("target: %w", err))
	}
	h := http.Header{}
	if apiKey != "" {
		h.Set("Authorization", "Bearer "+apiKey)
	}
	model, err := loadgen.ResolveModel(ctx, http.DefaultClient, base, h, loadgen.DefaultProbeTimeout)
	if err != nil {
		return "", fmt.Errorf("external engine: detect the model (%s): %w", base, err)
	}
	return model, nil
}

// readAPIKey reads the external engine's key from a file or SERVEBENCH_API_KEY.
func readAPIKey(file string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--api-key-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return getenv("SERVEBENCH_API_KEY"), nil
}

// secretsFromEnv passes HF_TOKEN through to engine containers; it is never
// logged or recorded.
func secretsFromEnv(getenv func(string) string) map[string]string {
	s := map[string]string{}
	if v := getenv("HF_TOKEN"); v != "" {
		s["HF_TOKEN"] = v
	}
	return s
}

func newDriver(cfg suite.Config, log *slog.Logger, getenv func(string) string) (engine.Driver, func(), error) {
	switch cfg.Engine {
	case "external":
		return engine.NewExternal(&http.Client{}, log), func() {}, nil
	case "docker":
		c, err := newDockerClient(getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("docker: %w", err)
		}
		d, err := engine.NewDocker(engine.DockerConfig{Client: c, Log: log, PublicHost: publicHost(getenv("DOCKER_HOST"))})
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return d, func() { c.Close() }, nil
	case "sim":
		return newSimDriver(log)
	}
	return nil, nil, usagef("engine: unknown engine %q", cfg.Engine)
}

// publicHost is the host part of a remote DOCKER_HOST, where its engines
// are reachable.
func publicHost(dockerHost string) string {
	if !remoteDocker(dockerHost) {
		return ""
	}
	h := dockerHost
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.LastIndex(h, "@"); i >= 0 {
		h = h[i+1:]
	}
	if i := strings.IndexAny(h, ":/"); i >= 0 {
		h = h[:i]
	}
	return h
}

func hostInfo(t *topology.Topology) store.Host {
	h := store.Host{Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if t != nil {
		h.CPUModel, h.CPUs, h.Cores, h.NUMANodes = t.Model, len(t.CPUs), t.PhysicalCores(), len(t.Nodes)
	}
	return h
}

// gitRevision is the build's VCS revision, else the working tree's HEAD
// (go run does not stamp one), else "".
func gitRevision(ctx context.Context) string {
	if c := buildinfo.Get().Commit; c != "" {
		return c
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// isTTY reports whether w is a terminal; a character device that is not
// one (/dev/null) is not.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
