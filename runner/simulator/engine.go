// Package simulator is servebench's engine simulator: an in-process server
// that speaks vLLM's OpenAI-compatible HTTP API and vLLM v1's /metrics, with
// timing from the CPU performance model in perfmodel rather than sleeps.
//
// Contract:
//   - New validates a Config and returns an Engine; Handler serves the whole
//     API (including /metrics on the engine's own registry). Start launches
//     the step loop and the simulated model load; Close stops the loop, cuts
//     every open stream and returns when the loop has exited. Run does all
//     of it on a listener the caller owns and returns, with no goroutine
//     left, when its context ends.
//   - One scheduler goroutine steps the batch and hands each token's due
//     time to a dispatcher goroutine, which wakes the request's HTTP handler
//     goroutine when the token is due. Handlers only wait and write
//     pre-encoded chunks, one write and one flush per chunk.
//   - Every method of Engine is safe for concurrent use.
//   - Outputs, output lengths and fault draws depend only on Seed and the
//     request (and, for faults, its arrival number); with Jitter 0 the step
//     schedule is exactly reproducible.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/internal/sleep"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// Errors a request can be cut with.
var (
	ErrClosed  = errors.New("engine closed")
	ErrCrashed = errors.New("engine crashed (fault injection)")
)

// Engine is one simulated vLLM server.
type Engine struct {
	cfg         Config
	log         *slog.Logger
	sc          perfmodel.SchedulerConfig
	maxModelLen int
	reg         *prometheus.Registry
	m           *metrics
	disp        *dispatcher
	frontFree   time.Time      // loop-owned: when the simulated frontend is next idle
	pokes       []dispatchItem // loop-owned: a step's pokes, handed to the dispatcher at once
	lat         *lateness      // token writes against their schedule
	stepLat     *lateness      // the step loop's wake-ups against step ends
	handler     http.Handler

	mu      sync.Mutex // guards sched, active, closed
	sched   *perfmodel.Scheduler
	active  map[*request]struct{}
	closed  bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	dispEnd chan struct{}
	started atomic.Int64 // unix nanos of Start; 0 before

	arrivals  atomic.Uint64
	finishedN atomic.Int64
	dead      atomic.Bool
	crashed   chan struct{}
	crashOnce sync.Once
	startOnce sync.Once
	closeOnce sync.Once
}

// New validates cfg and builds an engine; nothing runs until Start.
func New(cfg Config, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, sc, err := cfg.resolve(log)
	if err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}
	sched, err := perfmodel.NewScheduler(sc)
	if err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}
	sc = sched.Config()
	capacity := sched.CapacityTokens()
	mml := cfg.MaxModelLen
	switch {
	case mml == 0:
		mml = min(sc.Profile.MaxModelLen, capacity)
		if mml < sc.Profile.MaxModelLen {
			log.Warn("max_model_len reduced to what the KV cache holds", "model_len", sc.Profile.MaxModelLen,
				"kv_cache_tokens", capacity, "max_model_len", mml)
		}
	case mml > sc.Profile.MaxModelLen:
		return nil, fmt.Errorf("simulator config: max_model_len %d exceeds the model's context length %d", mml, sc.Profile.MaxModelLen)
	case mml > capacity:
		return nil, fmt.Errorf("simulator config: max_model_len %d is larger than the %d tokens the KV cache holds (raise VLLM_CPU_KVCACHE_SPACE)", mml, capacity)
	}
	cfg.MaxModelLen = mml
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	e := &Engine{
		cfg: cfg, log: log, sc: sc, maxModelLen: mml, sched: sched,
		reg:     prometheus.NewRegistry(),
		disp:    newDispatcher(),
		lat:     newLateness(),
		stepLat: newLateness(),
		active:  map[*request]struct{}{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		dispEnd: make(chan struct{}),
		crashed: make(chan struct{}),
	}
	e.m = newMetrics(e.reg, cfg, mml, sched.TotalBlocks())
	e.handler = e.routes()
	log.Info("engine simulator configured", "model", cfg.Model, "served_model_name", cfg.ServedModelName,
		"cores", sc.Hardware.Cores, "max_model_len", mml, "kv_cache_tokens", capacity,
		"max_num_seqs", cfg.MaxNumSeqs, "max_num_batched_tokens", cfg.MaxNumBatchedTokens, "slowdown", cfg.Slowdown,
		"enable_prefix_caching", sc.PrefixCaching)
	return e, nil
}

