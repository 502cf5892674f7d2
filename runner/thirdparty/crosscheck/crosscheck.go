// Package crosscheck checks what a third-party load generator's own report
// says about a level (a Claim) against the metering proxy's records of the
// same traffic. The proxy sits between the tool and the server and times
// every request with servebench's rules, so the two must tell the same
// story: the same requests, the same completions, the same throughput and,
// where the tool times first tokens, the same median TTFT — up to the
// cut-off effects and tolerances stated here and in docs/suites.md.
//
// Counts are exact except for requests the rules cannot place: a request
// within Edge of the tool's counting window's start or end (the tool and
// the proxy date it a hop apart), and the requests a closed-loop tool
// abandons uncounted when it stops with them in flight (Claim.Abandoned).
// Rates agree within RateTolerance (or what those requests amount to);
// TTFT p50 within TTFTTolerance or TTFTFloor, whichever is larger.
//
// Everything here is pure: no clock, no I/O. Check is safe for concurrent
// use.
package crosscheck

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

// Tolerances of the rates and the median TTFT, and the uncertainty of a
// request's position in time between the tool and the proxy.
const (
	RateTolerance = 0.10
	TTFTTolerance = 0.10
	TTFTFloor     = 25 * time.Millisecond
	Edge          = 100 * time.Millisecond
)

// Claim is what a tool's report says about one level, in terms the proxy's
// records can be counted in. A figure the report lacks has its Has flag
// false (or a zero span/rate) and is not checked.
type Claim struct {
	Tool string
	// Span, when set, is where the tool counted requests: a request that
	// overlaps it counts (GuideLLM's rule: it ends after the start and
	// starts before the end). Zero: every request of the level.
	Span Span

	Total, Successful       int
	HasTotal, HasSuccessful bool

	// Rate is the tool's successful requests per second over RateSpan,
	// which starts at RateStart (zero: the level's first request at the
	// proxy): completions ending inside it, both ends included. 0: not
	// reported.
	Rate      float64
	RateStart time.Time
	RateSpan  time.Duration

	// TTFTP50 is the tool's median time to first token; 0: not reported.
	TTFTP50 time.Duration

	// Abandoned is how many requests the tool may have dropped uncounted
	// when it stopped (a closed-loop tool cuts its streams at its end):
	// counts and rates may differ by that many.
	Abandoned int
	// Cut is how many requests the tool counts as cancelled at its own
	// deadline (GuideLLM's incomplete): some may never have left it, so
	// its total may exceed the proxy's by that many.
	Cut int
}

// Span is a time interval, [Start, End).
type Span struct{ Start, End time.Time }

// IsZero reports whether the span is unset.
func (s Span) IsZero() bool { return s.Start.IsZero() && s.End.IsZero() }

// Proxy is what the metering proxy saw of the level: its timed requests,
// and those it refused because they came after the window closed.
type Proxy struct {
	Records []*measure.Result
	Refused int
}

