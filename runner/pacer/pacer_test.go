package pacer

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func TestSchedules(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		n    int
		want []time.Duration
	}{
		{"constant 4/s starts at once", Spec{Kind: Constant, Rate: 4}, 5, []time.Duration{0, ms(250), ms(500), ms(750), ms(1000)}},
		{"constant 3/s does not drift", Spec{Kind: Constant, Rate: 3}, 4, []time.Duration{0, 333333333, 666666667, time.Second}},
		{"gamma with infinite burstiness is constant", Spec{Kind: Gamma, Rate: 10, Burstiness: math.Inf(1)}, 3, []time.Duration{0, ms(100), ms(200)}},
		// N(t) = 5t²/10 over the first 10 s (0 -> 10 req/s), 50 sends by 10 s, then 10/s.
		{"ramp 0 to 10 over 10s", Spec{Kind: Ramp, RampFrom: 0, RampTo: 10, RampOver: 10 * time.Second}, 3,
			[]time.Duration{0, time.Duration(math.Sqrt(2) * 1e9), 2 * time.Second}},
		{"replay scaled and rebased", Spec{Kind: Replay, Trace: []time.Duration{ms(1000), ms(1010), ms(1500)}, TimeScale: 2}, 10,
			[]time.Duration{0, ms(20), ms(1000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := Take(p, tc.n, 0); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRampHoldsAfterRamp(t *testing.T) {
	p, _ := New(Spec{Kind: Ramp, RampFrom: 2, RampTo: 10, RampOver: 10 * time.Second})
	got := Take(p, 1000, 0)
	// 60 sends during the ramp ((2+10)/2 * 10), then one every 100 ms.
	if got[60] != 10*time.Second || got[70] != 11*time.Second {
		t.Fatalf("send 60 at %v, 70 at %v", got[60], got[70])
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("offset %d decreases", i)
		}
	}
	// The local rate rises: gaps shrink through the ramp.
	if g1, g2 := got[2]-got[1], got[59]-got[58]; g1 <= g2 {
		t.Fatalf("early gap %v not above late gap %v", g1, g2)
	}
}

// gapStats returns the mean and coefficient of variation of n gaps.
func gapStats(t *testing.T, s Spec, n int) (mean, cv float64) {
	p, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	offs := Take(p, n, 0)
	var sum, sq float64
	prev := time.Duration(0)
	for _, o := range offs {
		g := (o - prev).Seconds()
		prev = o
		sum += g
		sq += g * g
	}
	mean = sum / float64(n)
	return mean, math.Sqrt(sq/float64(n)-mean*mean) / mean
}

func TestRandomGaps(t *testing.T) {
	const n = 40000
	for _, tc := range []struct {
		spec Spec
		cv   float64
	}{
		{Spec{Kind: Poisson, Rate: 50, Seed: 1}, 1},
		{Spec{Kind: Gamma, Rate: 50, Burstiness: 1, Seed: 2}, 1},
		{Spec{Kind: Gamma, Rate: 50, Burstiness: 0.25, Seed: 3}, 2},
		{Spec{Kind: Gamma, Rate: 50, Burstiness: 4, Seed: 4}, 0.5},
	} {
		mean, cv := gapStats(t, tc.spec, n)
		if math.Abs(mean-0.02)/0.02 > 0.03 || math.Abs(cv-tc.cv)/tc.cv > 0.05 {
			t.Errorf("%s: mean gap %.5f (want 0.02), cv %.3f (want %.2f)", tc.spec.Level(), mean, cv, tc.cv)
		}
	}
}

func TestSeeded(t *testing.T) {
	take := func(seed uint64) []time.Duration {
		p, _ := New(Spec{Kind: Poisson, Rate: 5, Seed: seed})
		return Take(p, 50, 0)
	}
	if !reflect.DeepEqual(take(9), take(9)) {
		t.Fatal("same seed, different schedules")
	}
	if reflect.DeepEqual(take(9), take(10)) {
		t.Fatal("different seeds, same schedule")
	}
	if got := take(9); got[0] == 0 {
		t.Fatal("a Poisson first send waits its own gap")
	}
}

func TestTakeUntil(t *testing.T) {
	p, _ := New(Spec{Kind: Constant, Rate: 10})
	if got := Take(p, 1000, time.Second); len(got) != 10 {
		t.Fatalf("%d sends before 1s, want 10", len(got))
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string // "" = valid
	}{
		{Spec{Kind: Synchronous}, ""},
		{Spec{Kind: Concurrent, Rate: 16}, ""},
		{Spec{Kind: Concurrent, Rate: 1.5}, "rate (streams"},
		{Spec{Kind: Throughput, Rate: 0}, "rate (streams"},
		{Spec{Kind: Constant, Rate: 0}, "rate (req/s"},
		{Spec{Kind: Poisson, Rate: math.NaN()}, "rate (req/s"},
		{Spec{Kind: Gamma, Rate: 1, Burstiness: -1}, "burstiness"},
		{Spec{Kind: Ramp, RampFrom: 1, RampTo: 0, RampOver: time.Second}, "ramp-from/ramp-to"},
		{Spec{Kind: Ramp, RampFrom: 1, RampTo: 2}, "ramp-seconds"},
		{Spec{Kind: Replay}, "empty trace"},
		{Spec{Kind: Replay, Trace: []time.Duration{2, 1}}, "trace offset 1"},
		{Spec{Kind: Sweep}, "sequence of benchmarks"},
		{Spec{Kind: "burst"}, `profile "burst"`},
	} {
		err := tc.spec.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
	if _, err := New(Spec{Kind: Concurrent, Rate: 4}); err == nil {
		t.Error("a closed-loop profile has no schedule")
	}
}

func TestLevelAndTarget(t *testing.T) {
	for _, tc := range []struct {
		spec    Spec
		level   string
		target  float64
		streams int
	}{
		{Spec{Kind: Synchronous}, "synchronous", 1, 1},
		{Spec{Kind: Concurrent, Rate: 16}, "concurrent-16", 16, 16},
		{Spec{Kind: Throughput, Rate: 512}, "throughput-512", 512, 512},
		{Spec{Kind: Constant, Rate: 2.5}, "constant-2.5", 2.5, 0},
		{Spec{Kind: Gamma, Rate: 4, Burstiness: 0.5}, "gamma-4-b0.5", 4, 0},
		{Spec{Kind: Ramp, RampFrom: 1, RampTo: 8, RampOver: time.Second}, "ramp-1-8", 8, 0},
		{Spec{Kind: Replay, Trace: []time.Duration{0, time.Second, 2 * time.Second}, TimeScale: 2}, "replay-x2", 0.5, 0},
	} {
		if l, tg, st := tc.spec.Level(), tc.spec.Target(), tc.spec.Streams(); l != tc.level || tg != tc.target || st != tc.streams {
			t.Errorf("%+v: level %q target %v streams %d", tc.spec, l, tg, st)
		}
	}
}
