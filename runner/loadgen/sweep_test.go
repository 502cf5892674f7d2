package loadgen

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/saturation"
)

func TestMaxRate(t *testing.T) {
	b := results.Benchmark{Level: "throughput-512", DurationSeconds: 10}
	for _, tc := range []struct {
		name        string
		rps, tok    float64
		exact, mean float64
		want        float64
		from        string
	}{
		{"exact lengths: tokens", 2, 640, 32, 0, 20, "640 output tok/s inside the window of throughput-512 over 32 tokens per request"},
		{"natural lengths: completions", 2, 640, 0, 40, 2, "20 requests completed inside the 10s window"},
		{"no completion inside the window: tokens over the mean", 0, 640, 0, 64, 10, "over the 64-token mean of its successful requests"},
		{"embeddings: completions", 5, 0, 0, 0, 5, "50 requests completed"},
		{"tokens, no length to divide by", 0, 640, 0, 0, 0, "cannot be turned into a request rate"},
		{"nothing inside the window", 0, 0, 32, 0, 0, "no request completed and no output token arrived inside its 10s window"},
		{"a prefill queue: no rate from its tokens", 0, 0.2, 128, 0, 0, "only 2% of its streams had their first token inside its 10s window"},
		{"a prefill queue: completions still count", 2, 0.2, 128, 0, 2, "20 requests completed"},
	} {
		b.RequestsPerSecond, b.OutputTokensPerSecond = results.OfIf(tc.rps, tc.rps > 0), results.OfIf(tc.tok, tc.tok > 0)
		b.FirstTokenShare = results.Of(1)
		if strings.HasPrefix(tc.name, "a prefill queue") {
			b.FirstTokenShare = results.Of(1.0 / 64)
		}
		got, from := MaxRate(b, tc.exact, tc.mean)
		if math.Abs(got-tc.want) > 1e-9 || !strings.Contains(from, tc.from) {
			t.Errorf("%s: %v %q, want %v %q", tc.name, got, from, tc.want, tc.from)
		}
	}
}

// sweepRunner runs a sweep on stand-in levels: synchronous at 10 req/s,
// throughput at 50, and a server that keeps up with constant rates up to
// capacity (over-saturated above, serving capacity) and cannot judge rates
// listed in undecided.
func sweepRunner(capacity float64, undecided ...float64) (*runner, *[]string) {
	var ran []string
	r := &runner{cfg: &Config{SweepSize: 6, SweepStreams: 64, Log: slog.New(slog.DiscardHandler)}, sink: func(*measure.Result) {}}
	r.runLevel = func(_ context.Context, s pacer.Spec) results.Benchmark {
		ran = append(ran, s.Level())
		b := results.Benchmark{Profile: string(s.Kind), Level: s.Level(), TargetRate: s.Target(), DurationSeconds: 10}
		switch s.Kind {
		case pacer.Synchronous:
			b.RequestsPerSecond = results.Of(10)
		case pacer.Throughput:
			b.RequestsPerSecond = results.Of(50)
		default:
			b.RequestsPerSecond = results.Of(math.Min(s.Rate, capacity))
			ev := &saturation.Evidence{State: saturation.Steady, Window: &saturation.Window{OfferedRate: s.Rate, ServedRate: math.Min(s.Rate, capacity)}}
			if s.Rate > capacity {
				ev.State = saturation.Saturated
			}
			for _, u := range undecided {
				if s.Rate == u {
					ev = &saturation.Evidence{State: saturation.Undecided, Reason: "settling"}
				}
			}
			b.OverSaturation = ev
		}
		return b
	}
	return r, &ran
}

// onThroughput changes what r's throughput level measured.
func onThroughput(r *runner, f func(*results.Benchmark)) {
	base := r.runLevel
	r.runLevel = func(ctx context.Context, s pacer.Spec) results.Benchmark {
		b := base(ctx, s)
		if s.Kind == pacer.Throughput {
			f(&b)
		}
		return b
	}
}

