package simulator

import (
	"sync"
	"time"
)

// dispatcher wakes each stream when its next token is due, so a stream's
// goroutine wakes once per token and writes at once, instead of waking on
// publication and again on its own timer. Due times arrive in nondecreasing
// order (the simulated frontend is serial), so a FIFO is enough.
type dispatcher struct {
	mu    sync.Mutex
	queue []dispatchItem
	head  int
	wake  chan struct{}
}

type dispatchItem struct {
	due time.Time
	q   *request
}

// slack: items due within it are released together, which saves timer
// wake-ups at no cost in lateness worth measuring.
const dispatchSlack = 50 * time.Microsecond

func newDispatcher() *dispatcher { return &dispatcher{wake: make(chan struct{}, 1)} }

// add queues a step's pokes, in due order, under one lock and wakes the
// dispatcher. Safe for concurrent use; items is not kept.
func (d *dispatcher) add(items []dispatchItem) {
	if len(items) == 0 {
		return
	}
	d.mu.Lock()
	d.queue = append(d.queue, items...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run pokes streams at their due times until stop is closed.
func (d *dispatcher) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []*request
	for {
		d.mu.Lock()
		limit := time.Now().Add(dispatchSlack)
		batch = batch[:0]
		for d.head < len(d.queue) && !d.queue[d.head].due.After(limit) {
			batch = append(batch, d.queue[d.head].q)
			d.queue[d.head] = dispatchItem{}
			d.head++
		}
		var next time.Time
		if d.head < len(d.queue) {
			next = d.queue[d.head].due
		} else {
			d.queue, d.head = d.queue[:0], 0
		}
		// Compact now and then so the queue does not grow without bound.
		if d.head > 4096 && d.head*2 > len(d.queue) {
			n := copy(d.queue, d.queue[d.head:])
			clear(d.queue[n:])
			d.queue, d.head = d.queue[:n], 0
		}
		d.mu.Unlock()
		for _, q := range batch {
			q.poke()
		}
		if len(batch) > 0 {
			continue // time has moved on; look again before sleeping
		}
		var tc <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			tc = timer.C
		}
		select {
		case <-tc:
		case <-d.wake:
			timer.Stop()
		case <-stop:
			return
		}
	}
}
