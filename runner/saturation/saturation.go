// Package saturation tells, while an open-loop load level runs, whether the
// server keeps up with the offered rate or is over-saturated: taking requests
// faster than it finishes them, so that its queue, and every figure measured
// on it, grows with the length of the run instead of settling.
//
// A Detector is fed the level's events (Sent, FirstToken, Ended) with their
// times as offsets from the level's start, and judged with Check at any time.
// It holds no clock and starts no goroutine: the same events give the same
// verdicts, so it is table-tested and measured against the simulator's
// performance model in virtual time. A Detector is not safe for concurrent
// use; its owner serialises calls.
//
// The judgement rests on conservation, not on a latency threshold. A server
// that keeps up reaches a steady state: requests in flight and time to first
// token stop growing once the first requests have had time to finish. One
// that does not accumulates the difference between offered and served
// rates: in-flight requests grow by a share g = 1 − served/offered of the
// send rate, and TTFT grows by about g seconds per second (each new request
// waits behind a queue that grows at that rate). Both growths are therefore
// dimensionless, and the same threshold (Config.MinGrowth) applies to any
// server, model or request length. Check waits for the level to settle — a
// few service times, measured from the requests themselves, not a fixed
// delay — then cuts the later half of the run into bins and requires, for
// both series, a significant Mann-Kendall trend and a Theil-Sen slope above
// the threshold, held for at least one bin. Rank statistics on bins make a
// stall of the host (one bin of late events) unable to fire it alone.
//
// Its false-alarm and detection rates, against the performance model and
// the live simulator, are in docs/loadgen.md.
package saturation

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/servebench/servebench/runner/analysis"
)

// Config tunes a Detector. Zero fields take Default's values.
type Config struct {
	// MinGrowth is the smallest share of the offered load that must be
	// accumulating for the server to be judged over-saturated: in-flight
	// requests growing by at least this fraction of the send rate, and
	// TTFT by at least this many seconds per second. 0.05 fires for a
	// server serving less than about 95% of what it is sent.
	MinGrowth float64
	// Alpha is the one-sided significance level of each trend test.
	Alpha float64
	// Bins is how many equal bins the judged window is cut into.
	Bins int
	// Settle is how many service times pass after the first send before
	// any judgement; the judged window starts there at the earliest and
	// lasts at least Settle service times too. The service time is the
	// shortest TTFT seen plus the median time from first token to end of
	// the finished requests, or twice the median age of those still
	// decoding when that is longer (while a burst slows decoding, the
	// finished ones are the survivors).
	Settle float64
	// MinFirstTokens is the fewest first tokens a bin may hold; with fewer
	// the window has fewer bins, and below 5 bins Check waits.
	MinFirstTokens int
}

// Default is the configuration the load generator uses.
func Default() Config {
	return Config{MinGrowth: 0.05, Alpha: 0.005, Bins: 8, Settle: 3, MinFirstTokens: 3}
}

func (c Config) withDefaults() Config {
	d := Default()
	if c.MinGrowth <= 0 {
		c.MinGrowth = d.MinGrowth
	}
	if c.Alpha <= 0 {
		c.Alpha = d.Alpha
	}
	if c.Bins <= 0 {
		c.Bins = d.Bins
	}
	c.Bins = max(c.Bins, minBins)
	if c.Settle <= 0 {
		c.Settle = d.Settle
	}
	if c.MinFirstTokens <= 0 {
		c.MinFirstTokens = d.MinFirstTokens
	}
	return c
}

// minBins is the fewest bins a window is judged on.
const minBins = 5

// spanKeep is how many recent service spans the service time is taken from.
const spanKeep = 512

// State is a verdict.
type State string

// Verdicts: Undecided while the evidence is too thin (Evidence.Reason says
// why), Steady when the server keeps up, Saturated when it does not.
const (
	Undecided State = "undecided"
	Steady    State = "steady"
	Saturated State = "over-saturated"
)

// Evidence is what a check observed. Times are seconds from the level's
// start; rates are per second.
type Evidence struct {
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"` // why Undecided
	// At is when the check was made; for a fired detector, when it fired.
	At float64 `json:"at_seconds"`
	// ServiceSeconds is the time scale the wait and the window are set by,
	// absent before any request finished.
	ServiceSeconds float64 `json:"service_seconds,omitempty"`
	// Window is what the judged window showed; nil (its fields absent)
	// when no window was judged yet. An Undecided verdict with a window is
	// growth not yet held long enough to confirm.
	*Window
}

