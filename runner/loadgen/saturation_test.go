package loadgen

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/doctable"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/saturation"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/simtest"
	"github.com/servebench/servebench/runner/workload"
)

var (
	satTable  = flag.Bool("saturation.table", false, "measure the saturation table of docs/loadgen.md against the simulator (about 15 minutes)")
	satUpdate = flag.Bool("update", false, "with -saturation.table: rewrite the table in docs/loadgen.md")
)

// satCase is an engine configuration the sweep and the detector are
// measured on: a model preset on some cores with vLLM's CPU defaults but
// for max_num_seqs, a request shape, and a speed-up of the simulator such
// that a full batch is served in service: the time scale of every
// judgement, short enough for a test, long enough for a loaded host's
// noise. A batch of 32 rather than vLLM's 128 keeps the requests and chunks
// per second, and so the CPU the simulator and the load generator need on
// a shared machine, four times lower.
type satCase struct {
	model          string
	cores          int
	prompt, output int
	seqs           int
	service        time.Duration
}

var satCases = []satCase{
	{"TinyLlama/TinyLlama-1.1B-Chat-v1.0", 1, 128, 16, 32, 600 * time.Millisecond},
	{"Qwen/Qwen3-0.6B", 2, 256, 16, 32, 600 * time.Millisecond},
	{"meta-llama/Llama-3.2-3B-Instruct", 8, 64, 32, 32, time.Second},
}

// start serves the simulator for c, without prefix caching, and returns its
// URL, its capacity (req/s, as the performance model computes it for c's
// requests) and the slowdown it runs at.
func (c satCase) start(t *testing.T) (string, float64, float64) {
	t.Helper()
	cfg := simulator.DefaultConfig()
	cfg.Model, cfg.Cores, cfg.MaxNumSeqs, cfg.LoadTime, cfg.Seed = c.model, c.cores, c.seqs, 10*time.Millisecond, 3
	// The capacity computed is for prompts computed in full; the level's
	// prompts repeat (a pool of 64) and would hit a prefix cache.
	noCache := false
	cfg.EnablePrefixCaching = &noCache
	one, err := cfg.Capacity(c.prompt, c.output)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Slowdown = c.service.Seconds() * one / float64(cfg.MaxNumSeqs)
	capa, err := cfg.Capacity(c.prompt, c.output)
	if err != nil {
		t.Fatal(err)
	}
	return simtest.Start(t, cfg), capa, cfg.Slowdown
}

func (c satCase) config(url string, p pacer.Kind, seconds float64, seed uint64) Config {
	return Config{Target: url, Stream: true, Profile: p, IgnoreEOS: true, Seed: seed,
		Workload:   workload.Spec{Name: "sat", Prompt: workload.Length{Mean: c.prompt}, Output: workload.Length{Mean: c.output}},
		MaxSeconds: time.Duration(seconds * float64(time.Second)), DrainTimeout: time.Second, StopOverSaturated: true,
		PromptPool: 64}
}

// level runs one open-loop level at rate and returns it with its wall time.
func (c satCase) level(t *testing.T, url string, p pacer.Kind, rate, seconds float64, seed uint64) (results.Benchmark, time.Duration) {
	t.Helper()
	cfg := c.config(url, p, seconds, seed)
	cfg.Rates = []float64{rate}
	start := time.Now()
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sum.Benchmarks[0], time.Since(start)
}

