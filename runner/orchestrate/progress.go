package orchestrate

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

// progress shows where a run is: cell i/N and level j/M, where the level
// is in its budget (elapsed of its sending span, then of its drain) with an
// upper bound of its time left, the run's elapsed time and an upper bound of
// what is left (every remaining level at its budget, engine start-ups
// counted apart: they have no bound), the live send and finish rates, the
// p50 TTFT of the last requests to get their first token, and errors. On a
// TTY it rewrites one line; otherwise it prints a line per period.
type progress struct {
	w      io.Writer
	tty    bool
	plan   *suite.Plan
	budget loadgen.Budget // of every level of the plan
	now    func() time.Time
	every  time.Duration
	quit   chan struct{}
	done   chan struct{}

	mu         sync.Mutex
	runStart   time.Time
	cellPos    int // 0-based index of the current cell
	cell       suite.Cell
	stage      string // "starting engine", "waiting for the engine", "" while loading
	levelPos   int
	level      string
	target     float64
	levelStart time.Time // when the level's load began; zero while it prepares
	sent       int
	finished   int
	errs       int
	ttft       []float64 // ring of recent TTFTs, seconds
	ttftNext   int
}

const ttftWindow = 512

func newProgress(w io.Writer, tty bool, p *suite.Plan, now func() time.Time, every time.Duration) *progress {
	if every <= 0 {
		every = 2 * time.Second
	}
	budget, _ := LevelBudget(p.Config.Limits) // checked when the plan was resolved
	pr := &progress{w: w, tty: tty, plan: p, budget: budget, now: now, every: every, runStart: now(),
		quit: make(chan struct{}), done: make(chan struct{})}
	if w == nil {
		close(pr.done)
		return pr
	}
	go pr.loop()
	return pr
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.print()
		}
	}
}

func (p *progress) stop() {
	if p.w == nil {
		return
	}
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) skipCell(c suite.Cell) {
	p.line(fmt.Sprintf("cell %d/%d %s: done in an earlier attempt, skipped", c.Index, len(p.plan.Cells), c.ID))
}

func (p *progress) startCell(c suite.Cell, stage string) {
	p.mu.Lock()
	p.cellPos, p.cell, p.stage, p.level, p.levelPos = c.Index-1, c, stage, "", 0
	p.mu.Unlock()
	p.line(fmt.Sprintf("cell %d/%d %s: %s", c.Index, len(p.plan.Cells), c.ID, stage))
}

func (p *progress) startLevel(c suite.Cell, pos int, l suite.Level, target float64) {
	p.mu.Lock()
	p.stage, p.levelPos, p.level, p.target, p.levelStart = "", pos, l.Name, target, time.Time{}
	p.sent, p.finished, p.errs, p.ttft, p.ttftNext = 0, 0, 0, p.ttft[:0], 0
	p.mu.Unlock()
	if c.API == suite.APIOffline {
		p.line(fmt.Sprintf("cell %d/%d %s: batch (vllm bench throughput), until its prompts are done", c.Index, len(p.plan.Cells), c.ID))
		return
	}
	p.line(fmt.Sprintf("cell %d/%d %s: level %d/%d %s, target %.4g, budget %s", c.Index, len(p.plan.Cells), c.ID, pos+1, len(c.Levels), l.Name, target, p.budget))
}

// loadBegan marks the start of the current level's load (its first send,
// after prompt preparation or a tool's start-up).
func (p *progress) loadBegan() {
	p.mu.Lock()
	if p.levelStart.IsZero() {
		p.levelStart = p.now()
	}
	p.mu.Unlock()
}

func (p *progress) endLevel(b results.Benchmark) {
	if b.Level == "" {
		return // nothing was measured (interrupted before the first request)
	}
	if o := b.Offline; o != nil {
		out := "—"
		if o.OutputTokensPerSecond != nil {
			out = fmt.Sprintf("%.1f", *o.OutputTokensPerSecond)
		}
		p.line(fmt.Sprintf("  batch: %d requests in %.1f s: %.2f req/s, %.1f total tok/s, %s output tok/s", o.Requests, o.ElapsedSeconds,
			o.RequestsPerSecond, o.TokensPerSecond, out))
		return
	}
	total := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
	valid := "valid"
	if !b.Valid {
		valid = fmt.Sprintf("INVALID %v", b.InvalidReasons)
	}
	p.line(fmt.Sprintf("  %s: %.2f req/s, %.1f output tok/s, TTFT p50 %.0f ms, TPOT p50 %.1f ms, %d/%d ok, %s",
		b.Level, b.RequestsPerSecond, b.OutputTokensPerSecond, b.TTFT.P50, b.TPOT.P50, b.Requests.Successful, total, valid))
}

// line prints a permanent line (above the rewritten status line on a TTY).
func (p *progress) line(s string) {
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", s)
		return
	}
	fmt.Fprintln(p.w, s)
}

func (p *progress) print() {
	s := p.status()
	if s == "" {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", s)
	} else {
		fmt.Fprintln(p.w, s)
	}
}

