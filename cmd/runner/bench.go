package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/runner/audio"
	benchrun "github.com/servebench/servebench/runner/bench"
	"github.com/servebench/servebench/runner/live"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/workload"
)

func init() {
	register(newBenchCmd)
}

// benchFlags are runner bench's flags after parsing.
type benchFlags struct {
	cfg           loadgen.Config
	output        string
	requests      string
	format        string
	listen        string
	webConfig     string
	failInvalid   bool
	cores         int
	requestChunks bool
	progressTick  time.Duration
	linger        time.Duration
	pushURLs      []string
	o             loadgen.Options
	apiKeyFile    string
}

func newBenchCmd(e *env) *cobra.Command {
	f := &benchFlags{}
	c := &cobra.Command{
		Use:   "bench --target URL --profile PROFILE [--rate R,...] (--workload NAME | --data SPEC|FILE) [flags]",
		Short: "run one benchmark (one or more load levels) against an OpenAI-compatible URL",
		Long: `Runs one benchmark against a server someone else started: one load level per
--rate value (or the levels a sweep finds), measured from the scheduled send,
with the live series on /metrics while it runs. The summary goes to standard
output or --output; per-request records to --requests.`,
		Example: `  runner bench --target http://127.0.0.1:8000 --profile constant --rate 1,4 \
    --workload chat_lite --max-seconds 60 --output summary.json --requests requests.jsonl
  runner bench --target http://127.0.0.1:8000 --profile concurrent --rate 1,8,32 --data prompt_tokens=512,output_tokens=128
  runner bench --target http://127.0.0.1:8000 --profile sweep --workload chat --max-seconds 30 --fail-invalid`,
		Args: cli.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.parse(e.getenv); err != nil {
				return err
			}
			return runBench(c.Context(), e, f)
		},
	}
	f.register(c.Flags())
	return c
}

