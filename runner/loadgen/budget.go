package loadgen

import (
	"fmt"
	"time"
)

// Defaults of the level budget and the stream watchdog.
const (
	// DefaultDrainTimeout is how long requests still in flight when sending
	// stops may go on before they are cut. It is short on purpose: the
	// throughput of a level is measured inside its window whether or not
	// its requests finish, and a drain as long as the request timeout made
	// a 5 s level on a CPU engine last minutes.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultStreamIdleTimeout is how long a stream may receive nothing,
	// once its first byte arrived, before it ends as stalled.
	DefaultStreamIdleTimeout = 30 * time.Second
	// BudgetSlack is what a level may take beyond its Budget's Total: the
	// time to cut the requests still in flight and record them. A level
	// that takes longer is a bug, and the orchestrator's backstop.
	BudgetSlack = time.Second
)

// Budget is the time one load level may take, the same for every load
// generator (native or third-party): it sends during warmup, the measured
// window and cooldown (together max-seconds), never after; then requests
// still in flight get at most Drain to finish and are cut, recorded
// incomplete with what they received. A level ends within Total() +
// BudgetSlack of its first scheduled send.
//
// A Budget with no Window (a level bounded by a request count only) is
// unbounded: Total is 0 and Bounded false.
type Budget struct {
	Warmup   time.Duration // sent, not measured
	Window   time.Duration // measured
	Cooldown time.Duration // sent, not measured
	Drain    time.Duration // after the last send, at most
}

// NewBudget is the budget of a level of maxSeconds (0 = no time limit) with
// the given warmup and cooldown (Span: fractions of maxSeconds below 1) and
// drain (DefaultDrainTimeout when zero or less).
func NewBudget(maxSeconds time.Duration, warmup, cooldown Span, drain time.Duration) (Budget, error) {
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	w, err := warmup.duration(maxSeconds)
	if err != nil {
		return Budget{}, fmt.Errorf("warmup: %w", err)
	}
	c, err := cooldown.duration(maxSeconds)
	if err != nil {
		return Budget{}, fmt.Errorf("cooldown: %w", err)
	}
	b := Budget{Warmup: w, Cooldown: c, Drain: drain}
	if maxSeconds > 0 {
		if w+c >= maxSeconds {
			return Budget{}, fmt.Errorf("warmup %v + cooldown %v leave nothing of max-seconds %v", w, c, maxSeconds)
		}
		b.Window = maxSeconds - w - c
	}
	return b, nil
}

// Send is how long the level sends: warmup, window and cooldown.
func (b Budget) Send() time.Duration {
	if !b.Bounded() {
		return 0
	}
	return b.Warmup + b.Window + b.Cooldown
}

// Bounded reports whether the level has a time limit.
func (b Budget) Bounded() bool { return b.Window > 0 }

// Total is the longest the level may take (sending and drain), 0 when it
// is not bounded.
func (b Budget) Total() time.Duration {
	if !b.Bounded() {
		return 0
	}
	return b.Send() + b.Drain
}

// String describes the budget, e.g. "warmup 1s + window 4s + drain 10s = 15s".
func (b Budget) String() string {
	if !b.Bounded() {
		return fmt.Sprintf("no time limit (drain %v)", b.Drain)
	}
	s := ""
	if b.Warmup > 0 {
		s += fmt.Sprintf("warmup %v + ", b.Warmup)
	}
	s += fmt.Sprintf("window %v + ", b.Window)
	if b.Cooldown > 0 {
		s += fmt.Sprintf("cooldown %v + ", b.Cooldown)
	}
	return s + fmt.Sprintf("drain %v = %v", b.Drain, b.Total())
}

// Budget is the time budget of each of the config's levels, with the
// defaults Run applies.
func (c *Config) Budget() (Budget, error) {
	return NewBudget(c.MaxSeconds, c.Warmup, c.Cooldown, c.DrainTimeout)
}
