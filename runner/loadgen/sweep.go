package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/saturation"
)

// ErrNoMaxRate is returned by a sweep whose throughput level measured no
// maximum rate: no request completed and no output token arrived inside its
// window (on a slow engine, a window shorter than one request). The sweep
// then stops rather than build its levels on a made-up rate.
var ErrNoMaxRate = errors.New("sweep found no maximum rate")

// levelOutput counts a level's successful measured requests and their
// output tokens.
type levelOutput struct{ ok, tokens int }

// MaxRate is the request rate a level sustained, from what arrived inside
// its window, and how it was measured:
//   - with exact (the output tokens every request asks for with ignore_eos,
//     0 when lengths are not exact), its output tokens per second over
//     exact: tokens arrive steadily while completions come in waves of a
//     batch, so a window a few requests long measures the rate well;
//   - else its successful completions per second;
//   - else (no completion inside the window: requests outlast it) its
//     output tokens per second over mean, the mean output of its successful
//     requests, when there were some.
//
// Tokens count only when the window saw the streams decode: when fewer than
// half of them had their first token inside it (FirstTokenShare), the
// window measured a prefill queue, and its token rate is no sustained rate.
// With none of these it returns 0 and says why.
func MaxRate(b results.Benchmark, exact, mean float64) (float64, string) {
	// An absent rate is 0 here: nothing of it arrived inside the window.
	tok := b.OutputTokensPerSecond.Or(0)
	done := b.RequestsPerSecond.Or(0)
	queued := ""
	if share, ok := b.FirstTokenShare.Get(); ok && share < minFirstTokenShare && tok > 0 {
		queued = fmt.Sprintf("only %.0f%% of its streams had their first token inside its %.3gs window (the time to first token at this load is longer), so its %.4g output tok/s is a prefill queue, not a sustained rate", 100*share, b.DurationSeconds, tok)
		tok = 0
	}
	switch {
	case exact > 0 && tok > 0:
		return tok / exact, fmt.Sprintf("%.4g output tok/s inside the window of %s over %.4g tokens per request", tok, b.Level, exact)
	case done > 0:
		return done, fmt.Sprintf("%.0f requests completed inside the %.3gs window of %s", done*b.DurationSeconds, b.DurationSeconds, b.Level)
	case tok > 0 && mean > 0:
		return tok / mean, fmt.Sprintf("%.4g output tok/s inside the window of %s over the %.4g-token mean of its successful requests (none completed inside the window)", tok, b.Level, mean)
	case tok > 0:
		return 0, fmt.Sprintf("%s: no request completed inside its %.3gs window and none succeeded, so its %.4g output tok/s cannot be turned into a request rate; give the level more time (max-seconds) or exact output lengths (ignore-eos)", b.Level, b.DurationSeconds, tok)
	case queued != "":
		return 0, fmt.Sprintf("%s: no request completed inside its window and %s; give the level more time (max-seconds)", b.Level, queued)
	}
	return 0, fmt.Sprintf("%s: no request completed and no output token arrived inside its %.3gs window; give the level more time (max-seconds)", b.Level, b.DurationSeconds)
}

// minFirstTokenShare is the share of a level's streams that must have had
// their first token inside its window for its token rate to count.
const minFirstTokenShare = 0.5

// exactOutput is the mean output length the requests demand with
// ignore_eos, 0 when any request's length is not exact.
func (r *runner) exactOutput() float64 {
	if !r.cfg.IgnoreEOS || len(r.bodies) == 0 {
		return 0
	}
	n := 0
	for _, b := range r.bodies {
		if b.expect <= 0 {
			return 0
		}
		n += b.expect
	}
	return float64(n) / float64(len(r.bodies))
}

// sweep runs synchronous, then throughput, then constant rates evenly spaced
// between their measured request rates (MaxRate), the last at throughput's.
// The over-saturation detector judges every constant level and stops the
// first it finds over-saturated, which ends the sweep. Summary.Saturation
// says what was found, with the evidence.
func (r *runner) sweep(ctx context.Context, sum *results.Summary) (*results.Summary, error) {
	var out levelOutput
	sink := r.sink
	r.sink = func(res *measure.Result) {
		if res.Outcome == contract.OutcomeSuccess && (res.Phase == "" || res.Phase == measure.PhaseMeasure) {
			out.ok++
			out.tokens += res.OutputTokens
		}
		sink(res)
	}
	defer func() { r.sink = sink }()
	exact := r.exactOutput()
	run := func(s pacer.Spec) (results.Benchmark, float64, string, bool) {
		out = levelOutput{}
		b := r.runLevel(ctx, s)
		sum.Benchmarks = append(sum.Benchmarks, b)
		mean, e := 0.0, exact
		if out.ok > 0 {
			mean = float64(out.tokens) / float64(out.ok)
		}
		// Exact lengths are trusted when requests of that length
		// succeeded, or when none ended at all; not from a server that
		// answers with other lengths.
		if out.ok > 0 && math.Abs(mean-exact) > 1e-9 || out.ok == 0 && b.Requests.Failed > 0 {
			e = 0
		}
		rate, from := MaxRate(b, e, mean)
		return b, rate, from, ctx.Err() == nil
	}
	_, lo, _, ok := run(pacer.Spec{Kind: pacer.Synchronous})
	if !ok {
		return sum, ctx.Err()
	}
	thr, hi, from, ok := run(pacer.Spec{Kind: pacer.Throughput, Rate: float64(r.cfg.SweepStreams)})
	if !ok {
		return sum, ctx.Err()
	}
	if hi <= 0 {
		return sum, fmt.Errorf("%w: %s", ErrNoMaxRate, from)
	}
	sat := &results.Saturation{MaxRate: hi, MaxRateFrom: from}
	sum.Saturation = sat
	if hi <= lo {
		sat.Rate = hi
		sat.Reason = fmt.Sprintf("%s (%.4g req/s) is not above synchronous (%.4g req/s): the server gains nothing from concurrency, nothing to sweep", thr.Level, hi, lo)
		return sum, nil
	}
	n := r.cfg.SweepSize - 2
	steady, undecided := lo, 0
	for i := 1; i <= n; i++ {
		rate := lo + (hi-lo)*float64(i)/float64(n)
		b, _, _, ok := run(pacer.Spec{Kind: pacer.Constant, Rate: rate, Seed: r.cfg.Seed})
		if !ok {
			return sum, ctx.Err()
		}
		ev := b.OverSaturation
		switch {
		case ev == nil || ev.State == saturation.Undecided:
			undecided++
			continue
		case ev.State == saturation.Steady:
			steady = rate
			continue
		}
		// Over-saturated: the server's rate is what it served meanwhile,
		// between the last rate it kept up with and this one.
		sat.OverSaturatedAt, sat.Evidence = rate, ev
		sat.Rate = math.Min(math.Max(ev.ServedRate, steady), rate)
		sat.Reason = fmt.Sprintf("over-saturated at %.4g req/s, serving %.4g req/s meanwhile; the highest rate judged steady was %.4g req/s", rate, ev.ServedRate, steady)
		r.cfg.Log.Info("sweep stopped: over-saturated", "rate", rate, "served", ev.ServedRate, "evidence", ev.String())
		return sum, nil
	}
	sat.Rate = hi
	sat.Reason = fmt.Sprintf("no swept level up to the measured maximum was over-saturated (%d of %d too short for the detector to judge)", undecided, n)
	return sum, nil
}