// sweep runs a sweep of size levels of seconds each (warmup one fifth). It
// returns the summary and the share of its throughput level's time (drain
// included: the simulator is busy all along) the simulator lost to the
// host.
func (c satCase) sweep(t *testing.T, url string, size int, seconds float64) (*results.Summary, float64) {
	t.Helper()
	cfg := c.config(url, pacer.Sweep, seconds, 7)
	cfg.SweepSize, cfg.Warmup = size, 0.2
	type mark struct {
		at    time.Time
		stall float64
		kind  pacer.Kind
	}
	var marks []mark
	cfg.testLevelHook = func(l *level) { marks = append(marks, mark{time.Now(), hostStall(t, url), l.spec.Kind}) }
	sum, err := Run(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	marks = append(marks, mark{time.Now(), hostStall(t, url), ""})
	for i, m := range marks[:len(marks)-1] {
		if m.kind == pacer.Throughput {
			return sum, (marks[i+1].stall - m.stall) / marks[i+1].at.Sub(m.at).Seconds()
		}
	}
	t.Fatal("the sweep ran no throughput level")
	return nil, 0
}

// hostStall is the time the simulator at url has lost to the host so far
// (vllm_sim_host_stall_seconds_total): steps that started late because the
// busy machine did not run it. Its capacity over a span of wall time w in
// which it was busy is capacity × (1 − stall/w).
func hostStall(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.HasPrefix(name, "vllm_sim_host_stall_seconds_total") {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatal("no vllm_sim_host_stall_seconds_total on the simulator's /metrics")
	return 0
}

// near reports whether a rate found is within 10% of capacity: above, of
// the model's; below, of what the simulator could serve with the share lost
// of its time (the host's stalls are not spread evenly over a sweep, so
// this only widens the lower bound).
func near(found, capacity, lost float64) bool {
	return found <= 1.1*capacity && found >= 0.9*capacity*(1-lost)
}

func state(b results.Benchmark) saturation.State {
	if b.OverSaturation == nil {
		return ""
	}
	return b.OverSaturation.State
}

// Against the simulator, whose performance model knows its capacity: a
// sweep finds it within 10%; Poisson load at 60% of it leaves the detector
// steady; at 125% the detector stops the level early.
func TestSaturationAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s against the simulator")
	}
	c := satCases[0]
	url, capa, _ := c.start(t)

	b, wall := c.level(t, url, pacer.Poisson, 0.6*capa, 6, 1)
	t.Logf("0.6x: %s: %s", wall, b.OverSaturation)
	if state(b) != saturation.Steady || b.StopReason != "" {
		t.Errorf("at 0.6x capacity: %s (stop %q)", b.OverSaturation, b.StopReason)
	}
	b, wall = c.level(t, url, pacer.Poisson, 1.25*capa, 30, 2)
	t.Logf("1.25x: %s: %s", wall, b.OverSaturation)
	if state(b) != saturation.Saturated || !strings.HasPrefix(b.StopReason, "over-saturated") || b.Valid || b.DurationSeconds > 28 {
		t.Errorf("at 1.25x capacity: %s (stop %q, valid %v, window %.1fs)", b.OverSaturation, b.StopReason, b.Valid, b.DurationSeconds)
	} else if !slices.ContainsFunc(b.InvalidReasons, func(r string) bool { return strings.HasPrefix(r, "server saturated: over-saturated at") }) {
		t.Errorf("at 1.25x capacity: reasons %v", b.InvalidReasons)
	}

	sum, lost := c.sweep(t, url, 3, 4)
	s := sum.Saturation
	if s == nil {
		t.Fatal("no saturation in the sweep's summary")
	}
	t.Logf("capacity %.4g req/s, %.1f%% of the time lost to the host; sweep: max rate %.4g (%s), rate %.4g (%s)",
		capa, 100*lost, s.MaxRate, s.MaxRateFrom, s.Rate, s.Reason)
	if !near(s.MaxRate, capa, lost) || !near(s.Rate, capa, lost) {
		t.Errorf("capacity %.4g req/s, %.1f%% of the time lost to the host: the sweep measured %.4g and found %.4g", capa, 100*lost, s.MaxRate, s.Rate)
	}
}

// satRow is one line of the live table.
type satRow struct {
	c              satCase
	slowdown, capa float64
	lost           float64 // share of the throughput level's time the simulator lost to the host
	sum            *results.Summary
	sweepLevels    []string
	at6, at8, at13 verdicts // Poisson levels at 0.6, 0.8 and 1.3 times capacity
}

// verdicts counts the detector's verdicts over runs of a level.
type verdicts struct {
	runs, fired, undecided int
	at                     []float64 // when it fired, in batch service times
}

