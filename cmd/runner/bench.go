package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/internal/bounds"
	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/pacer"
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
	// raw values, parsed by parse
	api, profile, rate, data, wl, apiKeyFile, extraBody          string
	rampSeconds, maxSeconds, warmup, cooldown, timeout, drain    float64
	grace, maxLate, lateShare, errRate, probe, idle, unreachable float64
	minSamples                                                   int
	headers, secretHeaders                                       []string
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
	c := &f.cfg
	api, profile, rate, data, wl := &f.api, &f.profile, &f.rate, &f.data, &f.wl
	rampSeconds, maxSeconds, warmup, cooldown := &f.rampSeconds, &f.maxSeconds, &f.warmup, &f.cooldown
	timeout, drain, grace, apiKeyFile, extraBody := &f.timeout, &f.drain, &f.grace, &f.apiKeyFile, &f.extraBody
	maxLate, minSamples, errRate := &f.maxLate, &f.minSamples, &f.errRate
	fs.StringVar(&c.Target, "target", "", "base `URL` of the server, e.g. http://127.0.0.1:8000 (required)")
	fs.StringVar(&c.Model, "model", "", "model `NAME` (default: the first one /v1/models lists)")
	fs.StringVar(api, "api", "", "API: chat, completions, embeddings or transcriptions (default: the workload's, else chat)")
	fs.StringVar(profile, "profile", "", "load profile: "+kindList()+" (required)")
	fs.StringVar(rate, "rate", "", "comma-separated levels: streams for concurrent/throughput, req/s for constant/poisson/gamma")
	fs.Float64Var(&c.Burstiness, "burstiness", 1, "gamma profile: shape of the inter-arrival gaps (1 = Poisson, <1 burstier, inf = constant)")
	fs.Float64Var(&c.RampFrom, "ramp-from", 0, "ramp profile: req/s at the start")
	fs.Float64Var(&c.RampTo, "ramp-to", 0, "ramp profile: req/s at the end of the ramp, then held")
	fs.Float64Var(rampSeconds, "ramp-seconds", 0, "ramp profile: ramp length, seconds")
	fs.Float64Var(&c.TimeScale, "time-scale", 1, "replay profile: factor on the trace's timestamps (2 = half speed)")
	fs.IntVar(&c.SweepSize, "sweep-size", 10, "sweep profile: benchmarks in all, synchronous and throughput included")
	fs.IntVar(&c.SweepStreams, "sweep-streams", 512, "sweep profile: streams of the throughput benchmark")
	fs.StringVar(data, "data", "", "synthetic spec prompt_tokens=N,output_tokens=M[,prompt_tokens_stdev=..,_min=..,_max=..] or a JSONL `file` (transcriptions: a manifest.jsonl of file and text)")
	fs.StringVar(wl, "workload", "", "catalogue workload: "+strings.Join(workload.Names(), ", ")+"; transcriptions: "+strings.Join(audio.WorkloadNames(), ", "))
	fs.IntVar(&c.PromptPool, "prompts", 0, "number of synthetic prompts requests cycle through (default 1024, or max-requests when fewer)")
	fs.BoolVar(&c.IgnoreEOS, "ignore-eos", true, "ask for exactly the output length (vLLM ignore_eos); a shorter answer is an early_eos error")
	fs.Float64Var(maxSeconds, "max-seconds", 0, "longest duration of each level, seconds")
	fs.IntVar(&c.MaxRequests, "max-requests", 0, "most requests of each level")
	fs.IntVar(&c.MaxErrors, "max-errors", 0, "stop a level after this many failed requests (0 = no limit)")
	fs.Float64Var(&c.MaxErrorRate, "max-error-rate", 0, "stop a level when the failed share passes this fraction (0 = no limit)")
	fs.BoolVar(&c.StopOverSaturated, "stop-over-saturated", false, "stop a constant, poisson or gamma level once the over-saturation detector finds the server cannot keep up (a sweep always does)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 0, "open loop: drop (and count) sends due while this many requests are in flight (0 = no cap)")
	fs.Float64Var(warmup, "warmup", 0, "warmup cut by scheduled time: seconds, or below 1 a fraction of max-seconds")
	fs.Float64Var(cooldown, "cooldown", 0, "cooldown cut by scheduled time: seconds, or below 1 a fraction of max-seconds")
	fs.Float64Var(timeout, "request-timeout", 600, "per-request timeout, seconds")
	fs.Float64Var(&f.probe, "probe-timeout", loadgen.DefaultProbeTimeout.Seconds(), "how long each request before the first benchmark (model list, /tokenize) may take, seconds")
	fs.Float64Var(drain, "drain-timeout", loadgen.DefaultDrainTimeout.Seconds(), "how long in-flight requests may finish after sending stops before they are cut and recorded incomplete, seconds")
	fs.BoolVar(&c.RetryAfter, "retry-after", false, "closed loops: after a 429, a stream waits as long as its Retry-After header says before its next request")
	fs.Float64Var(&f.unreachable, "unreachable-after", loadgen.DefaultUnreachableAfter.Seconds(), "end the run when the server refuses every connection for this long mid-level (it died), seconds (0 = never)")
	fs.Float64Var(&f.idle, "stream-idle-timeout", loadgen.DefaultStreamIdleTimeout.Seconds(), "end a stream that receives nothing for this long after its first token as a stalled error, seconds (0 = never)")
	fs.Float64Var(grace, "interrupt-grace", 10, "after an interrupt, how long in-flight requests may finish before they are cut, seconds")
	fs.BoolVar(&c.Stream, "stream", true, "stream responses (SSE); embeddings are never streamed")
	fs.Uint64Var(&c.Seed, "seed", 42, "seed of the prompts, output lengths and random schedules")
	fs.StringVar(apiKeyFile, "api-key-file", "", "`file` holding the API key (default: $SERVEBENCH_API_KEY)")
	fs.StringArrayVar(&f.headers, "header", nil, "extra request header `K=V` (repeatable)")
	fs.StringArrayVar(&f.secretHeaders, "secret-header", nil, "extra request header `K=V` whose value is a secret: masked in every stored or logged server text, like the API key and Authorization (repeatable)")
	fs.StringVar(extraBody, "extra-body", "", "JSON object merged into every request body (null removes a key)")
	fs.StringVar(&f.output, "output", "", "summary `file` (default: standard output)")
	fs.StringVar(&f.requests, "requests", "", "per-request records, JSON lines `file` (no prompt text)")
	fs.BoolVar(&f.requestChunks, "request-chunks", true, "include every chunk's arrival in --requests (false: much smaller files, no per-gap data)")
	fs.StringVar(&f.format, "format", "json", "summary format: json or csv")
	fs.StringVar(&f.listen, "web.listen-address", "127.0.0.1:9464", "address of the live /metrics endpoint (\"off\" disables)")
	fs.DurationVar(&f.linger, "web.linger", defaultLinger, lingerUsage)
	addPushFlag(fs, &f.pushURLs)
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web configuration (TLS, basic auth)")
	fs.Float64Var(&f.lateShare, "valid.max-lateness-share", 0.10, "validity: highest p99 send lateness as a share of the TTFT p50 (E2E p50 without a first token) before the client is judged the bottleneck")
	fs.Float64Var(maxLate, "valid.max-lateness", 0, "validity: an absolute bound on the p99 send lateness as well, ms (0 = none)")
	fs.IntVar(minSamples, "valid.min-samples", results.DefaultMinSamplesP99, "validity: samples a p99 needs (p90 a tenth, p95 a fifth, p99.9 ten times); with fewer the percentile is null")
	fs.Float64Var(errRate, "valid.max-error-rate", 0.01, "validity: highest failed share (negative disables)")
	fs.BoolVar(&f.failInvalid, "fail-invalid", false, "exit 3 when a benchmark is flagged invalid")
	fs.IntVar(&f.cores, "cores", 0, "cores the server runs on, for the cores label and summary (0 = unknown)")
	fs.DurationVar(&f.progressTick, "progress-interval", 5*time.Second, "how often the progress line is printed")
}