// The sweep's rates sit between the measured synchronous and throughput
// request rates; it ends at the first level the detector finds
// over-saturated, with the rate served meanwhile as the server's maximum.
func TestSweepStopsWhenOverSaturated(t *testing.T) {
	r, ran := sweepRunner(33)
	sum, err := r.sweep(context.Background(), &results.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	want := "synchronous throughput-64 constant-20 constant-30 constant-40"
	if got := strings.Join(*ran, " "); got != want {
		t.Fatalf("ran %v, want %v", got, want)
	}
	s := sum.Saturation
	if s == nil || s.Rate != 33 || s.MaxRate != 50 || s.OverSaturatedAt != 40 || s.Evidence == nil || s.Evidence.State != saturation.Saturated ||
		!strings.Contains(s.Reason, "over-saturated at 40 req/s, serving 33 req/s meanwhile; the highest rate judged steady was 30 req/s") ||
		!strings.Contains(s.MaxRateFrom, "500 requests completed") {
		t.Fatalf("saturation %+v", s)
	}
}

// What the server served is bounded by the rates it was judged at.
func TestSweepRateBetweenJudgedLevels(t *testing.T) {
	r, _ := sweepRunner(33)
	base := r.runLevel
	r.runLevel = func(ctx context.Context, s pacer.Spec) results.Benchmark {
		b := base(ctx, s)
		if b.OverSaturation != nil && b.OverSaturation.State == saturation.Saturated {
			b.OverSaturation.ServedRate = 12 // a window caught in a wave of a batch
		}
		return b
	}
	sum, err := r.sweep(context.Background(), &results.Summary{})
	if err != nil || sum.Saturation.Rate != 30 {
		t.Fatalf("err %v, saturation %+v: want the last steady rate, 30", err, sum.Saturation)
	}
}

func TestSweepUpToTheMaximum(t *testing.T) {
	r, ran := sweepRunner(1000, 30)
	sum, err := r.sweep(context.Background(), &results.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	if len(*ran) != 6 {
		t.Fatalf("ran %v", *ran)
	}
	if s := sum.Saturation; s.Rate != 50 || s.OverSaturatedAt != 0 || s.Evidence != nil ||
		s.Reason != "no swept level up to the measured maximum was over-saturated (1 of 4 too short for the detector to judge)" {
		t.Fatalf("saturation %+v", s)
	}
}

// A throughput level with nothing inside its window ends the sweep with
// ErrNoMaxRate, and no level is built on a guess.
func TestSweepWithoutMaximumFails(t *testing.T) {
	r, ran := sweepRunner(1000)
	onThroughput(r, func(b *results.Benchmark) { b.RequestsPerSecond = results.Figure{} })
	sum, err := r.sweep(context.Background(), &results.Summary{})
	if !errors.Is(err, ErrNoMaxRate) || !strings.Contains(err.Error(), "throughput-64: no request completed and no output token arrived inside its 10s window") {
		t.Fatalf("err %v", err)
	}
	if len(*ran) != 2 || len(sum.Benchmarks) != 2 || sum.Saturation != nil {
		t.Fatalf("ran %v, saturation %+v", *ran, sum.Saturation)
	}
}

func TestSweepNothingToSweep(t *testing.T) {
	r, ran := sweepRunner(1000)
	onThroughput(r, func(b *results.Benchmark) { b.RequestsPerSecond = results.Of(9) })
	sum, err := r.sweep(context.Background(), &results.Summary{})
	if err != nil || len(*ran) != 2 || sum.Saturation.Rate != 9 || !strings.Contains(sum.Saturation.Reason, "nothing to sweep") {
		t.Fatalf("err %v ran %v saturation %+v", err, *ran, sum.Saturation)
	}
}

// Exact lengths are not trusted from a server whose answers have other
// lengths: the rate then comes from completions.
func TestSweepTrustsLengthsItSaw(t *testing.T) {
	r, _ := sweepRunner(1000)
	r.cfg.IgnoreEOS = true
	r.bodies = []prepared{{expect: 10}, {expect: 30}}
	base := r.runLevel
	r.runLevel = func(ctx context.Context, s pacer.Spec) results.Benchmark {
		b := base(ctx, s)
		b.OutputTokensPerSecond = b.RequestsPerSecond.Scale(20)
		if s.Kind == pacer.Throughput {
			b.OutputTokensPerSecond = results.Of(2000) // 40 req/s of 50 tokens
			r.sink(&measure.Result{Outcome: contract.OutcomeSuccess, Phase: measure.PhaseMeasure, OutputTokens: 50})
		}
		return b
	}
	sum, err := r.sweep(context.Background(), &results.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	if s := sum.Saturation; s.MaxRate != 50 || !strings.Contains(s.MaxRateFrom, "requests completed") {
		t.Fatalf("saturation %+v", s)
	}
	if b := sum.Benchmarks[2]; b.TargetRate != 10+40.0/4 {
		t.Fatalf("first swept rate %v: synchronous from its tokens over 20, throughput from completions", b.TargetRate)
	}
}
