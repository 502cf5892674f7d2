// Package pacer decides when each request of a benchmark is due. It owns the
// load profiles: the open-loop ones (constant, poisson, gamma, ramp, replay)
// produce a schedule of offsets from the benchmark's start; the closed-loop
// ones (synchronous, concurrent, throughput) are a number of streams, each
// sending its next request when its previous one ends.
//
// A Pacer holds no clock and starts no goroutine: it is a deterministic
// generator (seeded where random), so schedules are table-tested and the same
// seed gives the same schedule. A Pacer is used by one goroutine at a time.
package pacer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Kind names a load profile.
type Kind string

// Profiles. Sweep is not a pacer: it is a sequence of benchmarks built from
// the others (see runner/loadgen).
const (
	Synchronous Kind = "synchronous" // closed loop, 1 stream
	Concurrent  Kind = "concurrent"  // closed loop, N streams
	Throughput  Kind = "throughput"  // closed loop, N streams meant to saturate the server
	Constant    Kind = "constant"    // open loop, fixed gaps of 1/rate
	Poisson     Kind = "poisson"     // open loop, exponential gaps
	Gamma       Kind = "gamma"       // open loop, gamma gaps with a burstiness (vLLM's)
	Ramp        Kind = "ramp"        // open loop, rate rising linearly, then held
	Replay      Kind = "replay"      // open loop, trace timestamps times a time scale
	Sweep       Kind = "sweep"       // synchronous, throughput, then rates between them
)

// Kinds lists every profile name.
var Kinds = []Kind{Synchronous, Concurrent, Throughput, Constant, Poisson, Gamma, Ramp, Replay, Sweep}

// ParseKind checks a profile name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("profile %q: want one of %v", s, Kinds)
}

// Closed reports whether the profile is closed loop (streams, not a rate).
func (k Kind) Closed() bool { return k == Synchronous || k == Concurrent || k == Throughput }

// Spec is one load level.
type Spec struct {
	Kind Kind
	// Rate is req/s for open-loop profiles and the number of streams for
	// closed-loop ones (ignored for synchronous, which has one). For ramp it
	// is unused: RampFrom and RampTo apply.
	Rate float64
	// Burstiness is the gamma shape (vLLM's --burstiness): 1 is Poisson,
	// below 1 burstier, above 1 smoother; +Inf is constant. 0 means 1.
	Burstiness float64
	// Ramp: the rate goes linearly from RampFrom to RampTo over RampOver,
	// then stays at RampTo.
	RampFrom, RampTo float64
	RampOver         time.Duration
	// Replay: the trace's send offsets (ascending) and the factor applied
	// to them (2 = twice as slow; 0 means 1).
	Trace     []time.Duration
	TimeScale float64
	Seed      uint64
}

// Streams is the number of closed-loop streams (0 for open loop).
func (s Spec) Streams() int {
	switch s.Kind {
	case Synchronous:
		return 1
	case Concurrent, Throughput:
		return int(s.Rate)
	}
	return 0
}

// Target is the requested load for reporting: req/s for open loop (the final
// rate of a ramp, the mean rate of a replay), streams for closed loop.
func (s Spec) Target() float64 {
	switch s.Kind {
	case Synchronous:
		return 1
	case Ramp:
		return s.RampTo
	case Replay:
		if n := len(s.Trace); n > 1 && s.Trace[n-1] > 0 {
			return float64(n-1) / (s.scale() * s.Trace[n-1].Seconds())
		}
		return 0
	}
	return s.Rate
}

// Level is the value of the level label, e.g. "constant-4" or "concurrent-16".
func (s Spec) Level() string {
	switch s.Kind {
	case Synchronous:
		return string(s.Kind)
	case Ramp:
		return fmt.Sprintf("ramp-%s-%s", num(s.RampFrom), num(s.RampTo))
	case Replay:
		return "replay-x" + num(s.scale())
	case Gamma:
		return fmt.Sprintf("gamma-%s-b%s", num(s.Rate), num(s.burstiness()))
	}
	return string(s.Kind) + "-" + num(s.Rate)
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func (s Spec) scale() float64 {
	if s.TimeScale <= 0 {
		return 1
	}
	return s.TimeScale
}

func (s Spec) burstiness() float64 {
	if s.Burstiness == 0 {
		return 1
	}
	return s.Burstiness
}

// Validate checks the fields the profile uses, naming the bad one.
func (s Spec) Validate() error {
	bad := func(f string, v any) error { return fmt.Errorf("%s profile: %s %v out of range", s.Kind, f, v) }
	switch s.Kind {
	case Synchronous:
	case Concurrent, Throughput:
		if s.Rate < 1 || s.Rate != math.Trunc(s.Rate) || s.Rate > 1e6 {
			return bad("rate (streams, a whole number >= 1)", s.Rate)
		}
	case Constant, Poisson, Gamma:
		if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
			return bad("rate (req/s > 0)", s.Rate)
		}
		if s.Kind == Gamma && !(s.Burstiness >= 0) {
			return bad("burstiness", s.Burstiness)
		}
	case Ramp:
		if !(s.RampFrom >= 0) || !(s.RampTo > 0) || math.IsInf(s.RampTo, 0) || math.IsInf(s.RampFrom, 0) {
			return bad("ramp-from/ramp-to", fmt.Sprint(s.RampFrom, s.RampTo))
		}
		if s.RampOver <= 0 {
			return bad("ramp-seconds", s.RampOver)
		}
	case Replay:
		if len(s.Trace) == 0 {
			return errors.New("replay profile: empty trace")
		}
		for i := 1; i < len(s.Trace); i++ {
			if s.Trace[i] < s.Trace[i-1] {
				return fmt.Errorf("replay profile: trace offset %d (%v) before offset %d", i, s.Trace[i], i-1)
			}
		}
		if s.TimeScale < 0 {
			return bad("time-scale", s.TimeScale)
		}
	case Sweep:
		return errors.New("sweep is a sequence of benchmarks, not one level")
	default:
		_, err := ParseKind(string(s.Kind))
		return err
	}
	return nil
}

