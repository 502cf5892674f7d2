package loadgen

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

// recentTTFT is how many recent TTFTs the progress line's p50 covers.
const recentTTFT = 512

// progress prints the live progress line of one benchmark: where it is in
// its budget (elapsed of the sending span, then of the drain) and an upper
// bound of the time left, what was sent and finished, the p50 TTFT of the
// last requests to get their first token, and errors. A nil writer makes
// every method a no-op.
type progress struct {
	w      io.Writer
	tty    bool
	level  string
	start  time.Time
	budget Budget
	// levelsAfter is how many levels of the run follow this one: the
	// run's ETA counts them at their budget.
	levelsAfter int

	mu        sync.Mutex
	done      int
	failed    int
	ttft      [recentTTFT]float64
	n         int
	drainFrom time.Duration // offset from start where sending ended; 0 = still sending
}

func newProgress(w io.Writer, tty bool, level string, start time.Time, budget Budget) *progress {
	return &progress{w: w, tty: tty, level: level, start: start, budget: budget}
}

// add counts a finished request.
func (p *progress) add(r *measure.Result) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if r.Outcome == contract.OutcomeError {
		p.failed++
	}
}

// firstToken takes a request's TTFT when its first token arrives.
func (p *progress) firstToken(d time.Duration) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	p.ttft[p.n%recentTTFT] = float64(d) / float64(time.Millisecond)
	p.n++
	p.mu.Unlock()
}

// draining marks the end of sending, at offset at from the start.
func (p *progress) draining(at time.Duration) {
	p.mu.Lock()
	p.drainFrom = max(at, time.Nanosecond)
	p.mu.Unlock()
}

// line renders the progress line at elapsed with sent requests so far.
func (p *progress) line(elapsed time.Duration, sent int64) string {
	p.mu.Lock()
	k := min(p.n, recentTTFT)
	recent := append([]float64(nil), p.ttft[:k]...)
	done, failed, drainFrom := p.done, p.failed, p.drainFrom
	p.mu.Unlock()
	ttft := "-"
	if k > 0 {
		sort.Float64s(recent)
		ttft = fmt.Sprintf("%.1f ms", recent[k/2])
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(sent) / s
	}
	return fmt.Sprintf("%s  %s  sent %d (%.2f req/s)  done %d  in flight %d  p50 TTFT %s  errors %d",
		p.level, p.where(elapsed, drainFrom), sent, rate, done, sent-int64(done), ttft, failed)
}

// where says how far the level is in its budget and bounds the time left;
// past the drain deadline, while requests are cut, it says so rather than
// show an ETA of zero.
func (p *progress) where(elapsed, drainFrom time.Duration) string {
	b := p.budget
	round := func(d time.Duration) time.Duration { return d.Truncate(100 * time.Millisecond) }
	switch {
	case drainFrom > 0:
		in := max(elapsed-drainFrom, 0)
		if left := b.Drain - in; left > 0 {
			return fmt.Sprintf("elapsed %s  draining %s of %s  ETA ≤ %s%s", round(elapsed), round(in), b.Drain, ceilSecond(left), p.runETA(left))
		}
		return fmt.Sprintf("elapsed %s  drain over: cutting in-flight requests%s", round(elapsed), p.runETA(BudgetSlack))
	case b.Bounded():
		left := max(b.Send()-elapsed, 0) + b.Drain
		return fmt.Sprintf("elapsed %s of %s  ETA ≤ %s%s", round(elapsed), b.Send(), ceilSecond(left), p.runETA(left))
	}
	return fmt.Sprintf("elapsed %s (no time limit)", round(elapsed))
}

// runETA bounds what is left of the run when levels follow this one, which
// has left to go: each later level at its budget and the slack to cut.
func (p *progress) runETA(left time.Duration) string {
	if p.levelsAfter == 0 {
		return ""
	}
	return fmt.Sprintf(" (run ≤ %s)", ceilSecond(left+BudgetSlack+time.Duration(p.levelsAfter)*(p.budget.Total()+BudgetSlack)))
}

// ceilSecond rounds d up to a whole second: an upper bound stays one.
func ceilSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

func (p *progress) print(s string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", s)
		return
	}
	fmt.Fprintln(p.w, s)
}

// loop prints a line every interval until done closes.
func (p *progress) loop(every time.Duration, sent *atomic.Int64, done <-chan struct{}) {
	if p.w == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			p.print(p.line(now.Sub(p.start), sent.Load()))
		}
	}
}

// final prints the benchmark's headline.
func (p *progress) final(b results.Benchmark) {
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	valid := "valid"
	if !b.Valid {
		valid = fmt.Sprintf("INVALID %q", b.InvalidReasons)
	}
	fmt.Fprintf(p.w, "%s  done: %d ok, %d failed, %d incomplete  achieved %.3g req/s  %.4g req/s  %.4g out tok/s  TTFT p50 %.1f ms p99 %.1f ms  ITL p50 %.2f ms  %s%s\n",
		b.Level, b.Requests.Successful, b.Requests.Failed, b.Requests.Incomplete, b.AchievedRate, b.RequestsPerSecond,
		b.OutputTokensPerSecond, b.TTFT.P50, b.TTFT.P99, b.ITL.P50, audioLine(b.Audio), valid)
}

// audioLine is a transcription level's figures for the headline; absent
// figures print as —.
func audioLine(a *results.AudioFigures) string {
	if a == nil {
		return ""
	}
	f := func(v *float64, format string, scale float64) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf(format, *v*scale)
	}
	rtf := "—"
	if a.RTF.Count > 0 {
		rtf = fmt.Sprintf("%.3g", a.RTF.P50)
	}
	return fmt.Sprintf("RTF p50 %s  %s audio-h/h  %s files/h  WER %s CER %s  ", rtf, f(a.AudioHoursPerHour, "%.3g", 1),
		f(a.FilesPerHour, "%.0f", 1), f(a.WER, "%.1f%%", 100), f(a.CER, "%.1f%%", 100))
}
