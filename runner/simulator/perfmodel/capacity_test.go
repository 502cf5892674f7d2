package perfmodel

import (
	"math"
	"testing"
	"time"
)

// Capacity agrees with a closed loop deep enough to keep the batch full, and
// scales inversely with Slowdown.
func TestCapacityMatchesSaturatedClosedLoop(t *testing.T) {
	for _, c := range []struct {
		cores          int
		prompt, output int
	}{{1, 128, 16}, {4, 64, 64}, {8, 512, 8}} {
		cfg := tiny(t, c.cores)
		cfg.MaxNumSeqs = 64
		got, err := Capacity(cfg, c.prompt, c.output)
		if err != nil {
			t.Fatal(err)
		}
		l, err := Closed(cfg, 4*cfg.MaxNumSeqs, 60*cfg.MaxNumSeqs, c.prompt, c.output)
		if err != nil {
			t.Fatal(err)
		}
		closed := l.OutputTokensPerS / float64(c.output)
		t.Logf("cores %d, %d+%d tokens: capacity %.4g req/s, closed loop %.4g req/s", c.cores, c.prompt, c.output, got, closed)
		if math.Abs(got/closed-1) > 0.03 {
			t.Errorf("cores %d: capacity %.4g req/s, closed loop at depth %d gives %.4g", c.cores, got, 4*cfg.MaxNumSeqs, closed)
		}
		cfg.Slowdown = 0.1
		fast, err := Capacity(cfg, c.prompt, c.output)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(fast/(10*got)-1) > 1e-6 {
			t.Errorf("slowdown 0.1: capacity %.6g, want 10 x %.6g", fast, got)
		}
	}
	if _, err := Capacity(tiny(t, 1), 0, 16); err == nil {
		t.Error("prompt 0: no error")
	}
}

// Below capacity an open loop settles; above it the queue, and with it TTFT,
// keeps growing.
func TestCapacityIsTheStabilityBoundary(t *testing.T) {
	cfg := tiny(t, 2)
	cfg.MaxNumSeqs = 32
	const prompt, output, n = 64, 16, 1500
	capa, err := Capacity(cfg, prompt, output)
	if err != nil {
		t.Fatal(err)
	}
	for _, load := range []float64{0.9, 1.1} {
		rate := load * capa
		out, err := Simulate(cfg, constantArrivals(n, rate, prompt, output))
		if err != nil {
			t.Fatal(err)
		}
		mid, late := meanTTFT(out, n/2-n/10, n/2), meanTTFT(out, n-n/10, n)
		t.Logf("load %.1f (%.3g req/s): TTFT %s at the middle, %s at the end", load, rate, mid, late)
		grew := late.Seconds() / mid.Seconds()
		if load < 1 && grew > 1.2 {
			t.Errorf("load %.1f: TTFT grew %.2fx over the second half; below capacity it should settle", load, grew)
		}
		if load > 1 && grew < 1.5 {
			t.Errorf("load %.1f: TTFT grew only %.2fx over the second half; above capacity the queue should build", load, grew)
		}
	}
}

// constantArrivals is n requests of the given shape, one every 1/rate s.
func constantArrivals(n int, rate float64, prompt, output int) []Arrival {
	arr := make([]Arrival, n)
	for i := range arr {
		arr[i] = Arrival{At: time.Duration(float64(i) / rate * 1e9), Prompt: prompt, Output: output}
	}
	return arr
}
