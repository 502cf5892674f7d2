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

func (l *lateness) summary() LatenessSummary {
	var counts [latenessBuckets + 1]uint64
	var n uint64
	for i := range counts {
		counts[i] = l.buckets[i].Load()
		n += counts[i]
	}
	s := LatenessSummary{Count: n, Max: time.Duration(l.max.Load())}
	if n == 0 {
		return s
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