// judge runs n Poisson levels of up to seconds at load × capacity.
func (c satCase) judge(t *testing.T, url string, capa, load, seconds float64, n int, seed uint64) verdicts {
	var v verdicts
	for i := range n {
		b, _ := c.level(t, url, pacer.Poisson, load*capa, seconds, seed+uint64(i))
		v.runs++
		switch state(b) {
		case saturation.Saturated:
			v.fired++
			v.at = append(v.at, b.OverSaturation.At/c.service.Seconds())
		case saturation.Undecided:
			v.undecided++
		}
	}
	return v
}

// TestSaturationTable measures the live saturation table in docs/loadgen.md;
// go test ./runner/loadgen -run TestSaturationTable -saturation.table -update -v
// rewrites it.
func TestSaturationTable(t *testing.T) {
	if !*satTable {
		t.Skip("run with -saturation.table (about 15 minutes)")
	}
	var rows []satRow
	for _, c := range satCases {
		url, capa, slow := c.start(t)
		row := satRow{c: c, capa: capa, slowdown: slow}
		row.sum, row.lost = c.sweep(t, url, 10, 10)
		for _, b := range row.sum.Benchmarks[2:] {
			row.sweepLevels = append(row.sweepLevels, fmt.Sprintf("%.3g %s", b.TargetRate/capa, state(b)))
		}
		row.at6 = c.judge(t, url, capa, 0.6, 10, 10, 100)
		row.at8 = c.judge(t, url, capa, 0.8, 10, 5, 200)
		row.at13 = c.judge(t, url, capa, 1.3, 20, 5, 300)
		t.Logf("%+v", row)
		rows = append(rows, row)
	}
	table := satTableText(rows)
	t.Log("\n" + table)
	for _, r := range rows {
		s := r.sum.Saturation
		if !near(s.Rate, r.capa, r.lost) || r.at6.fired > 0 || r.at8.fired > 0 || r.at13.fired < r.at13.runs {
			t.Errorf("%s on %d cores: rate %.3g of capacity, false alarms %d+%d, detected %d of %d", r.c.model, r.c.cores,
				s.Rate/r.capa, r.at6.fired, r.at8.fired, r.at13.fired, r.at13.runs)
		}
	}
	if *satUpdate {
		if err := doctable.Replace(filepath.Join("..", "..", "docs", "loadgen.md"), satLiveBegin, satLiveEnd, table); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	satLiveBegin = "<!-- BEGIN SATURATION LIVE (go test ./runner/loadgen -run TestSaturationTable -saturation.table -update -v) -->\n"
	satLiveEnd   = "<!-- END SATURATION LIVE -->\n"
)

func satTableText(rows []satRow) string {
	var b strings.Builder
	b.WriteString("| model | cores | max-num-seqs | request (prompt + output tokens) | slowdown | capacity (model) | time lost to the host in the throughput level | sweep: max rate (throughput level) | sweep: saturation rate | sweep: constant levels (× capacity, verdict) | fired at 0.6× / 0.8× capacity | fired at 1.3× capacity (when, in batch service times) |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|---|\n")
	for _, r := range rows {
		s := r.sum.Saturation
		slices.Sort(r.at13.at)
		when := "—"
		if len(r.at13.at) > 0 {
			when = fmt.Sprintf("median %.1f", r.at13.at[len(r.at13.at)/2])
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d + %d | %.4f | %.4g req/s | %.1f%% | %.4g req/s (%+.1f%%) | %.4g req/s (%+.1f%%) | %s | %d of %d / %d of %d | %d of %d (%s) |\n",
			r.c.model, r.c.cores, r.c.seqs, r.c.prompt, r.c.output, r.slowdown, r.capa, 100*r.lost, s.MaxRate, 100*(s.MaxRate/r.capa-1), s.Rate, 100*(s.Rate/r.capa-1),
			strings.Join(r.sweepLevels, ", "), r.at6.fired, r.at6.runs, r.at8.fired, r.at8.runs, r.at13.fired, r.at13.runs, when)
	}
	return b.String()
}
