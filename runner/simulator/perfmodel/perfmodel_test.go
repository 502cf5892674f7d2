package perfmodel

import (
	"math"
	"strings"
	"testing"
	"time"
)

func tiny(t testing.TB, cores int) SchedulerConfig {
	t.Helper()
	p, ok := Preset("TinyLlama/TinyLlama-1.1B-Chat-v1.0")
	if !ok {
		t.Fatal("TinyLlama preset missing")
	}
	h := DefaultHardware()
	h.Cores = cores
	return SchedulerConfig{Profile: p, Hardware: h, MaxNumSeqs: 256, MaxNumBatchedTokens: 2048,
		BlockSize: 128, KVCacheBytes: 4 << 30, Slowdown: 1}
}

func TestPresetsValid(t *testing.T) {
	if len(PresetIDs()) < 7 {
		t.Fatalf("want at least 7 presets, got %v", PresetIDs())
	}
	for _, id := range PresetIDs() {
		p, _ := Preset(id)
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if p.ID != id {
			t.Errorf("preset %s has id %q", id, p.ID)
		}
	}
	if _, ok := Preset("nobody/unknown"); ok {
		t.Error("unknown id found as preset")
	}
	// TinyLlama: 2 (K,V) x 22 layers x 4 kv heads x 64 dims x 2 bytes.
	p, _ := Preset("TinyLlama/TinyLlama-1.1B-Chat-v1.0")
	if got := p.KVBytesPerToken(); got != 22528 {
		t.Errorf("TinyLlama kv bytes per token = %v, want 22528", got)
	}
}

func TestStepCostRegimes(t *testing.T) {
	cfg := tiny(t, 8)
	h, _ := cfg.Hardware.Normalize()
	one := StepCost(cfg.Profile, h, []Work{{NewTokens: 1, Context: 256}})
	if one.ComputeBound {
		t.Errorf("batch-1 decode should be memory bound: compute %s memory %s", one.Compute, one.Memory)
	}
	batch := make([]Work, 256)
	for i := range batch {
		batch[i] = Work{NewTokens: 1, Context: 256}
	}
	big := StepCost(cfg.Profile, h, batch)
	if !big.ComputeBound {
		t.Errorf("batch-256 decode should be compute bound: compute %s memory %s", big.Compute, big.Memory)
	}
	// Calibration: TinyLlama on 8 cores decodes tens of tokens/s at batch 1.
	if tps := 1 / one.Total.Seconds(); tps < 10 || tps > 100 {
		t.Errorf("TinyLlama batch-1 on 8 cores: %.1f tok/s, want tens", tps)
	}
	if c := StepCost(cfg.Profile, h, nil); c.Total != 0 {
		t.Errorf("empty batch costs %s", c.Total)
	}
}

func TestDecodeSpeedFallsThroughputSaturates(t *testing.T) {
	cfg := tiny(t, 8)
	var prev Load
	var gains []float64
	for i, conc := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256} {
		l, err := Closed(cfg, conc, conc*2, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("concurrency %3d: %7.1f tok/s total, %5.1f tok/s per request", conc, l.OutputTokensPerS, l.PerSeqTokensPerS)
		if i > 0 {
			if l.PerSeqTokensPerS >= prev.PerSeqTokensPerS {
				t.Errorf("concurrency %d: per-request speed %.2f did not fall (was %.2f)", conc, l.PerSeqTokensPerS, prev.PerSeqTokensPerS)
			}
			if l.OutputTokensPerS <= prev.OutputTokensPerS*0.98 {
				t.Errorf("concurrency %d: throughput %.1f fell from %.1f", conc, l.OutputTokensPerS, prev.OutputTokensPerS)
			}
			gains = append(gains, l.OutputTokensPerS/prev.OutputTokensPerS)
		}
		prev = l
	}
	if gains[0] < 1.5 {
		t.Errorf("doubling batch 1->2 gained only %.2fx; small batches should scale", gains[0])
	}
	if last := gains[len(gains)-1]; last > 1.15 {
		t.Errorf("doubling batch 128->256 still gained %.2fx; throughput should saturate", last)
	}
}

func TestCoreScaling(t *testing.T) {
	for _, c := range []int{1, 2, 4, 8, 16, 32} {
		a, err := Closed(tiny(t, c), 128, 256, 128, 32)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Closed(tiny(t, 2*c), 128, 256, 128, 32)
		if err != nil {
			t.Fatal(err)
		}
		r := b.OutputTokensPerS / a.OutputTokensPerS
		t.Logf("cores %2d -> %2d: peak %.1f -> %.1f tok/s (%.2fx)", c, 2*c, a.OutputTokensPerS, b.OutputTokensPerS, r)
		if r <= 1.1 || r >= 1.95 {
			t.Errorf("cores %d -> %d: peak throughput ratio %.2f, want clearly in (1, 2)", c, 2*c, r)
		}
	}
}

func meanTTFT(out []Outcome, from, to int) time.Duration {
	var s time.Duration
	for _, o := range out[from:to] {
		s += o.TTFT
	}
	return s / time.Duration(to-from)
}

