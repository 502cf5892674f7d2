package saturation

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// req is one synthetic request: sent, first token and end, as seen by the
// client (first < 0: none).
type req struct{ sent, first, end time.Duration }

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// fifo serves arrivals every 1/rate seconds on slots parallel servers, each
// request taking service seconds (its first token after ttft), first come
// first served: the queue grows when rate > slots/service.
func fifo(rate float64, slots int, ttft, service, span float64) []req {
	free := make([]float64, slots)
	var out []req
	for at := 0.0; at < span; at += 1 / rate {
		i := slices.Index(free, slices.Min(free))
		start := math.Max(at, free[i])
		free[i] = start + service
		out = append(out, req{secs(at), secs(start + ttft), secs(start + service)})
	}
	return out
}

// replay feeds the requests' events in time order, checking every tick up to
// span, and returns every check's evidence.
func replay(d *Detector, rs []req, tick, span time.Duration) []Evidence {
	type ev struct {
		at   time.Duration
		kind int
		r    req
	}
	var evs []ev
	for _, r := range rs {
		evs = append(evs, ev{r.sent, 0, r})
		if r.first >= 0 {
			evs = append(evs, ev{r.first, 1, r})
		}
		evs = append(evs, ev{r.end, 2, r})
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return int(a.at - b.at) })
	var out []Evidence
	next := 0
	for now := tick; now <= span; now += tick {
		for ; next < len(evs) && evs[next].at <= now; next++ {
			e := evs[next]
			switch e.kind {
			case 0:
				d.Sent(e.r.sent)
			case 1:
				d.FirstToken(e.r.sent, e.r.first)
			case 2:
				d.Ended(e.r.sent, e.r.first, e.r.end)
			}
		}
		out = append(out, d.Check(now))
	}
	return out
}

func firstSaturated(evs []Evidence) (Evidence, bool) {
	for _, e := range evs {
		if e.State == Saturated {
			return e, true
		}
	}
	return evs[len(evs)-1], false
}

func TestDetector(t *testing.T) {
	tick := 100 * time.Millisecond
	cases := []struct {
		name string
		rs   []req
		span float64
		want State
		// For Saturated: the growth expected, 1 − served/offered.
		growth float64
		reason string
	}{
		// 8 slots of 2 s serve 4 req/s.
		{name: "steady at 75%", rs: fifo(3, 8, 0.2, 2, 60), span: 60, want: Steady},
		{name: "over by 25%", rs: fifo(5, 8, 0.2, 2, 60), span: 60, want: Saturated, growth: 0.2},
		{name: "over by 10%", rs: fifo(4.4, 8, 0.2, 2, 120), span: 120, want: Saturated, growth: 0.09},
		// Growing by 2% of the load: significant, but below MinGrowth.
		{name: "over by 2%", rs: fifo(4.08, 8, 0.2, 2, 120), span: 120, want: Steady},
		{name: "nothing sent", span: 5, want: Undecided, reason: "nothing sent"},
		{name: "nothing finished", rs: fifo(3, 8, 0.2, 100, 5), span: 5, want: Undecided, reason: "no request has finished"},
		{name: "too short", rs: fifo(3, 8, 0.2, 2, 10), span: 10, want: Undecided, reason: "settling"},
		// One request every 4 s: 15 first tokens in a minute.
		{name: "too sparse", rs: fifo(0.25, 8, 0.2, 2, 60), span: 60, want: Undecided, reason: "first tokens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := replay(New(Config{}), c.rs, tick, secs(c.span))
			got, _ := firstSaturated(evs)
			if got.State != c.want {
				t.Fatalf("state %s, want %s: %s", got.State, c.want, got)
			}
			if c.reason != "" && !strings.Contains(got.Reason, c.reason) {
				t.Errorf("reason %q, want it to mention %q", got.Reason, c.reason)
			}
			if c.want != Saturated {
				return
			}
			if math.Abs(got.Growth-c.growth) > 0.3*c.growth {
				t.Errorf("growth %.3g, want about %.3g: %s", got.Growth, c.growth, got)
			}
			if got.ServedRate >= got.OfferedRate || got.InFlightLast <= got.InFlightFirst || got.TTFTLastMs <= got.TTFTFirstMs ||
				got.GrowthP >= Default().Alpha || got.TTFTSlopeP >= Default().Alpha || got.Bins != Default().Bins {
				t.Errorf("evidence does not show what fired it: %+v", got)
			}
			// Not before the settling time and a window of as long.
			if got.At < 2*Default().Settle*2 || got.Start < Default().Settle*2 {
				t.Errorf("fired at %.1fs over a window from %.1fs: before the level settled", got.At, got.Start)
			}
		})
	}
}

// Requests that take longer and longer (in flight grows) while first tokens
// come as fast as ever: no queue forms, so no verdict of over-saturation.
func TestDetectorNeedsBothSignals(t *testing.T) {
	var rs []req
	for at := 0.0; at < 60; at += 0.25 {
		rs = append(rs, req{secs(at), secs(at + 0.2), secs(at + 1 + at/10)})
	}
	evs := replay(New(Config{}), rs, 100*time.Millisecond, 60*time.Second)
	if got, fired := firstSaturated(evs); fired || got.State != Steady || got.Growth < Default().MinGrowth {
		t.Fatalf("in flight grew (%.3g) with a flat TTFT: %s", got.Growth, got)
	}
}