// parse checks the flags and builds the load generator's configuration.
func (f *benchFlags) parse(getenv func(string) string) error {
	c := &f.cfg
	api, profile, rate, data, wl := &f.api, &f.profile, &f.rate, &f.data, &f.wl
	rampSeconds, maxSeconds, warmup, cooldown := &f.rampSeconds, &f.maxSeconds, &f.warmup, &f.cooldown
	timeout, drain, grace, apiKeyFile, extraBody := &f.timeout, &f.drain, &f.grace, &f.apiKeyFile, &f.extraBody
	maxLate, minSamples, errRate, headers := &f.maxLate, &f.minSamples, &f.errRate, f.headers
	var err error
	if c.Target == "" {
		return usagef("--target is required")
	}
	if *profile == "" {
		return usagef("--profile is required (%s)", kindList())
	}
	k, err := pacer.ParseKind(*profile)
	if err != nil {
		return usagef("--profile: %v", err)
	}
	c.Profile = k
	if *rate != "" {
		for _, s := range strings.Split(*rate, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return usagef("--rate: %q is not a number", s)
			}
			c.Rates = append(c.Rates, v)
		}
	}
	if !(c.Burstiness > 0) {
		return usagef("--burstiness: %v must be above 0", c.Burstiness)
	}
	// Seconds are range-checked before they become Durations, which
	// would overflow; loadgen.Bounds decides the ranges.
	l := &loadgen.Bounds
	for _, d := range []struct {
		dst *time.Duration
		r   bounds.Range
		v   float64
	}{
		{&c.RampOver, l.RampSeconds, *rampSeconds}, {&c.MaxSeconds, l.MaxSeconds, *maxSeconds},
		{&c.RequestTimeout, l.RequestTimeout, *timeout}, {&c.ProbeTimeout, l.ProbeTimeout, f.probe},
		{&c.DrainTimeout, l.DrainTimeout, *drain}, {&c.InterruptGrace, l.InterruptGrace, *grace},
	} {
		if *d.dst, err = d.r.Seconds(d.v); err != nil {
			return usagef("--%v", err)
		}
	}
	if f.unreachable == 0 {
		c.UnreachableAfter = -1 // never
	} else if c.UnreachableAfter, err = l.UnreachableAfter.Seconds(f.unreachable); err != nil {
		return usagef("--%v", err)
	}
	if f.idle == 0 {
		c.StreamIdleTimeout = -1 // never
	} else if c.StreamIdleTimeout, err = l.StreamIdleTimeout.Seconds(f.idle); err != nil {
		return usagef("--%v", err)
	}
	c.Warmup, c.Cooldown = loadgen.Span(*warmup), loadgen.Span(*cooldown)

	switch {
	case *api == string(measure.APITranscriptions):
		if c.Audio, c.Labels.Workload, err = audio.Recordings(*wl, *data); err != nil {
			return usagef("--workload/--data: %v", err)
		}
	case *data != "" && *wl != "":
		return usagef("--data and --workload: give one")
	case *wl != "":
		if c.Workload, err = workload.Lookup(*wl); err != nil {
			return usagef("--workload: %v", err)
		}
	case strings.Contains(*data, "="):
		if c.Workload, err = workload.ParseData(*data); err != nil {
			return usagef("--data: %v", err)
		}
	case *data != "":
		fh, err := os.Open(*data)
		if err != nil {
			return usagef("--data: %v", err)
		}
		set, err := workload.ReadFile(fh)
		fh.Close()
		if err != nil {
			return usagef("--data %s: %v", *data, err)
		}
		c.Prompts = &set
		c.Labels.Workload = strings.TrimSuffix(filepath.Base(*data), filepath.Ext(*data))
	default:
		return usagef("--data or --workload is required")
	}
	switch {
	case *api != "":
		a, err := measure.ParseAPI(*api)
		if err != nil {
			return usagef("--api: %v", err)
		}
		c.API = a
	case c.Workload.API != "":
		c.API = c.Workload.API
	default:
		c.API = measure.APIChat
	}

	if c.APIKey, err = readAPIKey(*apiKeyFile, getenv); err != nil {
		return cli.Usage(err)
	}
	for i, h := range append(headers, f.secretHeaders...) {
		flag := "--header"
		if i >= len(headers) {
			flag = "--secret-header"
		}
		k, v, ok := strings.Cut(h, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return usagef("%s %q: want K=V", flag, h)
		}
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header.Add(k, v)
		if flag == "--secret-header" {
			c.SecretHeaders = append(c.SecretHeaders, k)
		}
	}
	if *extraBody != "" {
		if err := json.Unmarshal([]byte(*extraBody), &c.ExtraBody); err != nil || c.ExtraBody == nil {
			return usagef("--extra-body: want a JSON object: %v", err)
		}
	}
	if f.format != "json" && f.format != "csv" {
		return usagef("--format %q: want json or csv", f.format)
	}
	if f.lateShare <= 0 || *maxLate < 0 || *minSamples < 1 {
		return usagef("--valid.max-lateness-share and --valid.min-samples must be positive, --valid.max-lateness not negative")
	}
	maxErr := *errRate
	if maxErr == 0 {
		maxErr = 1e-12 // 0 would select the default; zero tolerance is "any failure"
	}
	c.Validity = results.Validity{MaxLatenessShare: f.lateShare, MaxLatenessP99: time.Duration(*maxLate * float64(time.Millisecond)), MinSamplesP99: *minSamples, MaxErrorRate: maxErr}
	if err := loadgen.Bounds.Cores.Int(f.cores); err != nil {
		return usagef("--%v", err)
	}
	if f.cores > 0 {
		c.Labels.Cores = strconv.Itoa(f.cores)
	}
	if err := c.Validate(); err != nil {
		return cli.Usage(err)
	}
	if err := webserver.Validate(f.webConfig); err != nil {
		return usagef("--web.config.file: %v", err)
	}
	return nil
}

