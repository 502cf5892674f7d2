package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/servebench/servebench/internal/cli"

	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/live"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/command"
	"github.com/servebench/servebench/runner/thirdparty/metered"
	"github.com/servebench/servebench/runner/topology"
)

func init() { register(newStartCmd) }

// startFlags are runner start's flags; the suite's stay as typed until
// finish, so that only given flags override the layers below them.
type startFlags struct {
	suite, resume, apiKeyFile, webConfig, modelCache string
	loadgenBinary, loadgenImage, tokenizer           string
	dryRun, reserveFrontend                          bool
	enginePort                                       int
	engineMetricsEvery, linger                       time.Duration
	pushURLs                                         []string
	g                                                suite.Given
	o                                                suite.Overrides
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
	r := &f.g
	fs.StringVar(&f.suite, "suite", "", "suite `NAME` (runner suites) or YAML file")
	fs.StringVar(&r.Models, "models", "", "comma-separated model ids")
	fs.StringVar(&r.Workloads, "workloads", "", "comma-separated workloads")
	fs.StringVar(&r.Phases, "phases", "", "comma-separated phases of the suite to run (default: all)")
	fs.StringVar(&r.Cores, "cores", "", "comma-separated engine core counts, e.g. 8,16,32")
	fs.StringVar(&r.Engine, "engine", "", "engine: sim (in-process simulator), docker, external")
	fs.StringVar(&r.Image, "image", "", "engine image (docker); default: the vLLM CPU image for the daemon's architecture")
	fs.StringVar(&r.Target, "target", "", "base URL of an external engine")
	fs.StringVar(&r.Loadgen, "loadgen", "", "load generator: native, guidellm, vllm-bench, command")
	fs.StringVar(&r.Command, "command", "", "the command load generator's tool: a recipe (vegeta, wrk, ab, locust) or a command line template (docs/suites.md)")
	fs.StringVar(&r.API, "api", "", "API: chat, completions, embeddings (default: each workload's)")
	fs.Float64Var(&r.MaxSeconds, "max-seconds", 0, "longest duration of one load level, seconds")
	fs.IntVar(&r.MaxRequests, "max-requests", 0, "most requests of one load level")
	fs.Float64Var(&r.DrainTimeout, "drain-timeout", 0, "how long in-flight requests may finish after a level's sending stops before they are cut and recorded incomplete, seconds (default 10)")
	fs.Float64Var(&r.StreamIdleTimeout, "stream-idle-timeout", 0, "end a stream that receives nothing for this long after its first token as a stalled error, seconds (default 30; 0 = never)")
	fs.StringVar(&r.Results, "results", "", "results `DIR` (default results)")
	fs.StringVar(&r.ListenAddress, "web.listen-address", "", "address of the live /metrics endpoint (default 127.0.0.1:9464; \"off\" disables)")
	fs.StringVar(&r.EngineCPUs, "engine-cpus", "", "explicit engine cpuset, e.g. 0-7 (docker)")
	fs.StringVar(&r.LoadgenCPUs, "loadgen-cpus", "", "explicit cpuset for the runner and its load generator")
	fs.IntVar(&r.NUMANode, "numa-node", -1, "pin the engine to this NUMA node (TP 1)")
	fs.IntVar(&r.Repeat, "repeat", 0, "run every cell N times in a row, each with a fresh engine; the suite summary grades the run-to-run variation (default 1)")
	fs.IntVar(&r.TP, "tp", 0, "tensor-parallel degree (default: chosen from the topology)")
	fs.BoolVar(&r.ForceOverlap, "force-overlap", false, "run even when the load generator must share the engine's CPUs")
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
	var err error
	if f.o, err = f.g.Overrides(fs.Changed); err != nil {
		return cli.Usage(err)
	}
	if f.enginePort < 0 || f.enginePort > 65535 {
		return usagef("--engine-port: %d is not a port", f.enginePort)
	}
	if f.engineMetricsEvery < 0 {
		return usagef("--engine-metrics-interval: %s is negative", f.engineMetricsEvery)
	}
	return nil
}

func (f *startFlags) launch(cfg suite.Config) metered.Launch {
	cpus, _ := topology.ParseList(cfg.LoadgenCPUs) // checked by setupStart
	return metered.Launch{Binary: f.loadgenBinary, Image: f.loadgenImage, Tokenizer: f.tokenizer, CPUs: cpus}
}

