// Package loadgen is servebench's native load generator: it runs one or more
// benchmarks (load levels) against an OpenAI-compatible server and returns
// their summary. runner bench and the suite runner both call Run in-process.
//
// Contract:
//   - Every level keeps to its Budget: it sends during warmup, window and
//     cooldown (MaxSeconds) and never after; requests still in flight then
//     get DrainTimeout and are cut. A level ends within Budget.Total() +
//     BudgetSlack of its first scheduled send, open loop or closed.
//   - Open-loop profiles send at the pacer's schedule whatever the server
//     does; a send that could not go out on time goes out late and its
//     lateness is recorded, unless the end of sending has passed by then:
//     it is then missed (counted with its lateness), never fired late. With
//     MaxInFlight set, a send due at the cap is dropped and counted
//     instead. Latency is measured from the scheduled send.
//     Closed-loop profiles (synchronous, concurrent, throughput) schedule a
//     request when its stream becomes free.
//   - Every request becomes a measure.Result, failed ones too. Each is given
//     to the recorder's BenchmarkRecorder (FirstToken as its first token
//     arrives, Finished at its end, from the request's goroutine: the
//     recorder must be safe for concurrent use) and then to sink, which is
//     called from one goroutine at a time, in completion order.
//   - Warmup and cooldown are cut by scheduled time; requests outside the
//     window are still sent and recorded (Phase says where they fell) but
//     enter no per-request figure; throughput counts the window's events.
//   - A request cut at the drain deadline is incomplete, with what it
//     received (first token, chunks, tokens). A stream silent for
//     StreamIdleTimeout after its first token ends as an error of kind
//     stalled.
//   - When ctx is canceled, sending stops at once, in-flight requests get
//     the drain, at most InterruptGrace, and Run returns the summary of what
//     was measured together with ctx's error. A level aborted from within
//     (level.abort) ends at once and Run returns an error wrapping
//     ErrAborted and its cause.
//   - A level with no successful request is data, not an error of Run;
//     CheckSuccess turns a summary into the error a run fails with.
//
// Run may be called concurrently with different Configs.
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/redact"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/saturation"
	"github.com/servebench/servebench/runner/workload"
)

// Span is a warmup or cooldown length: below 1 a fraction of MaxSeconds,
// from 1 on a number of seconds.
type Span float64

func (s Span) duration(maxSeconds time.Duration) (time.Duration, error) {
	switch {
	case s < 0 || math.IsNaN(float64(s)):
		return 0, fmt.Errorf("%v is negative", float64(s))
	case s == 0:
		return 0, nil
	case s < 1:
		if maxSeconds <= 0 {
			return 0, fmt.Errorf("%v is a fraction of max-seconds, which is not set", float64(s))
		}
		return time.Duration(float64(s) * float64(maxSeconds)), nil
	}
	return time.Duration(float64(s) * float64(time.Second)), nil
}

