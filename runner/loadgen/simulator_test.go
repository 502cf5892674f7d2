package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/simtest"
	"github.com/servebench/servebench/runner/workload"
)

// startSim serves the engine simulator in-process until the test ends.
func startSim(t *testing.T, mod func(*simulator.Config)) string {
	t.Helper()
	cfg := simulator.DefaultConfig()
	cfg.LoadTime = 10 * time.Millisecond
	cfg.Slowdown = 0.05
	cfg.Cores = 8
	cfg.Seed = 3
	if mod != nil {
		mod(&cfg)
	}
	return simtest.Start(t, cfg)
}

// Against the engine simulator: exact prompt lengths through its /tokenize,
// usage-reported tokens, and its injected faults classified by kind.
func TestAgainstSimulator(t *testing.T) {
	url := startSim(t, func(c *simulator.Config) {
		c.Faults = simulator.Faults{ErrorRate: 0.1, DropRate: 0.1, DropAfter: 2, MalformedRate: 0.1, MalformedAfter: 1}
	})
	for _, api := range []measure.API{measure.APIChat, measure.APICompletions} {
		t.Run(string(api), func(t *testing.T) {
			cfg := Config{Target: url, API: api, Stream: true, Profile: pacer.Constant, Rates: []float64{40},
				Workload:   workload.Spec{Name: "w", Prompt: workload.Length{Mean: 96}, Output: workload.Length{Mean: 8}},
				MaxSeconds: 2 * time.Second, IgnoreEOS: true, Seed: 5}
			var col collector
			sum, err := Run(context.Background(), cfg, nil, col.sink)
			if err != nil {
				t.Fatal(err)
			}
			b := sum.Benchmarks[0]
			if sum.PromptCalibration != "tokenize" || b.TokenSource != "usage" && b.TokenSource != "mixed" {
				t.Fatalf("calibration %q token source %q", sum.PromptCalibration, b.TokenSource)
			}
			for _, r := range col.all {
				if r.Outcome == contract.OutcomeSuccess && (r.PromptTokens != 96 || r.OutputTokens != 8 || len(r.Chunks) == 0) {
					t.Fatalf("result %+v", r)
				}
			}
			for _, k := range []contract.ErrorKind{contract.ErrHTTP5xx, contract.ErrStreamBroken, contract.ErrMalformedChunk} {
				if b.Errors[k] == 0 {
					t.Errorf("no %s among %v", k, b.Errors)
				}
			}
			if other := b.Requests.Failed - b.Errors[contract.ErrHTTP5xx] - b.Errors[contract.ErrStreamBroken] - b.Errors[contract.ErrMalformedChunk]; other != 0 {
				t.Errorf("unexpected error kinds %v", b.Errors)
			}
			if b.Requests.Successful < 40 || fv(b.TTFT.P50) <= 0 || fv(b.ITL.P50) <= 0 {
				t.Fatalf("requests %+v ttft %+v itl %+v", b.Requests, b.TTFT, b.ITL)
			}
		})
	}
}
