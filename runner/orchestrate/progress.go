package orchestrate

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

// progress shows where a run is: cell i/N, level, elapsed and ETA (an upper
// bound: every remaining level at its max_seconds), the live achieved rate,
// p50 TTFT over the last requests and errors. On a TTY it rewrites one line;
// otherwise it prints a line per period.
type progress struct {
	w     io.Writer
	tty   bool
	plan  *suite.Plan
	now   func() time.Time
	every time.Duration
	quit  chan struct{}
	done  chan struct{}

	mu         sync.Mutex
	runStart   time.Time
	cellPos    int // 0-based index of the current cell
	cell       suite.Cell
	stage      string // "starting engine", "waiting for the engine", "" while loading
	levelPos   int
	level      string
	target     float64
	levelStart time.Time
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
	pr := &progress{w: w, tty: tty, plan: p, now: now, every: every, runStart: now(),
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
	p.stage, p.levelPos, p.level, p.target, p.levelStart = "", pos, l.Name, target, p.now()
	p.sent, p.finished, p.errs, p.ttft, p.ttftNext = 0, 0, 0, p.ttft[:0], 0
	p.mu.Unlock()
	p.line(fmt.Sprintf("cell %d/%d %s: level %s (%d/%d), target %.4g", c.Index, len(p.plan.Cells), c.ID, l.Name, pos+1, len(c.Levels), target))
}

func (p *progress) endLevel(b results.Benchmark) {
	if b.Level == "" {
		return // nothing was measured (interrupted before the first request)
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
	elapsed := now.Sub(p.runStart).Round(time.Second)
	head := fmt.Sprintf("cell %d/%d", p.cell.Index, len(p.plan.Cells))
	if p.stage != "" {
		return fmt.Sprintf("%s %s | elapsed %s | ETA ≤ %s", head, p.stage, elapsed, p.eta(now).Round(time.Second))
	}
	inLevel := now.Sub(p.levelStart).Seconds()
	sent, done := 0.0, 0.0
	if inLevel > 0 {
		sent, done = float64(p.sent)/inLevel, float64(p.finished)/inLevel
	}
	ttft := "-"
	if len(p.ttft) > 0 {
		s := append([]float64(nil), p.ttft...)
		sort.Float64s(s)
		ttft = fmt.Sprintf("%.0f ms", s[len(s)/2]*1000)
	}
	return fmt.Sprintf("%s level %s (%d/%d) | elapsed %s | ETA ≤ %s | sent %.2f req/s, done %.2f req/s | p50 TTFT %s | errors %d | done %d",
		head, p.level, p.levelPos+1, len(p.cell.Levels), elapsed, p.eta(now).Round(time.Second), sent, done, ttft, p.errs, p.finished)
}

// eta bounds the time left: the current level's remaining window and every
// later level at max_seconds. Engine start-up is not included.
func (p *progress) eta(now time.Time) time.Duration {
	per := time.Duration(p.plan.Config.Limits.MaxSeconds * float64(time.Second))
	left := 0
	for _, c := range p.plan.Cells[p.cellPos+1:] {
		left += len(c.Levels)
	}
	cur := 0 * time.Second
	if p.stage == "" {
		left += len(p.cell.Levels) - p.levelPos - 1
		cur = max(per-now.Sub(p.levelStart), 0)
	} else {
		left += len(p.cell.Levels)
	}
	return cur + time.Duration(left)*per
}

func (p *progress) recorder(next measure.Recorder) measure.Recorder {
	return progressRecorder{p: p, next: next}
}

type progressRecorder struct {
	p    *progress
	next measure.Recorder
}

func (r progressRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
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

func (b progressBenchmark) Finished(r *measure.Result) {
	b.BenchmarkRecorder.Finished(r)
	p := b.p
	p.mu.Lock()
	p.finished++
	if r.Outcome == contract.OutcomeError {
		p.errs++
	}
	if r.Outcome == contract.OutcomeSuccess && !r.FirstTok.IsZero() {
		v := r.FirstTok.Sub(r.Scheduled).Seconds()
		if len(p.ttft) < ttftWindow {
			p.ttft = append(p.ttft, v)
		} else {
			p.ttft[p.ttftNext] = v
			p.ttftNext = (p.ttftNext + 1) % ttftWindow
		}
	}
	p.mu.Unlock()
}
