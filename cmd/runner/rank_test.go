package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/compare/comparetest"
)

// TestRankCommand: on a run of 4, 8 and 16 cores, the SLO picks the 16-core
// cell's valid level, not its faster invalid one; an SLO nothing meets
// exits 3.
func TestRankCommand(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	for _, cores := range []int{4, 8, 16} {
		f := float64(cores)
		writeSynthetic(t, filepath.Join(run, "c"+strconv.Itoa(cores)),
			comparetest.Bench{Seed: uint64(cores), N: 300, Level: "concurrent-2", Conc: 2, Cores: cores, TTFTMs: 3200 / f, ITLMs: 640 / f},
			comparetest.Bench{Seed: uint64(cores + 1), N: 300, Level: "concurrent-8", Conc: 8, Cores: cores, TTFTMs: 4800 / f, ITLMs: 800 / f, Invalid: cores == 16})
	}
	code, out, errs := runCLI(t, nil, "rank", "--slo", "ttft_p99<=1s", "--slo", "itl_p99<=100ms", "--core-hour-price", "0.05", run)
	if code != exitOK || !strings.Contains(out, "best: c16 (qwen3-0.6b, 16 cores) at concurrent-2") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, nil, "rank", "--json", "--slo", "itl_p99<=100ms", run)
	var res struct {
		Best struct{ Cell, Level string }
		Rows []struct {
			Cell       string
			Efficiency *float64 `json:"scaling_efficiency"`
		}
	}
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || res.Best.Cell != "c16" || len(res.Rows) != 3 {
		t.Errorf("--json: exit %d: %s", code, out)
	}
	code, out, errs = runCLI(t, nil, "rank", "--slo", "ttft_p50<=1ms", run)
	if code != exitRegression || !strings.Contains(out, "no configuration meets the SLO") || !strings.Contains(errs, "no configuration meets") {
		t.Errorf("nothing meets: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runCLI(t, nil, "rank", "--by", "speed", run); code != exitUsage {
		t.Errorf("--by speed: exit %d, want 2", code)
	}
}