// Config returns the resolved configuration (defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// Profile returns the model profile in use.
func (e *Engine) Profile() perfmodel.Profile { return e.sc.Profile }

// Registry is the engine's own metrics registry, served on /metrics.
func (e *Engine) Registry() *prometheus.Registry { return e.reg }

// Handler serves the whole API.
func (e *Engine) Handler() http.Handler { return e.handler }

// Crashed is closed when the crash fault fires.
func (e *Engine) Crashed() <-chan struct{} { return e.crashed }

// Start begins the simulated model load and the step loop. It is
// idempotent and must not be called after Close.
func (e *Engine) Start() {
	e.startOnce.Do(func() {
		e.started.Store(time.Now().UnixNano())
		go e.loop()
		go func() {
			defer close(e.dispEnd)
			e.disp.run(e.stop)
		}()
	})
}

// Ready reports whether the simulated model load has finished.
func (e *Engine) Ready() bool {
	s := e.started.Load()
	return s != 0 && !e.dead.Load() && time.Since(time.Unix(0, s)) >= e.cfg.LoadTime+e.cfg.Faults.SlowLoad
}

// Close stops the step loop and cuts every open request; handlers still
// running return promptly. It is idempotent.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.cutAll(ErrClosed)
		e.mu.Unlock()
		close(e.stop)
		if e.started.Load() != 0 {
			<-e.done
			<-e.dispEnd
		}
	})
}

// Run starts the engine, serves it on l until ctx ends, then closes the
// engine, shuts the server down and returns. l is closed on return.
func (e *Engine) Run(ctx context.Context, l net.Listener) error {
	e.Start()
	srv := &http.Server{Handler: e.handler, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	e.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, err)
}

// cutAll ends every open request with err. e.mu must be held.
func (e *Engine) cutAll(err error) {
	for q := range e.active {
		q.cutWith(err)
	}
}

func (e *Engine) crash() {
	e.crashOnce.Do(func() {
		e.log.Error("engine crashing (fault injection)", "after_requests", e.cfg.Faults.CrashAfter)
		e.dead.Store(true)
		e.mu.Lock()
		e.cutAll(ErrCrashed)
		e.mu.Unlock()
		close(e.crashed)
	})
}

// submit queues q with the scheduler.
func (e *Engine) submit(q *request) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.dead.Load() {
		return ErrCrashed
	}
	e.active[q] = struct{}{}
	e.sched.Add(&q.seq, time.Now())
	e.m.waiting.Set(float64(e.sched.Waiting()))
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

// release forgets q; a request that has not finished is aborted.
func (e *Engine) release(q *request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.active, q)
	if !q.seq.Done {
		e.sched.Abort(&q.seq)
		e.m.success[reasonAbort].Inc()
		e.m.running.Set(float64(e.sched.Running()))
		e.m.waiting.Set(float64(e.sched.Waiting()))
		e.m.kvUsage.Set(e.sched.KVUsage())
	}
}

// loop is the scheduler goroutine: it plans a step, sleeps until the step's
// simulated end, then publishes the step's tokens. A step starts when the
// previous one has ended and the loop runs again, never earlier: when the
// host pauses the simulator (a busy machine, a stopped process), the steps
// after the pause are not compressed to catch up with the model's schedule,
// so no request is ever served faster than the model says. The time lost
// is counted in vllm_sim_host_stall_seconds_total.
func (e *Engine) loop() {
	defer close(e.done)
	sl := sleep.New() // the runtime's timers alone wake up to a millisecond late, every step
	defer sl.Close()
	var prevEnd time.Time
	for {
		e.mu.Lock()
		start := time.Now()
		st := e.sched.Step(start)
		if lost := start.Sub(prevEnd); !prevEnd.IsZero() && lost > 0 && st.End.After(st.Start) {
			e.m.hostStall.Add(lost.Seconds())
		}
		e.mu.Unlock()
		if st.End.Equal(st.Start) {
			// Idle, or nothing fits (all blocked on KV): wait for an arrival
			// or an abort, and start the next step when it comes.
			prevEnd = time.Time{}
			select {
			case <-e.wake:
				continue
			case <-e.stop:
				return
			}
		}
		if !sl.Until(st.End, e.stop) {
			return
		}
		e.stepLat.observe(time.Since(st.End))
		e.mu.Lock()
		e.publish(st)
		e.mu.Unlock()
		prevEnd = st.End
	}
}

