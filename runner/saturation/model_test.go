package saturation

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/doctable"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

var (
	table  = flag.Bool("saturation.table", false, "measure the detector's table against the performance model (about 2 minutes)")
	update = flag.Bool("update", false, "with -saturation.table: rewrite the table in docs/loadgen.md")
)

// modelCase is an engine configuration of the performance model and a
// request shape.
type modelCase struct {
	model          string
	cores          int
	prompt, output int
}

func (m modelCase) config(tb testing.TB, jitter float64, seed uint64) perfmodel.SchedulerConfig {
	tb.Helper()
	p, ok := perfmodel.Preset(m.model)
	if !ok {
		tb.Fatalf("no preset %s", m.model)
	}
	h := perfmodel.DefaultHardware()
	h.Cores = m.cores
	return perfmodel.SchedulerConfig{Profile: p, Hardware: h, MaxNumSeqs: 128, MaxNumBatchedTokens: 2048,
		BlockSize: 128, KVCacheBytes: 4 << 30, Slowdown: 1, Jitter: jitter, Seed: seed}
}

// noise delays the client's view of events: with probability stallRate per
// second the client stalls for stall, and every event inside a stall is seen
// at its end; every event is also late by an exponential delay of mean late.
type noise struct {
	stallRate float64
	stall     time.Duration
	late      time.Duration
}

// clientEvent is one event of a request as the client sees it: when, what
// (0 sent, 1 first token, 2 ended) and the request's times as it dated
// them.
type clientEvent struct {
	at               time.Duration
	kind             int
	sent, first, end time.Duration
}

