package engine

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/simulator"
)

func fastSim() simulator.Config {
	cfg := simulator.DefaultConfig()
	cfg.LoadTime = 20 * time.Millisecond
	cfg.Slowdown = 0.01
	return cfg
}

func TestSimConfigFromSpec(t *testing.T) {
	d := NewSim(fastSim(), nil, nil)
	cfg, err := d.SimConfig(Spec{Model: "Qwen/Qwen3-0.6B", ServedName: "qwen", CPUs: []int{2, 3, 4}, KVCacheGiB: 1.5,
		ExtraArgs: []string{"--dtype", "bfloat16", "--max-num-seqs", "16", "--max-model-len=4096", "--seed", "7"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "Qwen/Qwen3-0.6B" || cfg.ServedModelName != "qwen" || cfg.Cores != 3 || cfg.KVCacheSpaceGiB != 1.5 ||
		cfg.MaxNumSeqs != 16 || cfg.MaxModelLen != 4096 || cfg.Seed != 7 || cfg.Slowdown != 0.01 {
		t.Errorf("config %+v", cfg)
	}
	if _, err := d.SimConfig(Spec{ExtraArgs: []string{"--max-num-seqs"}}); err == nil || err.Error() != "extra args: --max-num-seqs needs a value" {
		t.Errorf("missing value: %v", err)
	}
	if _, err := d.SimConfig(Spec{ExtraArgs: []string{"--block-size=big"}}); err == nil || err.Error() != `extra args: --block-size "big": want a non-negative integer` {
		t.Errorf("bad value: %v", err)
	}
}

func TestSimDriverLifecycle(t *testing.T) {
	dir := t.TempDir()
	d := NewSim(fastSim(), nil, quiet())
	inst, err := d.Start(context.Background(), Spec{Name: "smoke/cell-0", CPUs: []int{0, 1}, LogDir: dir, APIKey: "k", ReadyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	if !strings.HasPrefix(inst.URL(), "http://127.0.0.1:") {
		t.Errorf("url %s", inst.URL())
	}
	if err := inst.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	info := inst.Info()
	if info.Model != "TinyLlama/TinyLlama-1.1B-Chat-v1.0" || info.EngineVersion != "0.11.0+sim" || info.CPUSet != "0-1" || info.Env["cores"] != "2" {
		t.Errorf("info %+v", info)
	}
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(inst.URL() + "/health"); err == nil {
		t.Error("server still answers after Stop")
	}
	if err, ok := <-inst.Died(); ok {
		t.Errorf("Died after Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "smoke-cell-0.log")); err != nil {
		t.Error(err)
	}
}

func TestSimDriverReportsCrash(t *testing.T) {
	cfg := fastSim()
	cfg.Faults.CrashAfter = 2 // the readiness request, then one more
	d := NewSim(cfg, nil, quiet())
	inst, err := d.Start(context.Background(), Spec{Name: "crashy", ReadyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	if err := inst.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(inst.URL()+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"TinyLlama/TinyLlama-1.1B-Chat-v1.0","prompt":"hi","max_tokens":2}`))
	if err == nil {
		resp.Body.Close()
	}
	select {
	case err := <-inst.Died():
		var exit *ExitError
		if !errors.As(err, &exit) || exit.ExitCode != 1 || !errors.Is(err, simulator.ErrCrashed) || len(exit.LastLines) == 0 {
			t.Errorf("died with %#v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("crash not reported")
	}
}