// Pacer yields the send offsets of an open-loop benchmark, in order.
type Pacer interface {
	// Next returns the offset from the benchmark's start at which the next
	// request is due; ok is false when the schedule has ended (a replay's
	// trace is exhausted). Offsets never decrease.
	Next() (at time.Duration, ok bool)
}

// New returns the pacer of an open-loop spec.
func New(s Spec) (Pacer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	switch s.Kind {
	case Constant:
		return &constant{gap: 1 / s.Rate}, nil
	case Poisson:
		return newGamma(s.Rate, 1, s.Seed), nil
	case Gamma:
		if math.IsInf(s.burstiness(), 1) {
			return &constant{gap: 1 / s.Rate}, nil
		}
		return newGamma(s.Rate, s.burstiness(), s.Seed), nil
	case Ramp:
		return &ramp{from: s.RampFrom, to: s.RampTo, over: s.RampOver.Seconds()}, nil
	case Replay:
		return &replay{trace: s.Trace, scale: s.scale()}, nil
	}
	return nil, fmt.Errorf("%s profile is closed loop: it has streams, not a schedule", s.Kind)
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// constant: request i is due at i/rate (the first at once). Offsets are
// computed from i, not summed, so they do not drift.
type constant struct {
	gap float64
	i   int64
}

func (c *constant) Next() (time.Duration, bool) {
	at := seconds(float64(c.i) * c.gap)
	c.i++
	return at, true
}

// gammaPacer: gaps drawn from Gamma(shape, scale = 1/(rate*shape)), so the
// mean gap is 1/rate and the coefficient of variation 1/sqrt(shape), as in
// vLLM's --burstiness; shape 1 is a Poisson process. Like vLLM, the first
// request waits its own gap. Unlike vLLM the gaps are not rescaled so the
// last send lands on N/rate: a time-bounded run has no known N.
type gammaPacer struct {
	shape, scale float64
	rng          *rand.Rand
	t            float64
}

func newGamma(rate, shape float64, seed uint64) *gammaPacer {
	return &gammaPacer{shape: shape, scale: 1 / (rate * shape), rng: rand.New(rand.NewPCG(seed, 0x5e12e))}
}

func (g *gammaPacer) Next() (time.Duration, bool) {
	g.t += gammaSample(g.rng, g.shape) * g.scale
	return seconds(g.t), true
}

// gammaSample draws from Gamma(shape, 1) by Marsaglia and Tsang's method,
// boosted for shape < 1.
func gammaSample(r *rand.Rand, shape float64) float64 {
	if shape == 1 {
		return r.ExpFloat64()
	}
	if shape < 1 {
		u := r.Float64()
		for u == 0 {
			u = r.Float64()
		}
		return gammaSample(r, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// ramp: the rate rises linearly from `from` to `to` over `over` seconds and
// then holds. Request i is due when the expected count of sends reaches i:
// N(t) = from*t + (to-from)*t²/(2*over) while ramping, then N(over) + to*(t-over).
type ramp struct {
	from, to, over float64
	i              int64
}

func (r *ramp) Next() (time.Duration, bool) {
	n := float64(r.i)
	r.i++
	if n == 0 {
		return 0, true
	}
	rampN := (r.from + r.to) / 2 * r.over
	if n >= rampN {
		return seconds(r.over + (n-rampN)/r.to), true
	}
	a := (r.to - r.from) / (2 * r.over)
	if a == 0 {
		return seconds(n / r.from), true
	}
	// Solve a t² + from t - n = 0 for the positive root, in the form that
	// stays accurate when from² >> 4an.
	t := 2 * n / (r.from + math.Sqrt(r.from*r.from+4*a*n))
	return seconds(t), true
}

// replay: the trace's offsets, scaled.
type replay struct {
	trace []time.Duration
	scale float64
	i     int
}

func (p *replay) Next() (time.Duration, bool) {
	if p.i >= len(p.trace) {
		return 0, false
	}
	at := time.Duration(float64(p.trace[p.i]-p.trace[0]) * p.scale)
	p.i++
	return at, true
}

// Take returns up to n offsets of p that fall before until (0 = no bound).
func Take(p Pacer, n int, until time.Duration) []time.Duration {
	var out []time.Duration
	for len(out) < n {
		at, ok := p.Next()
		if !ok || (until > 0 && at >= until) {
			break
		}
		out = append(out, at)
	}
	return out
}