func (f *benchFlags) register(fs *pflag.FlagSet) {
	c, o := &f.cfg, &f.o
	fs.StringVar(&c.Target, "target", "", "base `URL` of the server, e.g. http://127.0.0.1:8000 (required)")
	fs.StringVar(&c.Model, "model", "", "model `NAME` (default: the first one /v1/models lists)")
	fs.StringVar(&o.API, "api", "", "API: chat, completions, embeddings or transcriptions (default: the workload's, else chat)")
	fs.StringVar(&o.Profile, "profile", "", "load profile: "+loadgen.Kinds()+" (required)")
	fs.StringVar(&o.Rates, "rate", "", "comma-separated levels: streams for concurrent/throughput, req/s for constant/poisson/gamma")
	fs.Float64Var(&c.Burstiness, "burstiness", 1, "gamma profile: shape of the inter-arrival gaps (1 = Poisson, <1 burstier, inf = constant)")
	fs.Float64Var(&c.RampFrom, "ramp-from", 0, "ramp profile: req/s at the start")
	fs.Float64Var(&c.RampTo, "ramp-to", 0, "ramp profile: req/s at the end of the ramp, then held")
	fs.Float64Var(&o.RampSeconds, "ramp-seconds", 0, "ramp profile: ramp length, seconds")
	fs.Float64Var(&c.TimeScale, "time-scale", 1, "replay profile: factor on the trace's timestamps (2 = half speed)")
	fs.IntVar(&c.SweepSize, "sweep-size", 10, "sweep profile: benchmarks in all, synchronous and throughput included")
	fs.IntVar(&c.SweepStreams, "sweep-streams", 512, "sweep profile: streams of the throughput benchmark")
	fs.StringVar(&o.Data, "data", "", "synthetic spec prompt_tokens=N,output_tokens=M[,prompt_tokens_stdev=..,_min=..,_max=..] or a JSONL `file` (transcriptions: a manifest.jsonl of file and text)")
	fs.StringVar(&o.Workload, "workload", "", "catalogue workload: "+strings.Join(workload.Names(), ", ")+"; transcriptions: "+strings.Join(audio.WorkloadNames(), ", "))
	fs.IntVar(&c.PromptPool, "prompts", 0, "number of synthetic prompts requests cycle through (default 1024, or max-requests when fewer)")
	fs.BoolVar(&c.IgnoreEOS, "ignore-eos", true, "ask for exactly the output length (vLLM ignore_eos); a shorter answer is an early_eos error")
	fs.Float64Var(&o.MaxSeconds, "max-seconds", 0, "longest duration of each level, seconds")
	fs.IntVar(&c.MaxRequests, "max-requests", 0, "most requests of each level")
	fs.IntVar(&c.MaxErrors, "max-errors", 0, "stop a level after this many failed requests (0 = no limit)")
	fs.Float64Var(&c.MaxErrorRate, "max-error-rate", 0, "stop a level when the failed share passes this fraction (0 = no limit)")
	fs.BoolVar(&c.StopOverSaturated, "stop-over-saturated", false, "stop a constant, poisson or gamma level once the over-saturation detector finds the server cannot keep up (a sweep always does)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 0, "open loop: drop (and count) sends due while this many requests are in flight (0 = no cap)")
	fs.Float64Var(&o.Warmup, "warmup", 0, "warmup cut by scheduled time: seconds, or below 1 a fraction of max-seconds")
	fs.Float64Var(&o.Cooldown, "cooldown", 0, "cooldown cut by scheduled time: seconds, or below 1 a fraction of max-seconds")
	fs.Float64Var(&o.RequestTimeout, "request-timeout", 600, "per-request timeout, seconds")
	fs.Float64Var(&o.ProbeTimeout, "probe-timeout", loadgen.DefaultProbeTimeout.Seconds(), "how long each request before the first benchmark (model list, /tokenize) may take, seconds")
	fs.Float64Var(&o.DrainTimeout, "drain-timeout", loadgen.DefaultDrainTimeout.Seconds(), "how long in-flight requests may finish after sending stops before they are cut and recorded incomplete, seconds")
	fs.BoolVar(&c.RetryAfter, "retry-after", false, "closed loops: after a 429, a stream waits as long as its Retry-After header says before its next request")
	fs.Float64Var(&o.UnreachableAfter, "unreachable-after", loadgen.DefaultUnreachableAfter.Seconds(), "end the run when the server refuses every connection for this long mid-level (it died), seconds (0 = never)")
	fs.Float64Var(&o.StreamIdleTimeout, "stream-idle-timeout", loadgen.DefaultStreamIdleTimeout.Seconds(), "end a stream that receives nothing for this long after its first token as a stalled error, seconds (0 = never)")
	fs.Float64Var(&o.Grace, "interrupt-grace", 10, "after an interrupt, how long in-flight requests may finish before they are cut, seconds")
	fs.BoolVar(&c.Stream, "stream", true, "stream responses (SSE); embeddings are never streamed")
	fs.Uint64Var(&c.Seed, "seed", 42, "seed of the prompts, output lengths and random schedules")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "`file` holding the API key (default: $SERVEBENCH_API_KEY)")
	fs.StringArrayVar(&o.Headers, "header", nil, "extra request header `K=V` (repeatable)")
	fs.StringArrayVar(&o.SecretHeaders, "secret-header", nil, "extra request header `K=V` whose value is a secret: masked in every stored or logged server text, like the API key and Authorization (repeatable)")
	fs.StringVar(&o.ExtraBody, "extra-body", "", "JSON object merged into every request body (null removes a key)")
	fs.StringVar(&f.output, "output", "", "summary `file` (default: standard output)")
	fs.StringVar(&f.requests, "requests", "", "per-request records, JSON lines `file` (no prompt text)")
	fs.BoolVar(&f.requestChunks, "request-chunks", true, "include every chunk's arrival in --requests (false: much smaller files, no per-gap data)")
	fs.StringVar(&f.format, "format", "json", "summary format: json or csv")
	fs.StringVar(&f.listen, "web.listen-address", "127.0.0.1:9464", "address of the live /metrics endpoint (\"off\" disables)")
	fs.DurationVar(&f.linger, "web.linger", defaultLinger, lingerUsage)
	addPushFlag(fs, &f.pushURLs)
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web configuration (TLS, basic auth)")
	fs.Float64Var(&o.MaxLatenessShare, "valid.max-lateness-share", 0.10, "validity: highest p99 send lateness as a share of the TTFT p50 (E2E p50 without a first token) before the client is judged the bottleneck")
	fs.Float64Var(&o.MaxLatenessMs, "valid.max-lateness", 0, "validity: an absolute bound on the p99 send lateness as well, ms (0 = none)")
	fs.IntVar(&o.MinSamples, "valid.min-samples", results.DefaultMinSamplesP99, "validity: samples a p99 needs (p90 a tenth, p95 a fifth, p99.9 ten times); with fewer the percentile is null")
	fs.Float64Var(&o.MaxErrorRate, "valid.max-error-rate", 0.01, "validity: highest failed share (negative disables)")
	fs.BoolVar(&f.failInvalid, "fail-invalid", false, "exit 3 when a benchmark is flagged invalid")
	fs.IntVar(&o.Cores, "cores", 0, "cores the server runs on, for the cores label and summary (0 = unknown)")
	fs.DurationVar(&f.progressTick, "progress-interval", 5*time.Second, "how often the progress line is printed")
}