func kindList() string {
	s := make([]string, len(pacer.Kinds))
	for i, k := range pacer.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, "|")
}

func runBench(ctx context.Context, e *env, f *benchFlags) error {
	var err error
	c := &f.cfg
	c.Log = e.log
	c.Progress, c.ProgressTTY, c.ProgressEvery = e.stderr, isTTY(e.stderr), f.progressTick

	// Create the outputs first, beside their destinations: a typo in a
	// path should not cost a run, and an existing file is replaced only by
	// a complete new one (a failed run leaves it as it was).
	out := e.stdout
	if f.output != "" {
		af, err := atomicfile.Create(f.output, 0o644)
		if err != nil {
			return usagef("--output: %v", err)
		}
		defer af.Abort()
		out = af
	}
	var reqF *atomicfile.File
	var reqW *results.RequestWriter
	if f.requests != "" {
		if reqF, err = atomicfile.Create(f.requests, 0o644); err != nil {
			return usagef("--requests: %v", err)
		}
		defer reqF.Abort()
		reqW = results.NewRequestWriter(reqF)
	}

	// The run's id goes into summary.json (for backfill) and on every
	// series it publishes.
	runID := "bench-" + store.NewRunID(time.Now())
	var rec measure.Recorder = measure.Discard
	var live *benchLive
	listen := f.listen != "off" && f.listen != ""
	if pushTo := pushURLs(f.pushURLs, e.getenv); listen || len(pushTo) > 0 {
		// The run_info series is labelled with the model: know it first.
		if c.Model == "" {
			if c.Model, err = loadgen.ResolveModel(ctx, loadgen.NewClient(), c.Target, c.Headers(), c.ProbeTimeout); err != nil {
				return err
			}
		}
		live, err = newBenchLive(ctx, f, runID, listen, pushTo, e.log, e.stderr)
		if err != nil {
			return err
		}
		defer live.stop()
		rec = live.levels
	}

	// A requests file that cannot be written stops the run at once: the
	// rest would be measured for nothing.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	var sinkErr error
	var flushed time.Time
	sink := func(r *measure.Result) {
		if reqW != nil && sinkErr == nil {
			if !f.requestChunks {
				slim := *r
				slim.Chunks = nil
				r = &slim
			}
			sinkErr = reqW.Write(r)
			if now := time.Now(); sinkErr == nil && now.Sub(flushed) >= time.Second {
				// Out of the buffer at least every second: a full disk
				// shows now, not when the buffer fills minutes later.
				sinkErr, flushed = reqW.Flush(), now
			}
			if sinkErr != nil {
				sinkErr = fmt.Errorf("--requests: %w: %w", store.ErrWrite, sinkErr)
				stopRun(loadgen.Abort(sinkErr))
			}
		}
	}
	started := time.Now()
	sum, runErr := loadgen.Run(runCtx, *c, rec, sink)
	if errors.Is(runErr, loadgen.ErrConfig) {
		return cli.Usage(runErr)
	}
	if sinkErr != nil && ctx.Err() == nil {
		runErr = sinkErr // not an interrupt: the write failed
	}
	if sum == nil {
		return runErr
	}
	sum.Cores = f.cores
	sum.RunID = runID
	var pushErr error
	if live != nil {
		live.publish(sum)
		status := contract.RunComplete
		switch {
		case ctx.Err() != nil:
			status = contract.RunIncomplete
		case runErr != nil:
			status = contract.RunFailed
		}
		pushErr = live.m.finish(ctx, recorder.RunCompletion{RunID: runID, Suite: "bench", Models: []string{c.Model}, Status: status,
			Started: started, Finished: time.Now()}, e.log)
		defer live.linger(ctx, time.Now(), f.linger)
	}
	// Whatever happened, write what was measured.
	var werr error
	if f.format == "csv" {
		werr = results.WriteCSV(out, sum)
	} else {
		werr = results.WriteSummary(out, sum)
	}
	if af, ok := out.(*atomicfile.File); ok && werr == nil {
		werr = af.Commit()
	}
	if werr != nil {
		werr = fmt.Errorf("--output: %w: %w", store.ErrWrite, werr)
	}
	if reqW != nil && sinkErr == nil {
		if err := reqW.Flush(); err != nil {
			werr = errors.Join(werr, fmt.Errorf("--requests: %w: %w", store.ErrWrite, err))
		} else if err := reqF.Commit(); err != nil {
			werr = errors.Join(werr, fmt.Errorf("--requests: %w: %w", store.ErrWrite, err))
		}
	}
	if runErr != nil && ctx.Err() == nil {
		return errors.Join(runErr, werr, pushErr)
	}
	if werr = errors.Join(werr, pushErr); werr != nil {
		return werr
	}
	if ctx.Err() != nil {
		return nil // interrupted: what was measured is written
	}
	if err := loadgen.CheckSuccess(sum.Benchmarks); err != nil {
		return err
	}
	if f.failInvalid {
		for _, b := range sum.Benchmarks {
			if !b.Valid {
				return exitError{exitRegression, fmt.Errorf("benchmark %s is invalid: %s", b.Level, strings.Join(b.InvalidReasons, "; "))}
			}
		}
	}
	return nil
}