// publish hands a finished step's tokens to their streams and records the
// engine-side metrics. e.mu must be held.
func (e *Engine) publish(st perfmodel.Step) {
	fp := e.sc.Hardware.FrontendPerSeq
	m := e.m
	// The frontend is one serial process (as vLLM's API server): it handles
	// the step's outputs one after another, FrontendPerSeq each, starting when
	// the step ends or when it has finished the previous step's, whichever is
	// later. It runs beside the engine core, so it never delays a step.
	front := st.End
	if e.frontFree.After(front) {
		front = e.frontFree
	}
	e.pokes = e.pokes[:0]
	for _, s := range st.Emitted {
		q := s.Tag.(*request)
		if s.Generated == 1 {
			m.ttft.Observe(st.End.Sub(s.Arrival).Seconds())
			m.promptTokens.Add(float64(s.Prompt))
		} else {
			m.itl.Observe(st.End.Sub(q.prevTok).Seconds())
		}
		q.prevTok = st.End
		front = front.Add(fp)
		q.push(front, s.Done)
		e.pokes = append(e.pokes, dispatchItem{front, q})
	}
	e.frontFree = front
	e.disp.add(e.pokes)
	m.generationTokens.Add(float64(len(st.Emitted)))
	for _, s := range st.Finished {
		q := s.Tag.(*request)
		if s.MaxOutput == 0 { // embedding: no token, finished at the step's end
			m.promptTokens.Add(float64(s.Prompt))
			m.ttft.Observe(st.End.Sub(s.Arrival).Seconds())
			q.push(time.Time{}, true)
			q.poke()
		}
		m.e2e.Observe(s.LastToken.Sub(s.Arrival).Seconds())
		m.queue.Observe(s.Scheduled.Sub(s.Arrival).Seconds())
		m.inference.Observe(s.LastToken.Sub(s.Scheduled).Seconds())
		m.prefill.Observe(max(0, s.FirstToken.Sub(s.Scheduled)).Seconds())
		m.decode.Observe(s.LastToken.Sub(s.FirstToken).Seconds())
		if s.Generated > 1 {
			m.tpot.Observe(s.LastToken.Sub(s.FirstToken).Seconds() / float64(s.Generated-1))
		}
		m.reqPrompt.Observe(float64(s.Prompt))
		m.reqGeneration.Observe(float64(s.Generated))
		if q.maxTokens > 0 {
			m.reqMaxTokens.Observe(float64(q.maxTokens))
		}
		m.success[q.plan.reason].Inc()
		if n := e.finishedN.Add(1); e.cfg.Faults.CrashAfter > 0 && n == int64(e.cfg.Faults.CrashAfter) {
			q.crashAfter = true // its handler crashes the engine once its response is out
		}
	}
	m.iterTok.Observe(float64(st.Tokens))
	m.preemptions.Add(float64(st.Preempted))
	m.prefixQueries.Add(float64(st.PrefixQueries))
	m.prefixHits.Add(float64(st.PrefixHits))
	m.running.Set(float64(st.Running))
	m.waiting.Set(float64(st.Waiting))
	m.kvUsage.Set(st.KVUsage)
}

// WriteLateness summarises how late the engine's token writes were against
// their schedule, over every write since the engine was created.
func (e *Engine) WriteLateness() LatenessSummary { return e.lat.summary() }

// StepLateness summarises how late the step loop woke for each step's end:
// the part of write lateness that comes before any stream is involved.
func (e *Engine) StepLateness() LatenessSummary { return e.stepLat.summary() }