// status renders the current state; "" before the first cell.
func (p *progress) status() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cell.ID == "" {
		return ""
	}
	now := p.now()
	head := fmt.Sprintf("cell %d/%d", p.cell.Index, len(p.plan.Cells))
	if p.stage != "" {
		return fmt.Sprintf("%s %s | %s", head, p.stage, p.runETA(now))
	}
	head = fmt.Sprintf("%s · level %d/%d %s", head, p.levelPos+1, len(p.cell.Levels), p.level)
	if p.levelStart.IsZero() {
		return fmt.Sprintf("%s | preparing | %s", head, p.runETA(now))
	}
	inLevel := now.Sub(p.levelStart)
	sent, done := 0.0, 0.0
	if s := inLevel.Seconds(); s > 0 {
		sent, done = float64(p.sent)/s, float64(p.finished)/s
	}
	ttft := "-"
	if len(p.ttft) > 0 {
		s := append([]float64(nil), p.ttft...)
		sort.Float64s(s)
		ttft = fmt.Sprintf("%.0f ms", s[len(s)/2]*1000)
	}
	return fmt.Sprintf("%s | %s | %s | sent %.2f req/s, done %.2f req/s | p50 TTFT %s | errors %d | done %d",
		head, p.levelWhere(inLevel), p.runETA(now), sent, done, ttft, p.errs, p.finished)
}

// levelWhere places the current level in its budget: sending, draining,
// or past the drain (cutting), never an ETA of zero while it runs.
func (p *progress) levelWhere(in time.Duration) string {
	b := p.budget
	switch {
	case !b.Bounded():
		return fmt.Sprintf("level %s (no time limit)", in.Round(time.Second))
	case in < b.Send():
		return fmt.Sprintf("level %s of %s, ETA ≤ %s", in.Round(time.Second), b.Send(), ceilSecond(b.Total()-in))
	case in < b.Total():
		return fmt.Sprintf("level draining %s of %s, ETA ≤ %s", (in - b.Send()).Round(time.Second), b.Drain, ceilSecond(b.Total()-in))
	}
	return "level past its drain: cutting in-flight requests"
}

// runETA is the run's elapsed time and an upper bound of what is left:
// the current level's budget left (at least the slack it may take to cut),
// every later level at its budget, and the engine start-ups still ahead
// (counted, not timed).
func (p *progress) runETA(now time.Time) string {
	elapsed := now.Sub(p.runStart).Round(time.Second)
	b := p.budget
	if !b.Bounded() {
		return fmt.Sprintf("run %s, no time limit", elapsed)
	}
	levels, starts := 0, len(p.plan.Cells)-p.cellPos-1
	for _, c := range p.plan.Cells[p.cellPos+1:] {
		levels += len(c.Levels)
	}
	left := time.Duration(0)
	switch {
	case p.stage != "":
		levels += len(p.cell.Levels)
		starts++
	case p.levelStart.IsZero():
		levels += len(p.cell.Levels) - p.levelPos
	default:
		levels += len(p.cell.Levels) - p.levelPos - 1
		left = max(b.Total()-now.Sub(p.levelStart), loadgen.BudgetSlack)
	}
	left += time.Duration(levels) * (b.Total() + loadgen.BudgetSlack)
	s := fmt.Sprintf("run %s, ETA ≤ %s", elapsed, ceilSecond(left))
	switch starts {
	case 0:
		return s
	case 1:
		return s + " + 1 engine start-up"
	}
	return fmt.Sprintf("%s + %d engine start-ups", s, starts)
}

// ceilSecond rounds d up to a whole second: an upper bound stays one.
func ceilSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

func (p *progress) recorder(next measure.Recorder) measure.Recorder {
	return progressRecorder{p: p, next: next}
}

type progressRecorder struct {
	p    *progress
	next measure.Recorder
}

func (r progressRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	r.p.loadBegan()
	return progressBenchmark{BenchmarkRecorder: r.next.Benchmark(l), p: r.p}
}

type progressBenchmark struct {
	measure.BenchmarkRecorder
	p *progress
}

func (b progressBenchmark) Started() {
	b.BenchmarkRecorder.Started()
	b.p.mu.Lock()
	b.p.sent++
	b.p.mu.Unlock()
}

// FirstToken takes a request's TTFT as its first token arrives.
func (b progressBenchmark) FirstToken(ttft time.Duration) {
	b.BenchmarkRecorder.FirstToken(ttft)
	p := b.p
	p.mu.Lock()
	if len(p.ttft) < ttftWindow {
		p.ttft = append(p.ttft, ttft.Seconds())
	} else {
		p.ttft[p.ttftNext] = ttft.Seconds()
		p.ttftNext = (p.ttftNext + 1) % ttftWindow
	}
	p.mu.Unlock()
}

func (b progressBenchmark) Finished(r *measure.Result) {
	b.BenchmarkRecorder.Finished(r)
	p := b.p
	p.mu.Lock()
	p.finished++
	if r.Outcome == contract.OutcomeError {
		p.errs++
	}
	p.mu.Unlock()
}
