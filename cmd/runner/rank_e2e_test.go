package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/simtest"
)

// TestE2ERankScalingRun measures a scaling run for real: the simulator on
// 4, 8, 16 and 32 cores, one cell per core count, each at 1 and 8 streams.
// The 32-core cell is judged client-bound (a send-lateness bar of 100 ns no
// sender meets): the fastest configuration, yet never ranked. runner rank
// under an ITL p50 objective picks, from the valid levels that meet it, the
// one with the most output tokens/s per core — checked against the cells'
// own summaries — and the 4-core cell, whose ITL breaks the objective at
// every level, meets nothing.
func TestE2ERankScalingRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator on four core counts for 3 s each")
	}
	run := filepath.Join(t.TempDir(), "run")
	for _, cores := range []int{4, 8, 16, 32} {
		cfg := simulator.DefaultConfig()
		cfg.Cores, cfg.Seed, cfg.Jitter, cfg.LoadTime = cores, uint64(cores), 0.05, 50*time.Millisecond
		url := simtest.Start(t, cfg)
		dir := filepath.Join(run, "c"+strconv.Itoa(cores))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		lateness := "100"
		if cores == 32 {
			lateness = "0.0001"
		}
		if code, _, errs := runCLI(t, nil, "bench", "--target", url, "--profile", "concurrent", "--rate", "1,8", "--max-seconds", "2", "--warmup", "0.5",
			"--data", "prompt_tokens=64,output_tokens=8,output_tokens_stdev=3,output_tokens_min=2,output_tokens_max=16", "--seed", "7",
			"--cores", strconv.Itoa(cores), "--web.listen-address", "off", "--progress-interval", "1m", "--valid.max-lateness", lateness,
			"--output", filepath.Join(dir, "summary.json"), "--requests", filepath.Join(dir, "requests.jsonl")); code != exitOK {
			t.Fatalf("bench on %d cores: exit %d: %s", cores, code, errs)
		}
	}
	const sloMs = 50.0
	slo := "itl_p50<=50ms"

	// What the summaries say: the valid level meeting the objective with
	// the most tokens/s per core, and the fastest level of all.
	cells, err := compare.Loader{}.Load(run)
	if err != nil {
		t.Fatal(err)
	}
	wantCell, wantLevel, wantPerCore, fastestInvalid, fastestValid := "", "", 0.0, 0.0, 0.0
	for _, c := range cells {
		for _, b := range c.Summary.Benchmarks {
			tput, ok := b.OutputTokensPerSecond.Get()
			if !ok {
				t.Fatalf("%s %s: no output rate", c.Key, b.Level)
			}
			if !b.Valid {
				fastestInvalid = math.Max(fastestInvalid, tput)
				continue
			}
			fastestValid = math.Max(fastestValid, tput)
			if itl, ok := b.ITL.P50.Get(); ok && itl <= sloMs && tput/float64(c.Summary.Cores) > wantPerCore {
				wantCell, wantLevel, wantPerCore = c.Key, b.Level, tput/float64(c.Summary.Cores)
			}
		}
	}
	t.Logf("fastest level: %.1f output tok/s (client-bound), %.1f (valid)", fastestInvalid, fastestValid)
	if fastestInvalid <= fastestValid {
		t.Fatalf("the client-bound 32-core cell (%.1f tok/s) is not the fastest (%.1f tok/s valid): the test shows nothing", fastestInvalid, fastestValid)
	}
	if wantCell == "" {
		t.Fatal("no valid level meets the objective in the summaries")
	}

	code, out, errs := runCLI(t, nil, "rank", "--slo", slo, "--core-hour-price", "0.05", run)
	t.Logf("rank:\n%s%s", out, errs)
	if code != exitOK || !strings.Contains(out, "best: "+wantCell+" ") || !strings.Contains(out, "at "+wantLevel+":") {
		t.Errorf("exit %d: want best %s at %s", code, wantCell, wantLevel)
	}
	for _, want := range []string{"c32 concurrent-1: client-bound", "c32 concurrent-8: client-bound", "c32 (32 cores): no valid level (2 invalid)",
		"c4 (4 cores): no valid level meets the SLO: itl_p50"} {
		if !strings.Contains(out, want) {
			t.Errorf("rank output lacks %q", want)
		}
	}

	code, out, _ = runCLI(t, nil, "rank", "--json", "--slo", slo, "--core-hour-price", "0.05", run)
	var res struct {
		Best *struct {
			Cell, Level string
			PerCore     float64 `json:"output_tokens_per_second_per_core"`
			Price       float64 `json:"price_per_million_output_tokens"`
		}
		Rows []struct {
			Cell  string
			Rank  int
			Level string
		}
	}
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || res.Best == nil {
		t.Fatalf("--json: exit %d: %s", code, out)
	}
	if res.Best.Cell != wantCell || res.Best.Level != wantLevel || math.Abs(res.Best.PerCore/wantPerCore-1) > 1e-9 || !(res.Best.Price > 0) {
		t.Errorf("--json best %+v, want %s at %s with %.4g tok/s per core and a price", *res.Best, wantCell, wantLevel, wantPerCore)
	}
	for _, r := range res.Rows {
		if (r.Cell == "c32" || r.Cell == "c4") && (r.Rank != 0 || r.Level != "") {
			t.Errorf("%s ranked %d at %q", r.Cell, r.Rank, r.Level)
		}
	}
}