// benchLive is runner bench's live endpoint (when listening) and push
// targets: the per-request series while benchmarks run, then each finished
// benchmark's summary series and the run's completion, as runner start
// publishes them.
type benchLive struct {
	runID   string
	m       *liveMetrics
	levels  *levelCloses
	log     *slog.Logger
	stop    func()
	scrapes *webserver.Scrapes // nil when not listening
}

// publish puts every benchmark of sum on the endpoint and the push targets,
// labelled as its live series and stamped with the time its level ended.
func (b *benchLive) publish(sum *results.Summary) {
	for _, bm := range sum.Benchmarks {
		l, at := b.levels.of(bm.Level)
		if err := b.m.pub.Publish(results.SummaryOf(b.runID, l, bm, at)); err != nil {
			b.log.Warn("publish benchmark summary", "level", bm.Level, "err", err)
		}
	}
}

// linger keeps the endpoint up, for at most d, until every scraper seen
// has taken a scrape that began after published.
func (b *benchLive) linger(ctx context.Context, published time.Time, d time.Duration) {
	awaitFinalScrape(ctx, b.scrapes, published, d, b.log)
}

// newBenchLive builds the live series and push targets of run runID and,
// when listen is set, serves them until stop is called.
func newBenchLive(ctx context.Context, f *benchFlags, runID string, listen bool, pushTo []string, log *slog.Logger, progress io.Writer) (*benchLive, error) {
	m, err := newLiveMetrics(recorder.Options{NativeHistograms: true}, "", "", pushTo, log)
	if err != nil {
		return nil, err
	}
	info := recorder.RunInfo{RunID: runID, Suite: "bench", Model: f.cfg.Model, Engine: "external", Loadgen: "native"}
	b := &benchLive{runID: runID, m: m, levels: newLevelCloses(m.rec), log: log}
	stopServer := func() {}
	if listen {
		l, err := listenLive(f.listen, progress)
		if err != nil {
			return nil, err
		}
		b.scrapes, stopServer = m.serve(ctx, l, f.webConfig, "servebench runner bench", log)
	}
	m.rec.StartRun(info)
	b.stop = func() { m.rec.EndRun(info); stopServer() }
	return b, nil
}