// setupStart resolves, plans and places the run the flags ask for.
func setupStart(f *startFlags, getenv func(string) string, topoRoot string) (*orchestrate.Setup, error) {
	env, err := suite.FromEnv(getenv)
	if err != nil {
		return nil, cli.Usage(err)
	}
	st, err := orchestrate.NewSetup(orchestrate.SetupOptions{Suite: f.suite, Env: env, Flags: f.o, ReserveFrontend: f.reserveFrontend,
		TopologyRoot: topoRoot, DockerHost: getenv("DOCKER_HOST")})
	if err != nil && !errors.Is(err, orchestrate.ErrNoTopology) {
		return nil, cli.Usage(err)
	}
	return st, err
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
		if f, err = parseStartFlags(append(orchestrate.RunArgs(r), withoutResume(e.args)...)); err != nil {
			_ = r.Close(store.StatusIncomplete)
			return fmt.Errorf("resume %s: stored arguments: %w", r.ID(), err)
		}
		resumed = r
	}
	st, err := setupStart(f, e.getenv, e.topoRoot)
	if err == nil && st.Config.Engine == "external" && f.o.Models == nil && e.getenv("SERVEBENCH_MODELS") == "" {
		// The suite's models mean nothing to a server someone else runs:
		// plan (cells, labels, context check) with the model it serves.
		key, kerr := readAPIKey(f.apiKeyFile, e.getenv)
		if kerr != nil {
			return cli.Usage(kerr)
		}
		model, derr := orchestrate.DetectModel(ctx, st.Config.Target, key)
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
		if err := printDryRun(e.stdout, st, f.launch(st.Config), f.enginePort, e.getenv); err != nil {
			return err
		}
		return checkCommand(st.Config) // a dry run shows the plan, and a tool it cannot run is bad input
	}
	return execute(ctx, e, f, st, resumed)
}

// checkCommand refuses a command load generator without a runnable spec (no
// --command, an unknown recipe, a bad template), as the run itself would.
func checkCommand(cfg suite.Config) error {
	if cfg.Loadgen != suite.LoadgenCommand {
		return nil
	}
	if _, err := metered.CommandSpec(cfg); err != nil {
		return cli.Usage(err)
	}
	return nil
}

func execute(ctx context.Context, e *env, f *startFlags, st *orchestrate.Setup, run *store.Run) error {
	cfg, log := st.Config, e.log
	apiKey, err := readAPIKey(f.apiKeyFile, e.getenv)
	if err != nil {
		return cli.Usage(err)
	}
	driver, cleanup, err := orchestrate.NewDriver(cfg.Engine, log, e.getenv)
	if err != nil {
		return err
	}
	defer cleanup()
	load, closeLoad, err := metered.NewLoadGenerator(ctx, cfg, f.launch(cfg), log, e.stderr, e.getenv)
	if errors.Is(err, command.ErrSpec) {
		return cli.Usage(err)
	} else if err != nil {
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
	stopLive, err := lm.ServeAt(ctx, cfg.ListenAddress, f.webConfig, "servebench runner", e.stderr, log)
	if err != nil {
		return cli.Usage(err)
	}
	defer stopLive(f.linger) // every summary is published by then
	dir, err := orchestrate.Session{Setup: st, Resume: run, Args: e.args, Driver: driver, Load: load, Live: lm,
		APIKey: apiKey, ModelCache: f.modelCache, Secrets: secretsFromEnv(e.getenv), EnginePort: f.enginePort, EngineMetricsEvery: f.engineMetricsEvery,
		Progress: e.stderr, TTY: cli.IsTTY(e.stderr), Log: log, LogFile: e.runLog.Attach}.Execute(ctx)
	// A run whose levels had no successful request, or whose cells failed
	// after measuring, still shows its table: it says what the levels did.
	if dir != "" && ctx.Err() == nil && (err == nil || errors.Is(err, loadgen.ErrNoSuccess) || errors.Is(err, orchestrate.ErrCellsFailed)) {
		if rerr := orchestrate.WriteTable(e.stdout, dir); rerr != nil {
			log.Warn("results table", "err", rerr)
		}
	}
	return err
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

// printDryRun prints everything start would do, with how each cell's load
// runs.
func printDryRun(w io.Writer, st *orchestrate.Setup, lo metered.Launch, enginePort int, getenv func(string) string) error {
	cfg := st.Config
	return st.WriteDryRun(w, orchestrate.DryRun{Secrets: secretsFromEnv(getenv), EnginePort: enginePort, DockerHost: getenv("DOCKER_HOST"),
		Load: func(c suite.Cell) (string, []string) {
			if cfg.Loadgen == "native" {
				return metered.Describe(cfg.Loadgen, c.API, lo), nil
			}
			return metered.Describe(cfg.Loadgen, c.API, lo), metered.Commands(cfg, c, c.Model, lo)
		}})
}