// Config is one runner bench invocation: where, what, how hard, how long.
type Config struct {
	Target string      // base URL of the server, e.g. http://127.0.0.1:8000
	Model  string      // "" = the first model /v1/models lists
	API    measure.API // chat (default), completions or embeddings
	Stream bool        // ask for SSE streams (embeddings are never streamed)

	Profile    pacer.Kind
	Rates      []float64 // one benchmark per value: req/s (open loop) or streams (closed loop)
	Burstiness float64   // gamma profile
	RampFrom   float64   // ramp profile: req/s at the start
	RampTo     float64   // ramp profile: req/s at the end of the ramp, then held
	RampOver   time.Duration
	TimeScale  float64 // replay profile: 2 = half speed
	SweepSize  int     // sweep: number of benchmarks, synchronous and throughput included (default 10)
	// SweepStreams is the throughput benchmark's stream count in a sweep
	// (default 512).
	SweepStreams int

	// Workload is the synthetic workload, used when Prompts is nil.
	Workload workload.Spec
	// Prompts, when set, are sent instead (from a file); for the replay
	// profile their timestamps are the trace.
	Prompts *workload.Set
	// Audio are the recordings sent with API transcriptions, in turn
	// (instead of prompts); Language is the language field sent ("" = en).
	Audio    []audio.Clip
	Language string
	// PromptPool is the number of synthetic prompts (default 1024, or
	// MaxRequests when smaller). Requests cycle through the pool.
	PromptPool int
	IgnoreEOS  bool // ask for exactly the output length; fewer tokens is early_eos

	MaxSeconds   time.Duration // per benchmark; 0 = no time limit
	MaxRequests  int           // per benchmark; 0 = no count limit
	MaxErrors    int           // stop a benchmark after this many failed requests (0 = no limit)
	MaxErrorRate float64       // stop when failed/finished passes this, after 20 requests (0 = no limit)
	// MaxInFlight caps an open loop's requests in flight; a send due while
	// at the cap is dropped and counted (the level is then invalid) rather
	// than queued. 0 = no cap.
	MaxInFlight    int
	Warmup         Span
	Cooldown       Span
	RequestTimeout time.Duration // default 10 min
	// ProbeTimeout bounds each request made before the first benchmark:
	// the model list and every /tokenize call (DefaultProbeTimeout when
	// zero). A server that accepts connections and never answers fails
	// the run within it.
	ProbeTimeout time.Duration
	// DrainTimeout bounds the wait for in-flight requests once sending
	// stopped (default DefaultDrainTimeout); those still running are cut
	// and recorded incomplete with what they received.
	DrainTimeout time.Duration
	// StreamIdleTimeout ends a stream that received nothing for this long
	// after its first byte as an error of kind stalled (default
	// DefaultStreamIdleTimeout; negative: never). Waiting for the first
	// byte is queueing and prefill, bounded by RequestTimeout only.
	StreamIdleTimeout time.Duration
	// UnreachableAfter ends a level whose target refused every connection
	// for this long (from the first request that could not connect, with
	// no answer since) as aborted, wrapping ErrUnreachable: a server that
	// died is not loaded for the rest of the level. Default
	// DefaultUnreachableAfter; negative: never.
	UnreachableAfter time.Duration
	// RetryAfter makes a closed-loop stream that got a 429 wait as long
	// as its Retry-After header says (seconds or an HTTP date; never past
	// the end of sending) before its next request, as a polite client
	// does. The 429 is recorded (kind rate_limited) either way; an open
	// loop keeps its schedule.
	RetryAfter bool
	// InterruptGrace bounds that wait once ctx is canceled (default 10 s),
	// so an interrupted run ends promptly even with minute-long requests.
	InterruptGrace time.Duration
	Seed           uint64

	// StopOverSaturated stops an open-loop level of constant offered rate
	// (constant, poisson, gamma) once the over-saturation detector finds
	// that the server does not keep up; without it the verdict is only
	// reported (Benchmark.OverSaturation). A sweep's levels always stop.
	StopOverSaturated bool
	// Saturation tunes the detector; zero fields take saturation.Default's.
	Saturation saturation.Config

	APIKey string
	Header http.Header
	// SecretHeaders names headers of Header whose values are secrets
	// besides the API key and the well-known credential headers
	// (Authorization, X-Api-Key, Cookie...): all of them are masked in any
	// server text that is stored or logged.
	SecretHeaders []string
	ExtraBody     map[string]any // merged into every request body; a nil value removes a key

	// Labels of the live series; Level is set per benchmark, empty Suite
	// becomes "bench", Loadgen "native", Model and Workload are filled in.
	Labels   measure.BenchmarkLabels
	Validity results.Validity

	Client *http.Client // nil = NewClient()
	Log    *slog.Logger // nil = discard
	// Progress receives a progress line every ProgressEvery (default 5 s);
	// nil = none. With ProgressTTY the line is redrawn in place.
	Progress      io.Writer
	ProgressEvery time.Duration
	ProgressTTY   bool
	// RunID makes the prompt prefix unique to the run; "" = random.
	RunID string
	// CPUTime returns the process's CPU time so far; nil = getrusage.
	CPUTime func() time.Duration

	// testLevelHook, when set, is called with each level once it starts.
	testLevelHook func(*level)
}

// ErrConfig wraps every configuration error Run returns before sending.
var ErrConfig = errors.New("invalid configuration")

func configErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// Validate checks the configuration as Run will, without contacting the
// server: callers that do other work first (runner bench looks the model
// up for its live endpoint) fail on bad input before anything else.
func (c Config) Validate() error {
	_, err := c.check()
	return err
}

