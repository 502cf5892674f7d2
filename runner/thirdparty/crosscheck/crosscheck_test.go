package crosscheck

import (
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// rec is a request that reached the proxy at at, had its first token ttft
// later and ended at end (offsets from t0).
func rec(at, ttft, end time.Duration, outcome contract.Outcome) *measure.Result {
	r := &measure.Result{Scheduled: t0.Add(at), Sent: t0.Add(at), End: t0.Add(end), Outcome: outcome}
	if ttft > 0 {
		r.FirstTok = r.Scheduled.Add(ttft)
	}
	return r
}

func ok(at, end time.Duration) *measure.Result {
	return rec(at, 100*time.Millisecond, end, contract.OutcomeSuccess)
}

func row(c results.CrossCheck, figure string) *results.CrossCheckRow {
	for i := range c.Rows {
		if c.Rows[i].Figure == figure {
			return &c.Rows[i]
		}
	}
	return nil
}

func TestCheck(t *testing.T) {
	s := time.Second
	three := []*measure.Result{ok(0, 1*s), ok(1*s, 2*s), ok(2*s, 3*s)}
	for _, tc := range []struct {
		name  string
		claim Claim
		proxy Proxy
		agree bool
		want  map[string][2]float64 // figure -> tool, proxy
		tol   map[string]string
		notes []string
	}{
		{
			name:  "counts and rate over the run agree exactly",
			claim: Claim{Tool: "vllm-bench", Total: 3, Successful: 3, HasTotal: true, HasSuccessful: true, Rate: 1, RateSpan: 3 * s, TTFTP50: 100 * time.Millisecond},
			proxy: Proxy{Records: three}, agree: true,
			want: map[string][2]float64{"requests": {3, 3}, "successful": {3, 3}, "requests_per_second": {1, 1}, "ttft_p50_ms": {100, 100}},
			tol:  map[string]string{"requests": "exact", "ttft_p50_ms": "10% or 25ms"},
		},
		{
			name:  "a concurrency-4 report for a level the proxy saw one request of",
			claim: Claim{Tool: "vllm-bench", Total: 11, Successful: 11, HasTotal: true, HasSuccessful: true},
			proxy: Proxy{Records: three[:1]}, agree: false,
			want: map[string][2]float64{"requests": {11, 1}, "successful": {11, 1}},
		},
		{
			name:  "requests refused after the window are the tool's failures",
			claim: Claim{Tool: "vegeta", Total: 5, Successful: 3, HasTotal: true, HasSuccessful: true},
			proxy: Proxy{Records: three, Refused: 2}, agree: true,
			want:  map[string][2]float64{"requests": {5, 5}, "successful": {3, 3}},
			notes: []string{"the proxy refused 2 requests sent after the window closed; nothing reached the server after it"},
		},
		{
			name: "a counting window: requests overlapping it count, one at its edge may go either way",
			claim: Claim{Tool: "guidellm", Span: Span{t0.Add(1 * s), t0.Add(3 * s)}, Total: 3, Successful: 2, HasTotal: true, HasSuccessful: true,
				Rate: 1, RateStart: t0.Add(1 * s), RateSpan: 2 * s},
			proxy: Proxy{Records: []*measure.Result{
				ok(0, 900*time.Millisecond),                                    // ended before the window: not counted
				ok(950*time.Millisecond, 1950*time.Millisecond),                // overlaps
				ok(2*s, 2900*time.Millisecond),                                 // inside
				rec(2950*time.Millisecond, 0, 4*s, contract.OutcomeIncomplete), // starts 50 ms before the end: an edge request
				ok(3500*time.Millisecond, 4*s),                                 // after
			}},
			agree: true,
			want:  map[string][2]float64{"requests": {3, 3}, "successful": {2, 2}, "requests_per_second": {1, 1}},
			tol:   map[string]string{"requests": "±1 (1 at the window's edges)", "requests_per_second": "10% or 1 requests over 2s"},
			notes: []string{"1 requests lay within 100ms of the edges of guidellm's counting window"},
		},
		{
			name:  "requests the tool cancelled at its deadline may never have left it",
			claim: Claim{Tool: "guidellm", Total: 4, Successful: 3, HasTotal: true, HasSuccessful: true, Cut: 1},
			proxy: Proxy{Records: three}, agree: true,
			want: map[string][2]float64{"requests": {4, 3}, "successful": {3, 3}},
			tol:  map[string]string{"requests": "+1 (cancelled by the tool at its deadline)", "successful": "exact"},
		},
		{
			name:  "but not the other way round",
			claim: Claim{Tool: "guidellm", Total: 2, HasTotal: true, Cut: 1},
			proxy: Proxy{Records: three}, agree: false,
			want: map[string][2]float64{"requests": {2, 3}},
		},
		{
			name:  "a closed-loop tool abandons its streams uncounted when it stops",
			claim: Claim{Tool: "wrk", Total: 2, Successful: 2, HasTotal: true, HasSuccessful: true, Abandoned: 2},
			proxy: Proxy{Records: append(three, ok(3*s, 3500*time.Millisecond))}, agree: true,
			want: map[string][2]float64{"requests": {2, 4}, "successful": {2, 4}},
			tol:  map[string]string{"requests": "±2 (2 in flight when the tool stopped)"},
		},
		{
			name:  "a throughput off by a third disagrees",
			claim: Claim{Tool: "vegeta", Rate: 1.5, RateSpan: 3 * s},
			proxy: Proxy{Records: three}, agree: false,
			want: map[string][2]float64{"requests_per_second": {1.5, 1}},
		},
		{
			name:  "TTFT p50 within the 25 ms floor agrees, beyond it not",
			claim: Claim{Tool: "vllm-bench", TTFTP50: 120 * time.Millisecond},
			proxy: Proxy{Records: three}, agree: true,
			want: map[string][2]float64{"ttft_p50_ms": {120, 100}},
		},
		{
			name:  "TTFT p50 twice the proxy's",
			claim: Claim{Tool: "guidellm", TTFTP50: 200 * time.Millisecond},
			proxy: Proxy{Records: three}, agree: false,
			want: map[string][2]float64{"ttft_p50_ms": {200, 100}},
		},
		{
			name:  "a report with nothing to check",
			claim: Claim{Tool: "mytool"},
			proxy: Proxy{Records: three}, agree: true,
			want:  map[string][2]float64{},
			notes: []string{"mytool's report gives no figure the proxy can check"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Check(tc.claim, tc.proxy)
			if c.Agree != tc.agree || c.Tool != tc.claim.Tool || c.Against != "proxy" {
				t.Errorf("agree %v tool %s against %s, want agree %v: %+v", c.Agree, c.Tool, c.Against, tc.agree, c)
			}
			if len(c.Rows) != len(tc.want) {
				t.Errorf("rows %+v, want %v", c.Rows, tc.want)
			}
			for fig, v := range tc.want {
				r := row(c, fig)
				if r == nil || r.Tool != v[0] || r.Proxy != v[1] {
					t.Errorf("%s: %+v, want tool %v proxy %v", fig, r, v[0], v[1])
				}
			}
			for fig, tol := range tc.tol {
				if r := row(c, fig); r == nil || r.Tolerance != tol {
					t.Errorf("%s tolerance %+v, want %q", fig, r, tol)
				}
			}
			if strings.Join(c.Notes, "|") != strings.Join(tc.notes, "|") {
				t.Errorf("notes %q, want %q", c.Notes, tc.notes)
			}
			reasons := Reasons(c)
			if (len(reasons) == 0) != tc.agree {
				t.Errorf("reasons %q with agree %v", reasons, c.Agree)
			}
		})
	}
}

func TestReasonsNameBothNumbers(t *testing.T) {
	c := Check(Claim{Tool: "vllm-bench", Total: 11, HasTotal: true, Rate: 2.25, RateSpan: 4 * time.Second},
		Proxy{Records: []*measure.Result{ok(0, time.Second)}})
	got := Reasons(c)
	want := []string{
		"vllm-bench's report disagrees with the metering proxy: requests 11 (tool) vs 1 (proxy), tolerance exact",
		"vllm-bench's report disagrees with the metering proxy: requests_per_second 2.25 (tool) vs 0.25 (proxy), tolerance 10%",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reasons\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
