package simulator

import (
	"sync/atomic"
	"time"
)

// lateness is a lock-free histogram of write lateness with 10 µs resolution
// up to 100 ms (and one overflow bucket), precise enough for a p99 against a
// 5 ms budget. Observe cannot fail and does not allocate.
type lateness struct {
	buckets [latenessBuckets + 1]atomic.Uint64
	max     atomic.Int64
}

const (
	latenessStep    = 10 * time.Microsecond
	latenessBuckets = int(100 * time.Millisecond / latenessStep)
)

func newLateness() *lateness { return &lateness{} }

func (l *lateness) observe(d time.Duration) {
	d = max(d, 0)
	i := min(int(d/latenessStep), latenessBuckets)
	l.buckets[i].Add(1)
	for {
		m := l.max.Load()
		if int64(d) <= m || l.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// LatenessSummary describes token-write lateness: how long after its
// scheduled time each chunk was written and flushed. Quantiles are upper
// bounds at 10 µs resolution.
type LatenessSummary struct {
	Count         uint64
	P50, P99, Max time.Duration
}

// latenessCounts is a copy of the buckets, for summaries over a window.
type latenessCounts [latenessBuckets + 1]uint64

func (l *lateness) snapshot() *latenessCounts {
	var c latenessCounts
	for i := range c {
		c[i] = l.buckets[i].Load()
	}
	return &c
}

func (l *lateness) summary() LatenessSummary { return l.summarySince(&latenessCounts{}) }

// summarySince summarises the writes observed after base was taken. Its Max
// is the upper bound of the highest bucket hit (the exact maximum when that
// is the overflow bucket and no earlier write was larger).
func (l *lateness) summarySince(base *latenessCounts) LatenessSummary {
	counts := l.snapshot()
	var n uint64
	top := -1
	for i := range counts {
		counts[i] -= base[i]
		n += counts[i]
		if counts[i] > 0 {
			top = i
		}
	}
	s := LatenessSummary{Count: n, Max: time.Duration(l.max.Load())}
	if n == 0 {
		return s
	}
	if top < latenessBuckets {
		s.Max = min(s.Max, time.Duration(top+1)*latenessStep)
	}
	q := func(p float64) time.Duration {
		rank := uint64(p*float64(n) + 0.5)
		rank = max(rank, 1)
		var c uint64
		for i, v := range counts {
			c += v
			if c >= rank {
				if i == latenessBuckets {
					return s.Max
				}
				return min(time.Duration(i+1)*latenessStep, s.Max)
			}
		}
		return s.Max
	}
	s.P50, s.P99 = q(0.50), q(0.99)
	return s
}
