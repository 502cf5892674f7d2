// Package comparetest writes synthetic result directories — summary.json,
// requests.jsonl and manifest.json laid out as a run writes them — for the
// tests of compare, report, backfill and the runner commands. Each benchmark
// is a closed loop of Conc streams with log-normal TTFT and inter-token gaps
// drawn from a seeded generator, so the same Bench gives the same files.
package comparetest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

// Bench describes one synthetic benchmark (load level). Zero fields get the
// defaults of Defaults.
type Bench struct {
	Seed      uint64
	Level     string  // "concurrent-4"
	N         int     // requests, 400
	Conc      int     // streams, 4
	TTFTMs    float64 // median TTFT, 200
	ITLMs     float64 // median inter-token gap, 50
	Tokens    int     // output tokens per request, 16
	Model     string  // "qwen3-0.6b"
	Cores     int     // 8
	Loadgen   string  // "native"
	FailEvery int     // every k-th request fails with a 5xx; 0 none
	Invalid   bool    // mark the benchmark invalid, by InvalidReason
	// InvalidReason is the reason an Invalid benchmark gives; default a
	// client-bound send lateness.
	InvalidReason string
	NoRequests    bool   // write summary.json only
	ManifestCPU   string // when set, write a manifest with this host.cpu_model
	Start         time.Time
	LevelInLines  bool // set the level of every record, as runner/store writes them
	// RepeatOf and Repetition mark the cell as one repetition of runner
	// start --repeat.
	RepeatOf   string
	Repetition int
}

// Defaults fills zero fields.
func (g Bench) Defaults() Bench {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&g.N, 400)
	def(&g.Conc, 4)
	def(&g.Tokens, 16)
	def(&g.Cores, 8)
	if g.Level == "" {
		g.Level = "concurrent-4"
	}
	if g.TTFTMs == 0 {
		g.TTFTMs = 200
	}
	if g.ITLMs == 0 {
		g.ITLMs = 50
	}
	if g.Model == "" {
		g.Model = "qwen3-0.6b"
	}
	if g.Loadgen == "" {
		g.Loadgen = "native"
	}
	if g.Start.IsZero() {
		g.Start = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	}
	return g
}

// Records simulates the requests of g.
func (g Bench) Records() []measure.Result {
	g = g.Defaults()
	rng := rand.New(rand.NewPCG(g.Seed, 99))
	free := make([]time.Time, g.Conc)
	for i := range free {
		free[i] = g.Start
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	out := make([]measure.Result, 0, g.N)
	for i := 0; i < g.N; i++ {
		s := i % g.Conc
		sched := free[s]
		r := measure.Result{Seq: int64(i), Scheduled: sched, Sent: sched, PromptTokens: 100, Outcome: contract.OutcomeSuccess, Status: 200,
			Phase: measure.PhaseMeasure}
		if g.LevelInLines {
			r.Level = g.Level
		}
		if g.FailEvery > 0 && i%g.FailEvery == 0 {
			r.Outcome, r.ErrorKind, r.Status = contract.OutcomeError, contract.ErrHTTP5xx, 500
			r.End = sched.Add(ms(5))
		} else {
			at := ms(g.TTFTMs * math.Exp(0.3*rng.NormFloat64()))
			r.FirstByte, r.FirstTok = sched.Add(at), sched.Add(at)
			for k := 0; k < g.Tokens; k++ {
				if k > 0 {
					at += ms(g.ITLMs * math.Exp(0.2*rng.NormFloat64()))
				}
				r.Chunks = append(r.Chunks, measure.Chunk{At: at, Tokens: 1})
			}
			r.OutputTokens = g.Tokens
			r.End = sched.Add(at)
		}
		free[s] = r.End
		out = append(out, r)
	}
	return out
}

// Benchmark summarises the records of g as summary.json does.
func (g Bench) Benchmark(recs []measure.Result) results.Benchmark {
	g = g.Defaults()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var ttft, itl, tpot, e2e []float64
	var end time.Time
	var ok, failed, outTok, promptTok int
	for _, r := range recs {
		if r.End.After(end) {
			end = r.End
		}
		if r.Outcome != contract.OutcomeSuccess {
			failed++
			continue
		}
		ok++
		outTok += r.OutputTokens
		promptTok += r.PromptTokens
		t := r.FirstTok.Sub(r.Scheduled)
		ttft = append(ttft, ms(t))
		e2e = append(e2e, ms(r.End.Sub(r.Scheduled)))
		if r.OutputTokens > 1 {
			tpot = append(tpot, ms(r.End.Sub(r.Scheduled)-t)/float64(r.OutputTokens-1))
		}
		for i := 1; i < len(r.Chunks); i++ {
			itl = append(itl, ms(r.Chunks[i].At-r.Chunks[i-1].At))
		}
	}
	dur := end.Sub(g.Start).Seconds()
	b := results.Benchmark{Profile: "concurrent", Level: g.Level, TargetRate: float64(g.Conc), AchievedRate: results.Of(float64(len(recs)) / dur),
		DurationSeconds: dur, Requests: results.Requests{Successful: ok, Failed: failed},
		TTFT: results.NewDist(ttft), ITL: results.NewDist(itl), TPOT: results.NewDist(tpot), E2E: results.NewDist(e2e),
		RequestsPerSecond: results.OfIf(float64(ok)/dur, ok > 0), OutputTokensPerSecond: results.OfIf(float64(outTok)/dur, outTok > 0),
		TotalTokensPerSecond: results.OfIf(float64(outTok+promptTok)/dur, outTok+promptTok > 0), Valid: !g.Invalid, InvalidReasons: []string{}}
	if g.Invalid {
		b.InvalidReasons = []string{cmp.Or(g.InvalidReason, "client-bound: p99 send lateness 12 ms is above 1 ms")}
	}
	return b
}

// WriteCell writes dir/summary.json (one benchmark per Bench, cell settings
// from the first), dir/requests.jsonl and, when asked, dir/manifest.json. The
// run id is the name of dir's parent.
func WriteCell(dir string, benches ...Bench) error {
	if len(benches) == 0 {
		return fmt.Errorf("comparetest: no benchmarks")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g0 := benches[0].Defaults()
	sum := results.Summary{SchemaVersion: results.SchemaVersion, RunID: filepath.Base(filepath.Dir(dir)), Suite: "test",
		Cell: filepath.Base(dir), Model: g0.Model, Workload: "chat", Cores: g0.Cores, Loadgen: g0.Loadgen,
		RepeatOf: g0.RepeatOf, Repetition: g0.Repetition}
	var lines []measure.Result
	for _, g := range benches {
		g = g.Defaults()
		recs := g.Records()
		sum.Benchmarks = append(sum.Benchmarks, g.Benchmark(recs))
		lines = append(lines, recs...)
	}
	write := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err := write("summary.json", sum); err != nil {
		return err
	}
	if g0.ManifestCPU != "" {
		if err := write("manifest.json", map[string]any{"host": map[string]any{"cpu_model": g0.ManifestCPU}, "image": "vllm:dev"}); err != nil {
			return err
		}
	}
	if g0.NoRequests {
		return nil
	}
	var buf bytes.Buffer
	w := results.NewRequestWriter(&buf)
	for i := range lines {
		if err := w.Write(&lines[i]); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "requests.jsonl"), buf.Bytes(), 0o644)
}