// levelCloses passes a recorder through and remembers each benchmark's
// labels and the time it closed.
type levelCloses struct {
	measure.Recorder
	mu     sync.Mutex
	labels map[string]measure.BenchmarkLabels
	closed map[string]time.Time
}

func newLevelCloses(r measure.Recorder) *levelCloses {
	return &levelCloses{Recorder: r, labels: map[string]measure.BenchmarkLabels{}, closed: map[string]time.Time{}}
}

func (r *levelCloses) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	r.mu.Lock()
	r.labels[l.Level] = l
	r.mu.Unlock()
	return closeTimer{BenchmarkRecorder: r.Recorder.Benchmark(l), r: r, level: l.Level}
}

// of returns a level's labels and close time (now when it never closed).
func (r *levelCloses) of(level string) (measure.BenchmarkLabels, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.labels[level]
	if !ok {
		l = measure.BenchmarkLabels{Suite: "bench", Level: level}
	}
	at, ok := r.closed[level]
	if !ok {
		at = time.Now()
	}
	return l, at
}

type closeTimer struct {
	measure.BenchmarkRecorder
	r     *levelCloses
	level string
}

func (c closeTimer) Close() {
	c.BenchmarkRecorder.Close()
	c.r.mu.Lock()
	c.r.closed[c.level] = time.Now()
	c.r.mu.Unlock()
}
