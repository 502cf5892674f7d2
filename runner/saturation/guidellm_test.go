package saturation

import (
	"math"
	"slices"
	"testing"
	"time"
)

// guideLLMRule is the over-saturation rule GuideLLM's --stop-over-saturated
// applies (its over-saturation constraint, 2025), rewritten from its
// description so the table can set the two side by side on the same runs:
// from 30 s on, while at least half the TTFTs of the window exceed 2.5 s,
// it fires when the least-squares slopes of the concurrency seen at each
// send and of TTFT (by first-token time) are both positive with a margin of
// error (95% t interval over the slope) below 2, over windows of at most
// 120 s and 75% of the points so far, with at most one point per second of
// run counted as independent.
type guideLLMRule struct {
	inFlight          int
	starts, firsts    olsWindow
	nStarts, nFirsts  int
	violations        int
	minSeconds, ttftS float64
}

func newGuideLLMRule() *guideLLMRule { return &guideLLMRule{minSeconds: 30, ttftS: 2.5} }

// event takes one client event at t seconds and says whether the rule fires.
func (g *guideLLMRule) event(e clientEvent) bool {
	t := e.at.Seconds()
	switch e.kind {
	case 0:
		g.inFlight++
		g.starts.add(t, float64(g.inFlight))
		g.nStarts++
	case 1:
		ttft := (e.first - e.sent).Seconds()
		g.firsts.add(t, ttft)
		g.nFirsts++
		if ttft > g.ttftS {
			g.violations++
		}
	case 2:
		g.inFlight--
	}
	for len(g.firsts.x) > 0 && (len(g.firsts.x) > int(0.75*float64(g.nFirsts)) || t-g.firsts.x[0] > 120) {
		if g.firsts.y[0] > g.ttftS {
			g.violations--
		}
		g.firsts.dropFirst()
	}
	for len(g.starts.x) > 0 && (len(g.starts.x) > int(0.75*float64(g.nStarts)) || t-g.starts.x[0] > 120) {
		g.starts.dropFirst()
	}
	if t < g.minSeconds || len(g.firsts.x) > 2*g.violations {
		return false
	}
	nc := math.Min(t, float64(len(g.starts.x)))
	if nc < 5 {
		return false
	}
	up := g.starts.rising(nc)
	if nt := math.Min(t, float64(len(g.firsts.x))); nt >= 5 {
		up = up && g.firsts.rising(nt)
	}
	return up
}

// olsWindow is a window of points with the running sums of a least-squares
// fit.
type olsWindow struct {
	x, y                  []float64
	sx, sy, sxx, sxy, syy float64
}

func (w *olsWindow) add(x, y float64) {
	w.x, w.y = append(w.x, x), append(w.y, y)
	w.sx, w.sy, w.sxx, w.sxy, w.syy = w.sx+x, w.sy+y, w.sxx+x*x, w.sxy+x*y, w.syy+y*y
}

func (w *olsWindow) dropFirst() {
	x, y := w.x[0], w.y[0]
	w.x, w.y = w.x[1:], w.y[1:]
	w.sx, w.sy, w.sxx, w.sxy, w.syy = w.sx-x, w.sy-y, w.sxx-x*x, w.sxy-x*y, w.syy-y*y
}

// rising reports a positive slope whose 95% margin of error, with n
// points counted as independent, is below twice the slope.
func (w *olsWindow) rising(n float64) bool {
	k := float64(len(w.x))
	cxx := math.Max(w.sxx-w.sx*w.sx/k, 1e-12)
	cxy := w.sxy - w.sx*w.sy/k
	cyy := w.syy - w.sy*w.sy/k
	slope := cxy / cxx
	rss := math.Max(cyy-cxy*cxy/cxx, 0)
	se := math.Sqrt(rss / (n - 2) / cxx)
	return slope > 0 && t975(n-2)*se/math.Max(slope, 1e-12) < 2
}

// t975 is the 0.975 quantile of Student's t with dof degrees of freedom
// (Cornish-Fisher from the normal's).
func t975(dof float64) float64 {
	const z = 1.959963984540054
	return z + (z*z*z+z)/(4*dof) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*dof*dof)
}

// judgeGuideLLM runs the rule over the events and says when it fired.
func judgeGuideLLM(evs []clientEvent) (time.Duration, bool) {
	g := newGuideLLMRule()
	for _, e := range evs {
		if g.event(e) {
			return e.at, true
		}
	}
	return 0, false
}

// The baseline does what its description says: nothing before 30 s or
// while TTFTs are short, and it fires on a queue that keeps growing.
func TestGuideLLMRule(t *testing.T) {
	run := func(ttft func(s float64) float64, endAfter float64) (time.Duration, bool) {
		var evs []clientEvent
		for s := 0.0; s < 120; s += 0.5 {
			sent := secs(s)
			first := secs(s + ttft(s))
			end := secs(s + ttft(s) + endAfter)
			evs = append(evs, clientEvent{sent, 0, sent, first, end}, clientEvent{first, 1, sent, first, end}, clientEvent{end, 2, sent, first, end})
		}
		slices.SortStableFunc(evs, func(a, b clientEvent) int { return int(a.at - b.at) })
		return judgeGuideLLM(evs)
	}
	if at, ok := run(func(s float64) float64 { return 3 + s/2 }, 1); !ok || at < 30*time.Second {
		t.Errorf("a growing queue with long TTFTs: fired %v at %s", ok, at)
	}
	if _, ok := run(func(s float64) float64 { return 0.1 + s/100 }, 1); ok {
		t.Error("fired with every TTFT under 2.5 s")
	}
	if _, ok := run(func(float64) float64 { return 3 }, 1); ok {
		t.Error("fired on a steady state")
	}
}