// Window is the evidence of a judged window.
type Window struct {
	Start float64 `json:"window_start_seconds"`
	Bins  int     `json:"bins"`
	// OfferedRate is the sends per second in the window; ServedRate the
	// requests that ended per second.
	OfferedRate float64 `json:"offered_rate"`
	ServedRate  float64 `json:"served_rate"`
	// InFlight: mean requests in flight in the first and last bins, and
	// Growth, their Theil-Sen slope over OfferedRate, with the p-value of
	// its Mann-Kendall trend.
	InFlightFirst float64 `json:"in_flight_first"`
	InFlightLast  float64 `json:"in_flight_last"`
	Growth        float64 `json:"in_flight_growth"`
	GrowthP       float64 `json:"in_flight_growth_p"`
	// TTFT: median of the first and last bins holding first tokens (ms,
	// by first-token time), its Theil-Sen slope (seconds per second) and
	// trend p-value.
	TTFTFirstMs float64 `json:"ttft_first_ms"`
	TTFTLastMs  float64 `json:"ttft_last_ms"`
	TTFTSlope   float64 `json:"ttft_slope"`
	TTFTSlopeP  float64 `json:"ttft_slope_p"`
}

// String is the evidence in one line, for logs and invalid reasons.
func (e Evidence) String() string {
	if e.Window == nil {
		return fmt.Sprintf("%s at %.1fs: %s", e.State, e.At, e.Reason)
	}
	reason := ""
	if e.Reason != "" {
		reason = "; " + e.Reason
	}
	return fmt.Sprintf("%s at %.1fs: over %.1f–%.1fs, %.4g req/s sent and %.4g ended; in flight %.1f → %.1f (growth %.3g of the send rate, p=%.2g); TTFT %.4g → %.4g ms (%.3g s/s, p=%.2g)",
		e.State, e.At, e.Start, e.At, e.OfferedRate, e.ServedRate, e.InFlightFirst, e.InFlightLast, e.Growth, e.GrowthP,
		e.TTFTFirstMs, e.TTFTLastMs, e.TTFTSlope, e.TTFTSlopeP) + reason
}

type point struct{ at, v float64 }

// times is an ascending list of event offsets, of which the first base have
// been dropped (they lie before any window still to be judged).
type times struct {
	v    []float64
	base int
}

// insert keeps the list ascending; events arrive nearly in order, so the
// search is short and the move small.
func (s *times) insert(t float64) { s.v = insertAsc(s.v, t) }