func TestLatencyClimbsPastCapacity(t *testing.T) {
	cfg := tiny(t, 8)
	const n, prompt, output = 300, 64, 32
	peak, err := Closed(cfg, 128, 512, prompt, output)
	if err != nil {
		t.Fatal(err)
	}
	capacity := peak.OutputTokensPerS / output // requests per second
	var prevTTFT time.Duration
	for _, load := range []float64{0.3, 0.8, 1.5, 3} {
		rate := capacity * load
		out, err := Simulate(cfg, constantArrivals(n, rate, prompt, output))
		if err != nil {
			t.Fatal(err)
		}
		m := meanTTFT(out, 0, n)
		early, late := meanTTFT(out, 0, n/5), meanTTFT(out, n-n/5, n)
		t.Logf("load %.1fx capacity (%.2f req/s): mean TTFT %s, first fifth %s, last fifth %s", load, rate, m, early, late)
		if m <= prevTTFT {
			t.Errorf("load %.1fx: mean TTFT %s not above %s at the lower load", load, m, prevTTFT)
		}
		if load > 1 && late < 3*early {
			t.Errorf("load %.1fx: queue should build up, TTFT %s early vs %s late", load, early, late)
		}
		prevTTFT = m
	}
}

func TestPreemptionUnderKVPressure(t *testing.T) {
	cfg := tiny(t, 8)
	cfg.BlockSize = 16
	cfg.KVCacheBytes = 22528 * 16 * 40 // 40 blocks = 640 tokens
	arr := make([]Arrival, 12)
	for i := range arr {
		arr[i] = Arrival{Prompt: 40, Output: 100}
	}
	out, err := Simulate(cfg, arr)
	if err != nil {
		t.Fatal(err)
	}
	pre := 0
	for i, o := range out {
		pre += o.Preemptions
		if o.Output != 100 {
			t.Errorf("request %d generated %d tokens, want 100", i, o.Output)
		}
	}
	if pre == 0 {
		t.Error("no preemption although 12x140 tokens cannot fit 640")
	}
	s, _ := NewScheduler(cfg)
	if s.CapacityTokens() != 640 {
		t.Errorf("capacity %d tokens, want 640", s.CapacityTokens())
	}
}

func TestDeterminism(t *testing.T) {
	arr := make([]Arrival, 40)
	for i := range arr {
		arr[i] = Arrival{At: time.Duration(i) * 37 * time.Millisecond, Prompt: 20 + i, Output: 10 + i%7}
	}
	run := func(jitter float64, seed uint64) []Outcome {
		cfg := tiny(t, 4)
		cfg.Jitter, cfg.Seed = jitter, seed
		out, err := Simulate(cfg, arr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	eq := func(a, b []Outcome) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if !eq(run(0, 1), run(0, 2)) {
		t.Error("zero jitter: schedules differ between seeds")
	}
	if !eq(run(0.1, 7), run(0.1, 7)) {
		t.Error("same seed and jitter: schedules differ")
	}
	if eq(run(0.1, 7), run(0.1, 8)) {
		t.Error("jitter on: different seeds gave identical schedules")
	}
}

func TestSlowdown(t *testing.T) {
	a, err := Closed(tiny(t, 4), 4, 8, 32, 16)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tiny(t, 4)
	cfg.Slowdown = 2
	b, err := Closed(cfg, 4, 8, 32, 16)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.Duration.Seconds() / a.Duration.Seconds(); math.Abs(r-2) > 1e-6 {
		t.Errorf("slowdown 2 stretched the run %.4fx", r)
	}
}

func TestEmbeddingRequestsFinishAfterPrefill(t *testing.T) {
	p, _ := Preset("sentence-transformers/all-MiniLM-L6-v2")
	cfg := SchedulerConfig{Profile: p, Hardware: DefaultHardware(), MaxNumSeqs: 8, MaxNumBatchedTokens: 512,
		BlockSize: 16, KVCacheBytes: 1 << 30, Slowdown: 1}
	out, err := Simulate(cfg, []Arrival{{Prompt: 100}, {Prompt: 30}})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.Output != 0 || o.TTFT <= 0 || o.E2E != o.TTFT {
			t.Errorf("embedding %d: %+v", i, o)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	mut := []struct {
		name string
		f    func(*SchedulerConfig)
	}{
		{"max_num_seqs", func(c *SchedulerConfig) { c.MaxNumSeqs = 0 }},
		{"max_num_batched_tokens", func(c *SchedulerConfig) { c.MaxNumBatchedTokens = 0 }},
		{"block_size", func(c *SchedulerConfig) { c.BlockSize = 0 }},
		{"slowdown", func(c *SchedulerConfig) { c.Slowdown = 0 }},
		{"jitter", func(c *SchedulerConfig) { c.Jitter = 2 }},
		{"kv cache", func(c *SchedulerConfig) { c.KVCacheBytes = 10 }},
		{"cores", func(c *SchedulerConfig) { c.Hardware.Cores = -1 }},
		{"params", func(c *SchedulerConfig) { c.Profile.Params = 0 }},
	}
	for _, m := range mut {
		cfg := tiny(t, 4)
		m.f(&cfg)
		_, err := NewScheduler(cfg)
		if err == nil {
			t.Errorf("%s: no error", m.name)
			continue
		}
		if !strings.Contains(err.Error(), m.name) {
			t.Errorf("%s: error %q does not name the field", m.name, err)
		}
	}
}