// check validates cfg and applies defaults; it returns the level specs
// (nil for a sweep, whose levels depend on measurements).
func (c *Config) check() ([]pacer.Spec, error) {
	if c.Target == "" {
		return nil, configErr("target: empty")
	}
	c.Target = trimBase(c.Target)
	if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, configErr("target: %q: want http(s)://host:port", c.Target)
	}
	if err := c.checkBounds(); err != nil {
		return nil, err
	}
	if c.API == "" {
		c.API = measure.APIChat
	}
	if _, err := measure.ParseAPI(string(c.API)); err != nil {
		return nil, configErr("%v", err)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Minute
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.UnreachableAfter == 0 {
		c.UnreachableAfter = DefaultUnreachableAfter
	}
	if c.StreamIdleTimeout == 0 {
		c.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if c.InterruptGrace <= 0 {
		c.InterruptGrace = 10 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.MaxSeconds < 0 || c.MaxRequests < 0 || c.MaxErrors < 0 || c.MaxInFlight < 0 || c.MaxErrorRate < 0 || c.MaxErrorRate > 1 {
		return nil, configErr("limits: max-seconds, max-requests, max-errors, max-in-flight must be >= 0 and max-error-rate in [0,1]")
	}
	if c.MaxSeconds == 0 && c.MaxRequests == 0 && c.Profile != pacer.Replay {
		return nil, configErr("limits: set max-seconds or max-requests, or the benchmark never ends")
	}
	budget, err := c.Budget()
	if err != nil {
		return nil, configErr("%v", err)
	}
	if budget.Cooldown > 0 && c.MaxSeconds == 0 {
		return nil, configErr("cooldown: needs max-seconds (the end must be known to cut it)")
	}
	if c.API == measure.APITranscriptions {
		if len(c.Audio) == 0 {
			return nil, configErr("workload: transcriptions need audio recordings")
		}
	} else if c.Prompts == nil && c.Workload.Prompt.Mean < 1 {
		return nil, configErr("workload: no prompts and no synthetic workload")
	}
	if c.Prompts != nil && len(c.Prompts.Items) == 0 {
		return nil, configErr("workload: empty prompt set")
	}
	base := pacer.Spec{Kind: c.Profile, Burstiness: c.Burstiness, RampFrom: c.RampFrom, RampTo: c.RampTo,
		RampOver: c.RampOver, TimeScale: c.TimeScale, Seed: c.Seed}
	var specs []pacer.Spec
	switch c.Profile {
	case pacer.Sweep:
		if c.SweepSize == 0 {
			c.SweepSize = 10
		}
		if c.SweepSize < 2 {
			return nil, configErr("sweep-size: %d, need at least 2", c.SweepSize)
		}
		if c.SweepStreams == 0 {
			c.SweepStreams = 512
		}
		return nil, nil
	case pacer.Synchronous, pacer.Ramp:
		specs = []pacer.Spec{base}
	case pacer.Replay:
		if c.Prompts == nil || c.Prompts.Trace() == nil {
			return nil, configErr("replay: needs a --data file whose lines carry timestamps")
		}
		base.Trace = c.Prompts.Trace()
		specs = []pacer.Spec{base}
	default:
		if len(c.Rates) == 0 {
			return nil, configErr("rate: the %s profile needs at least one rate", c.Profile)
		}
		for _, r := range c.Rates {
			s := base
			s.Rate = r
			specs = append(specs, s)
		}
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return nil, configErr("%v", err)
		}
	}
	return specs, nil
}

// Run runs the configured benchmarks and returns their summary. Every
// Result goes to rec (live) and to sink (nil = none). A configuration error
// wraps ErrConfig; a server that cannot be reached before the first
// benchmark is an error; failures during benchmarks are data.
func Run(ctx context.Context, cfg Config, rec measure.Recorder, sink func(*measure.Result)) (*results.Summary, error) {
	specs, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = measure.Discard
	}
	if sink == nil {
		sink = func(*measure.Result) {}
	}
	if cfg.Client == nil {
		cfg.Client = NewClient()
	}
	if cfg.CPUTime == nil {
		cfg.CPUTime = processCPU
	}
	var set workload.Set
	var bodies []prepared
	if cfg.API == measure.APITranscriptions {
		if cfg.Model == "" {
			cfg.Model, err = ResolveModel(ctx, cfg.Client, cfg.Target, cfg.Headers(), cfg.ProbeTimeout)
		}
		if err == nil {
			bodies, err = buildAudioBodies(&cfg, cfg.Model)
		}
	} else if set, err = cfg.promptSet(ctx); err == nil {
		bodies, err = buildBodies(&cfg, cfg.Model, set.Items)
	}
	if err != nil {
		return nil, err
	}
	labels := cfg.Labels
	if labels.Suite == "" {
		labels.Suite = "bench"
	}
	if labels.Loadgen == "" {
		labels.Loadgen = "native"
	}
	labels.Model = cfg.Model
	if labels.Workload == "" {
		labels.Workload = cfg.Workload.Name
		if cfg.Prompts != nil || labels.Workload == "" {
			labels.Workload = "custom"
		}
	}
	sum := &results.Summary{SchemaVersion: results.SchemaVersion, Model: cfg.Model, Workload: labels.Workload, Loadgen: labels.Loadgen,
		Target: cfg.Target, Suite: labels.Suite, API: string(cfg.API), Seed: cfg.Seed, PromptCalibration: set.Calibration}
	if set.Inexact > 0 {
		cfg.Log.Warn("some prompts could not be calibrated to their exact length", "prompts", set.Inexact)
	}
	if set.Calibration == "estimate" {
		cfg.Log.Warn("the server has no /tokenize: prompt lengths are estimated (one token per word)")
	}
	r := &runner{cfg: &cfg, rec: rec, sink: sink, bodies: bodies, labels: labels, redact: cfg.Redactor()}
	r.runLevel = r.level

	r.levels = len(specs)
	if specs == nil {
		r.levels = cfg.SweepSize // at most: a sweep may end early
		return r.sweep(ctx, sum)
	}
	for _, s := range specs {
		b := r.runLevel(ctx, s)
		sum.Benchmarks = append(sum.Benchmarks, b)
		if r.err != nil {
			return sum, r.err // an abort says why, also when it came through ctx
		}
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
	}
	return sum, nil
}

