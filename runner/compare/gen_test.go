package compare

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
)

// gen describes a synthetic closed-loop benchmark: conc streams, each sending
// its next request when the previous ends, with log-normal TTFT and ITL.
type gen struct {
	seed         uint64
	level        string
	n, conc      int
	ttftMs       float64
	itlMs        float64
	tokens       int
	model        string
	cores        int
	loadgen      string
	failEvery    int // every k-th request fails; 0 none
	invalid      bool
	noRequests   bool // write summary.json only
	manifestCPU  string
	start        time.Time
	levelInLines bool
}

func (g gen) defaults() gen {
	if g.level == "" {
		g.level = "concurrent-4"
	}
	if g.n == 0 {
		g.n = 400
	}
	if g.conc == 0 {
		g.conc = 4
	}
	if g.tokens == 0 {
		g.tokens = 16
	}
	if g.model == "" {
		g.model = "qwen3-0.6b"
	}
	if g.cores == 0 {
		g.cores = 8
	}
	if g.loadgen == "" {
		g.loadgen = "native"
	}
	if g.start.IsZero() {
		g.start = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	}
	return g
}

// records simulates the requests of g.
func (g gen) records() []Record {
	g = g.defaults()
	rng := rand.New(rand.NewPCG(g.seed, 99))
	free := make([]time.Time, g.conc)
	for i := range free {
		free[i] = g.start
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	var out []Record
	for i := 0; i < g.n; i++ {
		s := i % g.conc
		sched := free[s]
		r := measure.Result{Seq: int64(i), Scheduled: sched, Sent: sched, PromptTokens: 100, Outcome: contract.OutcomeSuccess, Status: 200}
		if g.failEvery > 0 && i%g.failEvery == 0 {
			r.Outcome, r.ErrorKind, r.Status = contract.OutcomeError, contract.ErrHTTP5xx, 500
			r.End = sched.Add(ms(5))
		} else {
			at := ms(g.ttftMs * math.Exp(0.3*rng.NormFloat64()))
			r.FirstByte, r.FirstTok = sched.Add(at), sched.Add(at)
			for k := 0; k < g.tokens; k++ {
				if k > 0 {
					at += ms(g.itlMs * math.Exp(0.2*rng.NormFloat64()))
				}
				r.Chunks = append(r.Chunks, measure.Chunk{At: at, Tokens: 1})
			}
			r.OutputTokens = g.tokens
			r.End = sched.Add(at)
		}
		free[s] = r.End
		rec := Record{Result: r}
		if g.levelInLines {
			rec.Level = g.level
		}
		out = append(out, rec)
	}
	return out
}

func distOf(x []float64) results.Dist {
	if len(x) == 0 {
		return results.Dist{}
	}
	mx := x[0]
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	return results.Dist{Mean: analysis.Mean(x), P50: analysis.Quantile(x, .5), P90: analysis.Quantile(x, .9), P95: analysis.Quantile(x, .95),
		P99: analysis.Quantile(x, .99), P999: analysis.Quantile(x, .999), Max: mx, Count: len(x)}
}

// benchmark summarises records the way summary.json does.
func (g gen) benchmark(recs []Record) results.Benchmark {
	g = g.defaults()
	s := SamplesOf(recs)
	var end time.Time
	var ok, failed, outTok, promptTok int
	for _, r := range recs {
		if r.End.After(end) {
			end = r.End
		}
		if r.Outcome == contract.OutcomeSuccess {
			ok++
			outTok += r.OutputTokens
			promptTok += r.PromptTokens
		} else {
			failed++
		}
	}
	dur := end.Sub(g.start).Seconds()
	b := results.Benchmark{Profile: "concurrent", Level: g.level, TargetRate: float64(g.conc), AchievedRate: float64(len(recs)) / dur,
		DurationSeconds: dur, Requests: results.Requests{Successful: ok, Failed: failed},
		TTFT: distOf(s.TTFT), ITL: distOf(s.ITL), TPOT: distOf(s.TPOT), E2E: distOf(s.E2E),
		RequestsPerSecond: float64(ok) / dur, OutputTokensPerSecond: float64(outTok) / dur,
		TotalTokensPerSecond: float64(outTok+promptTok) / dur, Valid: !g.invalid, InvalidReasons: []string{}}
	if g.invalid {
		b.InvalidReasons = []string{"p99 send lateness 12 ms over 1 ms"}
	}
	return b
}

// writeCell writes results/<suite>/<run>/<cell>/ for the given levels.
func writeCell(t *testing.T, dir string, gs ...gen) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g0 := gs[0].defaults()
	sum := results.Summary{SchemaVersion: results.SchemaVersion, RunID: filepath.Base(filepath.Dir(dir)), Suite: "test",
		Cell: filepath.Base(dir), Model: g0.model, Workload: "chat", Cores: g0.cores, Loadgen: g0.loadgen}
	var lines []Record
	for _, g := range gs {
		recs := g.records()
		sum.Benchmarks = append(sum.Benchmarks, g.benchmark(recs))
		lines = append(lines, recs...)
	}
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("summary.json", sum)
	if g0.manifestCPU != "" {
		write("manifest.json", map[string]any{"host": map[string]any{"cpu_model": g0.manifestCPU}, "image": "vllm:" + g0.manifestCPU})
	}
	if !g0.noRequests {
		f, err := os.Create(filepath.Join(dir, "requests.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(f)
		for _, r := range lines {
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	return dir
}