// A client stall (every end in a two-second gap seen at its end) moves one
// bin; it does not make a steady level over-saturated.
func TestDetectorIgnoresAStall(t *testing.T) {
	rs := fifo(3, 8, 0.2, 2, 60)
	for i := range rs {
		for _, s := range []float64{40, 58} {
			if lo, hi := secs(s), secs(s+2); rs[i].end >= lo && rs[i].end < hi {
				rs[i].end = hi
			}
			if lo, hi := secs(s), secs(s+2); rs[i].first >= lo && rs[i].first < hi {
				rs[i].first = hi
			}
		}
	}
	evs := replay(New(Config{}), rs, 100*time.Millisecond, 60*time.Second)
	if got, fired := firstSaturated(evs); fired {
		t.Fatalf("a stall fired it: %s", got)
	}
}

// Requests without a first token (failures) still end and count in flight.
func TestDetectorFailures(t *testing.T) {
	rs := fifo(5, 8, 0.2, 2, 60)
	for i := range rs {
		if i%3 == 0 {
			rs[i].first = -1
		}
	}
	if got, fired := firstSaturated(replay(New(Config{}), rs, 100*time.Millisecond, 60*time.Second)); !fired {
		t.Fatalf("an overloaded server with failures: %s", got)
	}
}

// A long level keeps only what later windows need, and judges as before.
func TestDetectorDropsOldEvents(t *testing.T) {
	rs := fifo(200, 400, 0.2, 2, 200)
	d := New(Config{})
	evs := replay(d, rs, time.Second, 200*time.Second)
	got := evs[len(evs)-1]
	if got.State != Steady {
		t.Fatalf("state %s: %s", got.State, got)
	}
	if len(d.sends.v) >= len(rs)*3/4 || d.sends.base == 0 || len(d.firsts) >= len(rs)*3/4 {
		t.Errorf("kept %d of %d sends (%d dropped), %d first tokens", len(d.sends.v), len(rs), d.sends.base, len(d.firsts))
	}
	if math.Abs(got.OfferedRate-200) > 2 || math.Abs(got.InFlightLast-400) > 5 {
		t.Errorf("after dropping: %s", got)
	}
}

func TestEvidenceString(t *testing.T) {
	e := Evidence{State: Saturated, At: 42, Window: &Window{Start: 21, OfferedRate: 5, ServedRate: 4, InFlightFirst: 10, InFlightLast: 30,
		Growth: 0.2, GrowthP: 0.0004, TTFTFirstMs: 200, TTFTLastMs: 4200, TTFTSlope: 0.19, TTFTSlopeP: 0.0004}}
	want := "over-saturated at 42.0s: over 21.0–42.0s, 5 req/s sent and 4 ended; in flight 10.0 → 30.0 (growth 0.2 of the send rate, p=0.0004); TTFT 200 → 4200 ms (0.19 s/s, p=0.0004)"
	if got := e.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	u := Evidence{State: Undecided, At: 3, Reason: "no request has finished yet"}
	if got := u.String(); got != "undecided at 3.0s: no request has finished yet" {
		t.Errorf("undecided: %s", got)
	}
	// Undecided: the window's figures are absent, not 0.
	b, err := json.Marshal(u)
	if err != nil || string(b) != `{"state":"undecided","reason":"no request has finished yet","at_seconds":3}` {
		t.Errorf("undecided as JSON: %s %v", b, err)
	}
	b, err = json.Marshal(e)
	if err != nil || !strings.Contains(string(b), `"state":"over-saturated","at_seconds":42,"window_start_seconds":21,"bins":0,"offered_rate":5,`) {
		t.Errorf("over-saturated as JSON: %s %v", b, err)
	}
}

// Growth seen at fewer checks than a bin's width is not yet a verdict.
func TestDetectorConfirms(t *testing.T) {
	evs := replay(New(Config{}), fifo(5, 8, 0.2, 2, 60), 100*time.Millisecond, 60*time.Second)
	i := slices.IndexFunc(evs, func(e Evidence) bool { return e.State == Saturated })
	if i < 1 {
		t.Fatalf("fired at check %d", i)
	}
	prev := evs[i-1]
	if prev.State != Undecided || prev.Window == nil || !strings.HasPrefix(prev.Reason, "growing for") ||
		!strings.HasSuffix(prev.String(), "; "+prev.Reason) {
		t.Fatalf("the check before firing: %s", prev)
	}
	j := i
	for j > 0 && strings.HasPrefix(evs[j-1].Reason, "growing for") {
		j--
	}
	width := (evs[i].At - evs[i].Start) / float64(evs[i].Bins)
	if held := evs[i].At - evs[j].At; held < width || held > width+0.1 {
		t.Errorf("confirmed %.2gs after the growth was first seen, a bin is %.2gs", held, width)
	}
}