// PreparePrompts builds the prompt set Run would build for cfg: the
// configured prompts, or synthetic ones calibrated through the server's
// /tokenize (asking the server for its model first when cfg names none). A
// caller that runs one workload at several levels against one server, one
// Run per level (the suite runner), builds it once and passes it as
// Config.Prompts: the levels send the same prompts, and the server is not
// asked to tokenize between levels, inside no level's budget.
func PreparePrompts(ctx context.Context, cfg Config) (*workload.Set, error) {
	if _, err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Client == nil {
		cfg.Client = NewClient()
	}
	set, err := cfg.promptSet(ctx)
	if err != nil {
		return nil, err
	}
	return &set, nil
}

// promptSet resolves the model when none is set, then builds or takes the
// prompt set.
func (c *Config) promptSet(ctx context.Context) (workload.Set, error) {
	h := c.Headers()
	if c.Model == "" {
		var err error
		if c.Model, err = ResolveModel(ctx, c.Client, c.Target, h, c.ProbeTimeout); err != nil {
			return workload.Set{}, err
		}
	}
	runID := c.RunID
	if runID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}
	return c.prompts(ctx, runID, h)
}

// prompts builds or takes the prompt set.
func (c *Config) prompts(ctx context.Context, runID string, h http.Header) (workload.Set, error) {
	if c.Prompts != nil {
		return *c.Prompts, nil
	}
	n := c.PromptPool
	if n <= 0 {
		n = DefaultPromptPool
		if c.MaxRequests > 0 && c.MaxRequests < n {
			n = c.MaxRequests
		}
		// An open loop's sends per level are known: do not calibrate
		// prompts that will never be sent.
		if top := c.maxRate(); top > 0 && c.MaxSeconds > 0 {
			n = min(n, int(top*c.MaxSeconds.Seconds()*1.05)+10)
		}
	}
	tok := probedTokenizer{Tokenizer: &workload.ServerTokenizer{Client: c.Client, BaseURL: c.Target, Model: c.Model, API: c.API, Header: h,
		Redact: c.Redactor()},
		url: c.Target + "/tokenize", timeout: c.ProbeTimeout}
	set, err := workload.Synthesize(ctx, c.Workload, workload.SynthOptions{N: n, Seed: c.Seed, Prefix: "run " + runID + ":", Tokenizer: tok})
	if err != nil {
		return workload.Set{}, fmt.Errorf("prompts: %w", err)
	}
	return set, nil
}

// DefaultPromptPool is the default number of synthetic prompts.
const DefaultPromptPool = 1024

// maxRate is the highest open-loop rate of the levels, 0 when unknown
// (closed loop, sweep, replay).
func (c *Config) maxRate() float64 {
	switch c.Profile {
	case pacer.Constant, pacer.Poisson, pacer.Gamma:
		top := 0.0
		for _, r := range c.Rates {
			top = max(top, r)
		}
		return top
	case pacer.Ramp:
		return max(c.RampFrom, c.RampTo)
	}
	return 0
}

type runner struct {
	cfg    *Config
	rec    measure.Recorder
	sink   func(*measure.Result)
	redact *redact.Redactor // the request's secrets, masked in server text
	bodies []prepared
	labels measure.BenchmarkLabels
	// runLevel runs one benchmark: r.level, or a stand-in in sweep tests.
	runLevel func(context.Context, pacer.Spec) results.Benchmark
	// err is set by a level that was aborted: no further level runs and
	// Run returns it.
	err error
	// levels is how many levels Run runs (a sweep's: at most), begun how
	// many have begun; the progress line shows level j/M.
	levels, begun int
}