// Check compares the claim with the proxy's view.
func Check(c Claim, p Proxy) results.CrossCheck {
	out := results.CrossCheck{Tool: c.Tool, Against: "proxy", Agree: true, Rows: []results.CrossCheckRow{}}
	counted, ambiguous := p.Records, 0
	if !c.Span.IsZero() {
		counted, ambiguous = inSpan(p.Records, c.Span)
	}
	allow := ambiguous + c.Abandoned
	var successful int
	for _, r := range counted {
		if r.Outcome == contract.OutcomeSuccess {
			successful++
		}
	}
	total := len(counted)
	if c.Span.IsZero() {
		total += p.Refused // the tool sent them: they count as its failures
	}
	if c.HasTotal {
		d := c.Total - total
		ok := abs(d) <= allow || d > 0 && d <= allow+c.Cut
		add(&out, "requests", float64(c.Total), float64(total), countTolerance(ambiguous, c.Abandoned, c.Cut), ok)
	}
	if c.HasSuccessful {
		add(&out, "successful", float64(c.Successful), float64(successful), countTolerance(ambiguous, c.Abandoned, 0), abs(c.Successful-successful) <= allow)
	}
	if c.Rate > 0 && c.RateSpan > 0 {
		start := c.RateStart
		if start.IsZero() {
			start = first(p.Records)
		}
		n := 0
		for _, r := range p.Records {
			if r.Outcome == contract.OutcomeSuccess && !r.End.Before(start) && !r.End.After(start.Add(c.RateSpan)) {
				n++
			}
		}
		secs := c.RateSpan.Seconds()
		proxyRate := float64(n) / secs
		slack := math.Max(RateTolerance*proxyRate, float64(allow)/secs)
		t := fmt.Sprintf("%.0f%%", RateTolerance*100)
		if allow > 0 {
			t += fmt.Sprintf(" or %d requests over %.3gs", allow, secs)
		}
		add(&out, "requests_per_second", c.Rate, proxyRate, t, math.Abs(c.Rate-proxyRate) <= slack+1e-9)
	}
	if c.TTFTP50 > 0 {
		var ttfts []float64
		for _, r := range counted {
			if r.Outcome == contract.OutcomeSuccess && !r.FirstTok.IsZero() {
				ttfts = append(ttfts, msec(r.FirstTok.Sub(r.Scheduled)))
			}
		}
		if len(ttfts) > 0 {
			proxyP50 := median(ttfts)
			tool := msec(c.TTFTP50)
			slack := math.Max(TTFTTolerance*proxyP50, msec(TTFTFloor))
			add(&out, "ttft_p50_ms", tool, proxyP50, fmt.Sprintf("%.0f%% or %v", TTFTTolerance*100, TTFTFloor),
				math.Abs(tool-proxyP50) <= slack)
		} else {
			out.Notes = append(out.Notes, "ttft_p50_ms: the proxy timed no first token of a successful request")
		}
	}
	if p.Refused > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("the proxy refused %d requests sent after the window closed; nothing reached the server after it", p.Refused))
	}
	if ambiguous > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d requests lay within %v of the edges of %s's counting window", ambiguous, Edge, c.Tool))
	}
	if len(out.Rows) == 0 {
		out.Notes = append(out.Notes, c.Tool+"'s report gives no figure the proxy can check")
	}
	return out
}

// add appends one row; a row that disagrees makes the check disagree.
func add(c *results.CrossCheck, figure string, tool, proxy float64, tolerance string, agree bool) {
	c.Rows = append(c.Rows, results.CrossCheckRow{Figure: figure, Tool: tool, Proxy: proxy, Tolerance: tolerance, Agree: agree})
	c.Agree = c.Agree && agree
}

// inSpan returns the records that overlap the span by the proxy's dates
// and how many of them, or of the others, lie within Edge of its start or
// end, where the tool's dates (a hop earlier at the start, later at the
// end) may have placed them on the other side.
func inSpan(rs []*measure.Result, s Span) (in []*measure.Result, ambiguous int) {
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() < Edge }
	for _, r := range rs {
		if r.End.After(s.Start) && r.Scheduled.Before(s.End) {
			in = append(in, r)
		}
		if near(r.End, s.Start) || near(r.Scheduled, s.End) {
			ambiguous++
		}
	}
	return in, ambiguous
}

// countTolerance describes what a count may differ by, and why.
func countTolerance(ambiguous, abandoned, cut int) string {
	var why, out []string
	if ambiguous > 0 {
		why = append(why, fmt.Sprintf("%d at the window's edges", ambiguous))
	}
	if abandoned > 0 {
		why = append(why, fmt.Sprintf("%d in flight when the tool stopped", abandoned))
	}
	if len(why) > 0 {
		out = append(out, fmt.Sprintf("±%d (%s)", ambiguous+abandoned, strings.Join(why, ", ")))
	}
	if cut > 0 {
		out = append(out, fmt.Sprintf("+%d (cancelled by the tool at its deadline)", cut))
	}
	if len(out) == 0 {
		return "exact"
	}
	return strings.Join(out, "; ")
}

// first is the earliest arrival at the proxy.
func first(rs []*measure.Result) time.Time {
	var t time.Time
	for _, r := range rs {
		if t.IsZero() || r.Scheduled.Before(t) {
			t = r.Scheduled
		}
	}
	return t
}

// Reasons are the invalid reasons of a check that disagrees: one per row
// that does, naming both numbers.
func Reasons(c results.CrossCheck) []string {
	var out []string
	for _, r := range c.Rows {
		if !r.Agree {
			out = append(out, fmt.Sprintf("%s's report disagrees with the metering proxy: %s %s (tool) vs %s (proxy), tolerance %s",
				c.Tool, r.Figure, num(r.Tool), num(r.Proxy), r.Tolerance))
		}
	}
	return out
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// median of a non-empty sample.
func median(xs []float64) float64 { return results.NewDist(xs).P50.Or(0) }

func msec(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
