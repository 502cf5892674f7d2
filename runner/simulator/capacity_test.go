package simulator

import (
	"testing"

	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// Capacity is the performance model's, on the engine's own configuration.
func TestConfigCapacity(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Cores, cfg.Slowdown = 2, 0.5
	got, err := cfg.Capacity(128, 16)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := perfmodel.Preset(cfg.Model)
	h := perfmodel.DefaultHardware()
	h.Cores = 2
	want, err := perfmodel.Capacity(perfmodel.SchedulerConfig{Profile: p, Hardware: h, MaxNumSeqs: 128, MaxNumBatchedTokens: 2048,
		BlockSize: 128, KVCacheBytes: 4 << 30, Slowdown: 0.5}, 128, 16)
	if err != nil || got != want {
		t.Fatalf("capacity %v (err %v), want %v", got, err, want)
	}
	cfg.Cores = -1
	if _, err := cfg.Capacity(128, 16); err == nil {
		t.Error("bad config: no error")
	}
}
