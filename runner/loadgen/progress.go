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

// progress prints the live progress line of one benchmark. A nil writer
// makes every method a no-op.
type progress struct {
	w     io.Writer
	tty   bool
	level string
	start time.Time

	mu     sync.Mutex
	done   int
	failed int
	ttft   [recentTTFT]float64
	n      int
}

func newProgress(w io.Writer, tty bool, level string, start time.Time) *progress {
	return &progress{w: w, tty: tty, level: level, start: start}
}

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
	if d, ok := r.TTFT(); ok {
		p.ttft[p.n%recentTTFT] = float64(d) / float64(time.Millisecond)
		p.n++
	}
}

// line renders the progress line at elapsed with sent requests so far.
func (p *progress) line(elapsed time.Duration, sent int64) string {
	p.mu.Lock()
	k := min(p.n, recentTTFT)
	recent := append([]float64(nil), p.ttft[:k]...)
	done, failed := p.done, p.failed
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
	return fmt.Sprintf("%s  elapsed %s  sent %d (%.2f req/s)  done %d  in flight %d  p50 TTFT %s  errors %d",
		p.level, elapsed.Truncate(100*time.Millisecond), sent, rate, done, sent-int64(done), ttft, failed)
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
	fmt.Fprintf(p.w, "%s  done: %d ok, %d failed, %d incomplete  achieved %.3g req/s  %.4g req/s  %.4g out tok/s  TTFT p50 %.1f ms p99 %.1f ms  ITL p50 %.2f ms  %s\n",
		b.Level, b.Requests.Successful, b.Requests.Failed, b.Requests.Incomplete, b.AchievedRate, b.RequestsPerSecond,
		b.OutputTokensPerSecond, b.TTFT.P50, b.TTFT.P99, b.ITL.P50, valid)
}