func insertAsc(s []float64, t float64) []float64 {
	i := len(s)
	for i > 0 && s[i-1] > t {
		i--
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = t
	return s
}

// before is how many events happened before t.
func (s *times) before(t float64) int { return s.base + sort.SearchFloat64s(s.v, t) }

// area is the integral over [u, v) of the number of events at or before
// time x, dx; u is not before a dropped event.
func (s *times) area(u, v float64) float64 {
	i, j := sort.SearchFloat64s(s.v, u), sort.SearchFloat64s(s.v, v)
	a := float64(s.base+i) * (v - u)
	for _, x := range s.v[i:j] {
		a += v - x
	}
	return a
}

// drop forgets the events before t once they are many.
func (s *times) drop(t float64) {
	if i := sort.SearchFloat64s(s.v, t); i >= dropAt {
		s.v = s.v[i:] // the next growth copies only what is kept
		s.base += i
	}
}

// dropAt is the fewest old events worth dropping at once.
const dropAt = 4096

// Detector judges one level. See the package doc.
type Detector struct {
	c           Config
	sends, ends times
	firsts      []point // (first-token offset, TTFT), by offset
	firstSend   float64
	spans       []float64 // recent first-token-to-end spans (ring)
	spanAt      int
	minTTFT     float64
	// decoding holds the first-token offsets of requests that have had
	// their first token and not ended, ascending.
	decoding []float64
	// streak is when the current run of saturated checks began (-1: none).
	streak float64
}

// New returns a Detector for one level.
func New(c Config) *Detector {
	return &Detector{c: c.withDefaults(), minTTFT: math.Inf(1), firstSend: math.Inf(1), streak: -1}
}

func sec(d time.Duration) float64 { return d.Seconds() }

// Sent records a request sent at offset at.
func (d *Detector) Sent(at time.Duration) {
	d.sends.insert(sec(at))
	d.firstSend = math.Min(d.firstSend, sec(at))
}

// FirstToken records the first token, at offset at, of a request sent at
// offset sent.
func (d *Detector) FirstToken(sent, at time.Duration) {
	p := point{sec(at), sec(at - sent)}
	i := len(d.firsts)
	for i > 0 && d.firsts[i-1].at > p.at {
		i--
	}
	d.firsts = slices.Insert(d.firsts, i, p)
	d.minTTFT = math.Min(d.minTTFT, p.v)
	d.decoding = insertAsc(d.decoding, p.at)
}

// Ended records the end, at offset end, of a request sent at offset sent,
// whatever its outcome; first is its first token's offset, or negative
// when it had none. The first token itself goes to FirstToken, before.
func (d *Detector) Ended(sent, first, end time.Duration) {
	d.ends.insert(sec(end))
	if first < 0 || first < sent || end < first {
		return
	}
	// Its first token is the nearest in decoding: the caller may have
	// dated it by another clock read than the one FirstToken got.
	if n := len(d.decoding); n > 0 {
		f := sec(first)
		i := sort.SearchFloat64s(d.decoding, f)
		if i == n || i > 0 && f-d.decoding[i-1] < d.decoding[i]-f {
			i--
		}
		d.decoding = slices.Delete(d.decoding, i, i+1)
	}
	span := sec(end - first)
	if len(d.spans) < spanKeep {
		d.spans = append(d.spans, span)
	} else {
		d.spans[d.spanAt] = span
		d.spanAt = (d.spanAt + 1) % spanKeep
	}
}

// undecided ends a check without a verdict.
func (d *Detector) undecided(ev Evidence, format string, a ...any) Evidence {
	ev.State, ev.Reason = Undecided, fmt.Sprintf(format, a...)
	d.streak = -1
	return ev
}

// Check judges the level at offset now: Saturated once the condition has
// held, at every check, for at least one bin's width.
func (d *Detector) Check(now time.Duration) Evidence {
	c := d.c
	t := sec(now)
	ev := Evidence{At: t}
	if math.IsInf(d.firstSend, 1) {
		return d.undecided(ev, "nothing sent")
	}
	if len(d.spans) == 0 {
		return d.undecided(ev, "no request has finished yet")
	}
	// Spans of finished requests alone would be survivors: while a burst
	// slows decoding, the requests still decoding are older than any that
	// finished. Their median age is half a span in a steady state.
	spans := slices.Clone(d.spans)
	slices.Sort(spans)
	span := analysis.QuantileSorted(spans, 0.5)
	if n := len(d.decoding); n > 0 {
		span = math.Max(span, 2*(t-d.decoding[(n-1)/2]))
	}
	svc := span + d.minTTFT
	ev.ServiceSeconds = svc
	first := d.firstSend
	// The window: the later half of the run, after the settling time.
	half := first + (t-first)/2
	a := math.Max(first+c.Settle*svc, half)
	if t-a < c.Settle*svc {
		return d.undecided(ev, "settling: first judged at %.1fs (%.3g service times of %.3gs to settle, as many to judge)",
			first+2*c.Settle*svc, c.Settle, svc)
	}
	// Every later window starts after half: older events are not needed.
	d.sends.drop(half)
	d.ends.drop(half)
	if i := sort.Search(len(d.firsts), func(i int) bool { return d.firsts[i].at >= half }); i >= dropAt {
		d.firsts = d.firsts[i:]
	}
	w := t - a
	// Bins: as many as the first tokens in the window fill, up to Bins.
	lo := sort.Search(len(d.firsts), func(i int) bool { return d.firsts[i].at >= a })
	hi := sort.Search(len(d.firsts), func(i int) bool { return d.firsts[i].at >= t })
	nb := min(c.Bins, (hi-lo)/c.MinFirstTokens)
	if nb < minBins {
		return d.undecided(ev, "%d first tokens in the %.1fs window: %d bins need %d", hi-lo, w, minBins, minBins*c.MinFirstTokens)
	}
	width := w / float64(nb)
	var xs, inflight, xt, ttft, vals []float64
	j := lo
	for b := range nb {
		u, v := a+float64(b)*width, a+float64(b+1)*width
		mid := (u + v) / 2
		xs = append(xs, mid)
		inflight = append(inflight, (d.sends.area(u, v)-d.ends.area(u, v))/width)
		vals = vals[:0]
		for ; j < hi && d.firsts[j].at < v; j++ {
			vals = append(vals, d.firsts[j].v)
		}
		if len(vals) > 0 {
			slices.Sort(vals)
			xt, ttft = append(xt, mid), append(ttft, analysis.QuantileSorted(vals, 0.5))
		}
	}
	win := &Window{Start: a, Bins: nb,
		OfferedRate:   float64(d.sends.before(t)-d.sends.before(a)) / w,
		ServedRate:    float64(d.ends.before(t)-d.ends.before(a)) / w,
		InFlightFirst: inflight[0], InFlightLast: inflight[nb-1]}
	gr, err := analysis.TrendTest(xs, inflight)
	if err != nil || win.OfferedRate <= 0 {
		return d.undecided(ev, "nothing sent in the %.1fs window", w)
	}
	tr, err := analysis.TrendTest(xt, ttft)
	if err != nil {
		return d.undecided(ev, "first tokens in %d bins of %d", len(ttft), nb)
	}
	win.TTFTFirstMs, win.TTFTLastMs = 1000*ttft[0], 1000*ttft[len(ttft)-1]
	win.Growth, win.GrowthP = gr.Slope/win.OfferedRate, gr.P
	win.TTFTSlope, win.TTFTSlopeP = tr.Slope, tr.P
	ev.Window = win
	ev.State = Steady
	if ev.Growth < c.MinGrowth || gr.P >= c.Alpha || ev.TTFTSlope < c.MinGrowth || tr.P >= c.Alpha {
		d.streak = -1
		return ev
	}
	if d.streak < 0 {
		d.streak = t
	}
	if held := t - d.streak; held < width {
		ev.State, ev.Reason = Undecided, fmt.Sprintf("growing for %.2gs of the %.2gs (one bin) that confirm it", held, width)
		return ev
	}
	ev.State = Saturated
	return ev
}