// parse checks the flags and builds the load generator's configuration.
func (f *benchFlags) parse(getenv func(string) string) error {
	var err error
	if f.format != "json" && f.format != "csv" {
		return usagef("--format %q: want json or csv", f.format)
	}
	if err := f.o.Apply(&f.cfg); err != nil {
		return cli.Usage(err)
	}
	if f.cfg.APIKey, err = readAPIKey(f.apiKeyFile, getenv); err != nil {
		return cli.Usage(err)
	}
	if err := webserver.Validate(f.webConfig); err != nil {
		return usagef("--web.config.file: %v", err)
	}
	return nil
}

func runBench(ctx context.Context, e *env, f *benchFlags) error {
	c := &f.cfg
	c.Log = e.log
	c.Progress, c.ProgressTTY, c.ProgressEvery = e.stderr, cli.IsTTY(e.stderr), f.progressTick
	files, err := benchrun.Open(benchrun.Outputs{Summary: e.stdout, SummaryFile: f.output, CSV: f.format == "csv",
		RequestsFile: f.requests, Chunks: f.requestChunks})
	if err != nil {
		return cli.Usage(err)
	}
	defer files.Abort()
	r := benchrun.Run{ID: "bench-" + store.NewRunID(time.Now()), Cores: f.o.Cores, Linger: f.linger, FailInvalid: f.failInvalid, Log: e.log}
	if pushTo := pushURLs(f.pushURLs, e.getenv); live.Listening(f.listen) || len(pushTo) > 0 {
		// The run_info series is labelled with the model: know it first.
		if c.Model == "" {
			if c.Model, err = loadgen.ResolveModel(ctx, loadgen.NewClient(), c.Target, c.Headers(), c.ProbeTimeout); err != nil {
				return err
			}
		}
		info := recorder.RunInfo{RunID: r.ID, Suite: "bench", Model: c.Model, Engine: "external", Loadgen: "native"}
		if r.Live, err = live.StartRun(ctx, info, live.RunOptions{Listen: f.listen, WebConfig: f.webConfig, PushTo: pushTo,
			Name: "servebench runner bench", Console: e.stderr, Log: e.log}); err != nil {
			return cli.Usage(err)
		}
		defer r.Live.Stop()
	}
	r.Config = *c
	switch err := files.Run(ctx, r); {
	case errors.Is(err, loadgen.ErrConfig):
		return cli.Usage(err)
	case errors.Is(err, benchrun.ErrInvalid):
		return exitError{exitRegression, err}
	default:
		return err
	}
}