// simulate offers the model an open loop at load × capacity for span and
// returns what a noisy client sees, in time order.
func simulate(tb testing.TB, m modelCase, load float64, poisson bool, span time.Duration, nz noise, seed uint64) []clientEvent {
	tb.Helper()
	cfg := m.config(tb, 0.1, seed)
	capa, err := perfmodel.Capacity(cfg, m.prompt, m.output)
	if err != nil {
		tb.Fatal(err)
	}
	rate := load * capa
	rng := rand.New(rand.NewPCG(seed, 99))
	var arr []perfmodel.Arrival
	for at := time.Duration(0); at < span; {
		arr = append(arr, perfmodel.Arrival{At: at, Prompt: m.prompt, Output: m.output})
		gap := 1 / rate
		if poisson {
			gap = rng.ExpFloat64() / rate
		}
		at += time.Duration(gap * 1e9)
	}
	out, err := perfmodel.Simulate(cfg, arr)
	if err != nil {
		tb.Fatal(err)
	}
	var stalls [][2]time.Duration
	for at := time.Duration(0); at < span; at += time.Second {
		if rng.Float64() < nz.stallRate {
			s := at + time.Duration(rng.Float64()*float64(time.Second))
			stalls = append(stalls, [2]time.Duration{s, s + nz.stall})
		}
	}
	seen := func(t time.Duration) time.Duration {
		for _, s := range stalls {
			if t >= s[0] && t < s[1] {
				t = s[1]
			}
		}
		if nz.late > 0 {
			t += time.Duration(rng.ExpFloat64() * float64(nz.late))
		}
		return t
	}
	var evs []clientEvent
	for _, o := range out {
		sent, first, end := seen(o.Arrival), seen(o.Arrival+o.TTFT), seen(o.Arrival+o.E2E)
		for k, at := range []time.Duration{sent, first, end} {
			if at < span {
				evs = append(evs, clientEvent{at, k, sent, first, end})
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b clientEvent) int { return int(a.at - b.at) })
	return evs
}

// judge feeds the events to a Detector, checking 200 times over span, and
// returns the first Saturated evidence, or the last one.
func judge(evs []clientEvent, span time.Duration) Evidence {
	d := New(Config{})
	tick := span / 200
	next := 0
	var ev Evidence
	for now := tick; now <= span; now += tick {
		for ; next < len(evs) && evs[next].at <= now; next++ {
			e := evs[next]
			switch e.kind {
			case 0:
				d.Sent(e.sent)
			case 1:
				d.FirstToken(e.sent, e.first)
			case 2:
				d.Ended(e.sent, e.first, e.end)
			}
		}
		if ev = d.Check(now); ev.State == Saturated {
			break
		}
	}
	return ev
}

// modelCases are the engine configurations the detector is measured on:
// three models on 1, 2 and 8 cores with vLLM's CPU defaults, each with its
// request shape; the live table in runner/loadgen uses the same.
var modelCases = []modelCase{
	{"TinyLlama/TinyLlama-1.1B-Chat-v1.0", 1, 128, 16},
	{"Qwen/Qwen3-0.6B", 2, 256, 16},
	{"meta-llama/Llama-3.2-3B-Instruct", 8, 64, 32},
}

// span is a level's length for m: the time the engine at capacity takes to
// serve 40 full batches.
func (m modelCase) span(tb testing.TB) time.Duration {
	capa, err := perfmodel.Capacity(m.config(tb, 0, 0), m.prompt, m.output)
	if err != nil {
		tb.Fatal(err)
	}
	return time.Duration(float64(time.Second) * 40 * 128 / capa)
}

// hostNoise is a loaded client: a 200 ms stall one second in twenty, every
// event a millisecond late on average.
var hostNoise = noise{stallRate: 0.05, stall: 200 * time.Millisecond, late: time.Millisecond}

// Against the performance model in virtual time, with step jitter and a
// noisy client: Poisson arrivals well below capacity never fire the
// detector; 20% above it they always do.
func TestDetectorAgainstModel(t *testing.T) {
	runs := 6
	for _, m := range modelCases {
		span := m.span(t)
		for _, load := range []float64{0.5, 0.8, 1.2} {
			fired := 0
			for s := range runs {
				ev := judge(simulate(t, m, load, true, span, hostNoise, uint64(s+1)), span)
				if ev.State == Saturated {
					fired++
				}
				if ev.State == Undecided {
					t.Errorf("%s on %d cores at %.1fx capacity: undecided after %s: %s", m.model, m.cores, load, span, ev)
				}
			}
			t.Logf("%s on %d cores at %.1fx capacity: fired in %d of %d runs", m.model, m.cores, load, fired, runs)
			if want := map[bool]int{false: 0, true: runs}[load > 1]; fired != want {
				t.Errorf("%s on %d cores at %.1fx capacity: fired in %d of %d runs, want %d", m.model, m.cores, load, fired, runs, want)
			}
		}
	}
}

const (
	modelBegin = "<!-- BEGIN SATURATION MODEL (go test ./runner/saturation -run TestModelTable -saturation.table -update -v) -->\n"
	modelEnd   = "<!-- END SATURATION MODEL -->\n"
)

// tableLoads are the offered loads of the table, as multiples of capacity.
var tableLoads = []float64{0.5, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.5}

// TestModelTable measures how often the detector fires against the
// performance model, below and above capacity, with the noise of
// TestDetectorAgainstModel, and how often GuideLLM's rule does on the same
// runs; with -update it rewrites the table in docs/loadgen.md.
func TestModelTable(t *testing.T) {
	if !*table {
		t.Skip("run with -saturation.table (about 2 minutes)")
	}
	const runs = 40
	var b strings.Builder
	b.WriteString("| model | cores | request (prompt + output tokens) | arrivals | capacity (req/s) |")
	for _, l := range tableLoads {
		fmt.Fprintf(&b, " %.3g× |", l)
	}
	b.WriteString(" fired at 1.2× after (median, batch service times) |\n|---|---:|---|---|---:|")
	b.WriteString(strings.Repeat("---:|", len(tableLoads)+1) + "\n")
	for _, m := range modelCases {
		capa, err := perfmodel.Capacity(m.config(t, 0, 0), m.prompt, m.output)
		if err != nil {
			t.Fatal(err)
		}
		batch := 128 / capa
		span := m.span(t)
		for _, poisson := range []bool{false, true} {
			arrivals := map[bool]string{false: "constant", true: "poisson"}[poisson]
			fmt.Fprintf(&b, "| %s | %d | %d + %d | %s | %.4g |", m.model, m.cores, m.prompt, m.output, arrivals, capa)
			var after []float64
			for _, load := range tableLoads {
				fired, rule := 0, 0
				for s := range runs {
					evs := simulate(t, m, load, poisson, span, hostNoise, uint64(1000*s+1))
					if _, ok := judgeGuideLLM(evs); ok {
						rule++
					}
					ev := judge(evs, span)
					if ev.State != Saturated {
						continue
					}
					fired++
					if load == 1.2 {
						after = append(after, ev.At/batch)
					}
				}
				fmt.Fprintf(&b, " %d · %d |", fired, rule)
				if load <= 0.9 && fired > 0 || load >= 1.1 && fired < runs {
					t.Errorf("%s on %d cores, %s arrivals at %.3gx capacity: fired in %d of %d runs", m.model, m.cores, arrivals, load, fired, runs)
				}
			}
			slices.Sort(after)
			med := "—"
			if len(after) > 0 {
				med = fmt.Sprintf("%.1f", after[len(after)/2])
			}
			fmt.Fprintf(&b, " %s |\n", med)
		}
	}
	t.Log("\n" + b.String())
	if *update {
		if err := doctable.Replace(filepath.Join("..", "..", "docs", "loadgen.md"), modelBegin, modelEnd, b.String()); err != nil {
			t.Fatal(err)
		}
	}
}
