package perfmodel

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/doctable"
)

var update = flag.Bool("update", false, "rewrite the figures table in docs/simulator.md")

const (
	figuresBegin = "<!-- BEGIN FIGURES (go test ./runner/simulator/perfmodel -run TestFiguresTable -update) -->\n"
	figuresEnd   = "<!-- END FIGURES -->\n"
)

// figures renders the simulated figures per preset and core count with
// vLLM's CPU serving defaults (max_num_seqs 128, max_num_batched_tokens 2048,
// block 128, 4 GiB KV cache). All numbers are engine-side, in virtual time.
func figures(t testing.TB) string {
	var b strings.Builder
	b.WriteString("| model | cores | prefill 512 tok (s) | decode, 1 stream (tok/s) | 16 streams: total / per stream (tok/s) | 128 streams: total / per stream (tok/s) | 128 streams: mean TTFT (s) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, id := range PresetIDs() {
		p, _ := Preset(id)
		for _, cores := range []int{1, 2, 4, 8, 16, 32} {
			h := DefaultHardware()
			h.Cores = cores
			cfg := SchedulerConfig{Profile: p, Hardware: h, MaxNumSeqs: 128, MaxNumBatchedTokens: 2048,
				BlockSize: 128, KVCacheBytes: 4 << 30, Slowdown: 1}
			prefill := StepCost(p, h, []Work{{NewTokens: 512}}).Total
			if p.EncoderDecoder() {
				enc := StepCost(p, h, []Work{{NewTokens: 4, Encoder: p.EncoderPositions, Cross: p.EncoderPositions}}).Total
				alone := transcribe(t, p, cores, 10)
				many := transcribeMany(t, cfg, 16, 10)
				fmt.Fprintf(&b, "| %s (speech) | %d | %.3f (encoder, one 30 s window) | 10 s clip alone: %.2f s, RTF %.3f | 16 clips of 10 s at once: %.0f audio s/s | | |\n",
					id, cores, enc.Seconds(), alone.Seconds(), alone.Seconds()/10, 160/many.Seconds())
				continue
			}
			if p.Embedding {
				one, err := Simulate(cfg, []Arrival{{Prompt: 128}})
				if err != nil {
					t.Fatal(err)
				}
				last := lastE2E(t, cfg, 512, Arrival{Prompt: 128})
				fmt.Fprintf(&b, "| %s (embedding) | %d | %.3f | %.0f ms per 128-token input | %.0f inputs/s at saturation | | |\n",
					id, cores, prefill.Seconds(), float64(one[0].E2E.Microseconds())/1000, 512/last.Seconds())
				continue
			}
			one, err := Closed(cfg, 1, 2, 128, 128)
			if err != nil {
				t.Fatal(err)
			}
			mid, err := Closed(cfg, 16, 32, 128, 128)
			if err != nil {
				t.Fatal(err)
			}
			peak, err := Closed(cfg, 128, 256, 128, 128)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "| %s | %d | %.2f | %.1f | %.0f / %.1f | %.0f / %.2f | %.1f |\n", id, cores, prefill.Seconds(),
				one.PerSeqTokensPerS, mid.OutputTokensPerS, mid.PerSeqTokensPerS, peak.OutputTokensPerS, peak.PerSeqTokensPerS,
				peak.MeanTTFT.Seconds())
		}
	}
	return b.String()
}

// TestFiguresTable keeps the table in docs/simulator.md equal to what the
// model computes; -update rewrites it.
func TestFiguresTable(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "simulator.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	current, err := doctable.Between(doc, figuresBegin, figuresEnd)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	table := figures(t)
	if current == table {
		return
	}
	if !*update {
		t.Fatalf("the figures table in %s is stale; run go test ./runner/simulator/perfmodel -run TestFiguresTable -update", path)
	}
	if err := doctable.Replace(path, figuresBegin, figuresEnd, table); err != nil {
		t.Fatal(err)
	}
}

// transcribeMany is the engine time of n clips of seconds each sent at once.
func transcribeMany(t testing.TB, cfg SchedulerConfig, n int, seconds float64) time.Duration {
	t.Helper()
	return lastE2E(t, cfg, n, Arrival{Prompt: 4, Output: int(3.5*seconds) + 1, Encoder: cfg.Profile.EncoderPositions})
}

// lastE2E is when the last of n copies of a, sent at once, finishes.
func lastE2E(t testing.TB, cfg SchedulerConfig, n int, a Arrival) time.Duration {
	t.Helper()
	arr := make([]Arrival, n)
	for i := range arr {
		arr[i] = a
	}
	out, err := Simulate(cfg, arr)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Duration
	for _, o := range out {
		last = max(last, o.E2E)
	}
	return last
}
