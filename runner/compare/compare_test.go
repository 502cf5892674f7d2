package compare

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
)

func load(t *testing.T, paths ...string) Side {
	t.Helper()
	s := Side{Label: strings.Join(paths, ",")}
	for _, p := range paths {
		cells, err := Loader{}.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		s.Repeats = append(s.Repeats, cells)
	}
	return s
}

func verdicts(r *Report) map[string]Verdict {
	out := map[string]Verdict{}
	for _, c := range r.Comparisons {
		for _, cc := range c.Cells {
			for _, l := range cc.Levels {
				for _, m := range l.Metrics {
					out[l.Level+"/"+m.Metric] = m.Verdict
				}
			}
		}
	}
	return out
}

var testOpts = Options{Iterations: 400, Seed: 1}

// side writes n repeats of one configuration under dir/<i>/cell and loads
// them as one side, each bench's seed offset by the repeat.
func side(t *testing.T, dir string, n int, b bench) Side {
	t.Helper()
	var paths []string
	for i := 0; i < n; i++ {
		r := b
		r.Seed = b.Seed + uint64(i)*101
		paths = append(paths, writeCell(t, filepath.Join(dir, filepath.Base(dir)+"-"+strconv.Itoa(i), "cell"), r)) // run ids are unique
	}
	return load(t, paths...)
}

func text(r *Report) string {
	var buf bytes.Buffer
	WriteText(&buf, r)
	return buf.String()
}

func metricOf(t *testing.T, r *Report, name string) MetricVerdict {
	t.Helper()
	for _, m := range r.Comparisons[0].Cells[0].Levels[0].Metrics {
		if m.Metric == name {
			return m
		}
	}
	t.Fatalf("no metric %s", name)
	return MetricVerdict{}
}

func TestSameDistributionIsNotARegression(t *testing.T) {
	dir := t.TempDir()
	for i := uint64(0); i < 3; i++ {
		a := side(t, filepath.Join(dir, "a", strconv.Itoa(int(i))), 3, bench{Seed: 10 + i, N: 200})
		b := side(t, filepath.Join(dir, "b", strconv.Itoa(int(i))), 3, bench{Seed: 30 + i, N: 200})
		rep, err := Compare([]Side{a, b}, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Outcome == OutcomeRegression {
			t.Fatalf("draw %d: two samples of one configuration called a regression:\n%s", i, text(rep))
		}
		for _, name := range []string{"ttft_p50", "requests_per_second"} {
			if m := metricOf(t, rep, name); !strings.Contains(m.Test, "3 vs 3 runs") || m.MDE == nil || m.NoiseSource != "repeats" {
				t.Errorf("draw %d: %s tested by %q, MDE %v, noise %q", i, name, m.Test, m.MDE, m.NoiseSource)
			}
		}
	}
}

func TestDegradedIsARegression(t *testing.T) {
	dir := t.TempDir()
	a := side(t, filepath.Join(dir, "a"), 3, bench{Seed: 1, N: 200, TTFTMs: 200, ITLMs: 50})
	b := side(t, filepath.Join(dir, "b"), 3, bench{Seed: 2, N: 200, TTFTMs: 260, ITLMs: 60})
	rep, err := Compare([]Side{a, b}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(rep)
	for _, m := range []string{"ttft_p50", "itl_p50", "tpot_p50", "e2e_p50", "requests_per_second", "output_tokens_per_second"} {
		if v["concurrent-4/"+m] != Regressed {
			t.Errorf("%s: %s, want regressed", m, v["concurrent-4/"+m])
		}
	}
	if v["concurrent-4/success_rate"] != NoChange || rep.Outcome != OutcomeRegression || !errors.Is(rep.Err(), ErrRegression) {
		t.Errorf("success %s, outcome %s, err %v", v["concurrent-4/success_rate"], rep.Outcome, rep.Err())
	}
	out := text(rep)
	if !strings.Contains(out, "REGRESSION:") || !strings.Contains(out, "t test on log run values") && !strings.Contains(out, "repeats") {
		t.Errorf("text output:\n%s", out)
	}
	if err := WriteJSON(&bytes.Buffer{}, rep); err != nil {
		t.Errorf("json: %v", err)
	}

	// The other way round it is an improvement, and not a regression.
	rev, err := Compare([]Side{b, a}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Regressions != 0 || verdicts(rev)["concurrent-4/ttft_p50"] != Improved || rev.Outcome != OutcomeNoRegression {
		t.Errorf("reversed: %d regressions, ttft %s, outcome %s\n%s", rev.Regressions, verdicts(rev)["concurrent-4/ttft_p50"], rev.Outcome, text(rev))
	}
}

// TestOneRunEach: without repeats or a noise floor, a small change is
// inconclusive whatever the per-request tests say; a change far beyond the
// default floor (a doubling), confirmed by the samples, is a regression.
func TestOneRunEach(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 800, TTFTMs: 200, ITLMs: 50})
	small := writeCell(t, filepath.Join(dir, "small", "cell"), bench{Seed: 2, N: 800, TTFTMs: 210, ITLMs: 52})
	big := writeCell(t, filepath.Join(dir, "big", "cell"), bench{Seed: 3, N: 800, TTFTMs: 400, ITLMs: 50})

	rep, err := Compare([]Side{load(t, a), load(t, small)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	m := metricOf(t, rep, "ttft_p50")
	if rep.Outcome != OutcomeInconclusive || m.Verdict != Inconclusive || m.NoiseSource != "default" || m.WithinP == nil || *m.WithinP > 0.01 {
		t.Errorf("+5%% TTFT in one run each: outcome %s, %s (%s), within p %v\n%s", rep.Outcome, m.Verdict, m.Note, m.WithinP, text(rep))
	}
	if !errors.Is(rep.Err(), ErrInconclusive) {
		t.Errorf("err %v", rep.Err())
	}

	rep, err = Compare([]Side{load(t, a), load(t, big)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if m := metricOf(t, rep, "ttft_p50"); m.Verdict != Regressed || rep.Outcome != OutcomeRegression {
		t.Errorf("2x TTFT in one run each: %s (%s), outcome %s\n%s", m.Verdict, m.Note, rep.Outcome, text(rep))
	}
}

func TestSmallChangeBelowMinChange(t *testing.T) {
	// 1% slower with a deterministic host can be significant, but is under
	// the 3% bar.
	dir := t.TempDir()
	a := side(t, filepath.Join(dir, "a"), 3, bench{Seed: 1, N: 600, TTFTMs: 200, ITLMs: 50})
	b := side(t, filepath.Join(dir, "b"), 3, bench{Seed: 2, N: 600, TTFTMs: 202, ITLMs: 50.5})
	rep, err := Compare([]Side{a, b}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Regressions != 0 {
		t.Errorf("1%% change called %d regressions", rep.Regressions)
	}
}

func TestClientBoundSideIsInconclusive(t *testing.T) {
	dir := t.TempDir()
	a := side(t, filepath.Join(dir, "a"), 3, bench{Seed: 1, N: 200})
	// The late load generator makes the server look 30% slower.
	b := side(t, filepath.Join(dir, "b"), 3, bench{Seed: 2, N: 200, TTFTMs: 260, ITLMs: 65, Invalid: true})
	rep, err := Compare([]Side{a, b}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Comparisons[0].Cells[0].Levels[0]
	if rep.Regressions != 0 || rep.Outcome != OutcomeInconclusive || !strings.Contains(l.Inconclusive, "client-bound") || !strings.Contains(l.Inconclusive, "B (client-bound: p99 send lateness") {
		t.Fatalf("client-bound side: %d regressions, outcome %s, level %q\n%s", rep.Regressions, rep.Outcome, l.Inconclusive, text(rep))
	}
	if !strings.Contains(rep.Err().Error(), "client-bound") {
		t.Errorf("err %v", rep.Err())
	}
	for _, m := range l.Metrics {
		if m.Verdict != Inconclusive && m.Verdict != Untested {
			t.Errorf("%s: %s on a client-bound level", m.Metric, m.Verdict)
		}
	}
	if len(rep.FloorUpdates) != 0 {
		t.Error("a client-bound level fed the noise floor")
	}
}

func TestFailuresAreTheServers(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, TTFTMs: 200, ITLMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, TTFTMs: 200, ITLMs: 50, FailEvery: 5, Invalid: true,
		InvalidReason: "error rate 20.00% is above 1.00%"})
	rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(rep)
	l := rep.Comparisons[0].Cells[0].Levels[0]
	if v["concurrent-4/success_rate"] != Regressed || rep.Outcome != OutcomeRegression || !strings.Contains(l.Inconclusive, "error rate") {
		t.Errorf("20%% failures: success %s, outcome %s, level %q", v["concurrent-4/success_rate"], rep.Outcome, l.Inconclusive)
	}
	if v["concurrent-4/ttft_p50"] != Inconclusive {
		t.Errorf("latency of an invalid level: %s", v["concurrent-4/ttft_p50"])
	}
}

func TestSummariesOnly(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, TTFTMs: 200, ITLMs: 50, NoRequests: true})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, TTFTMs: 400, ITLMs: 100, NoRequests: true})
	rep, err := Compare([]Side{load(t, filepath.Join(a, "summary.json")), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	// Even a doubling cannot be told from host drift without repeats, a
	// floor or the samples that would confirm it.
	if rep.Regressions != 0 || rep.Outcome != OutcomeInconclusive {
		t.Errorf("one summary each: %d regressions, outcome %s\n%s", rep.Regressions, rep.Outcome, text(rep))
	}
	// Three summaries each: the run-level test needs nothing else.
	as := side(t, filepath.Join(dir, "as"), 3, bench{Seed: 1, TTFTMs: 200, ITLMs: 50, NoRequests: true})
	bs := side(t, filepath.Join(dir, "bs"), 3, bench{Seed: 2, TTFTMs: 280, ITLMs: 65, NoRequests: true})
	rep, err = Compare([]Side{as, bs}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"requests_per_second", "ttft_p50", "itl_p50"} {
		if mv := metricOf(t, rep, m); mv.Verdict != Regressed || mv.WithinTest != "" {
			t.Errorf("%s: %s (%s), within %q", m, mv.Verdict, mv.Note, mv.WithinTest)
		}
	}
}

func TestRepeats(t *testing.T) {
	dir := t.TempDir()
	a := side(t, filepath.Join(dir, "a"), 3, bench{Seed: 100, TTFTMs: 200, ITLMs: 50, NoRequests: true})
	b := side(t, filepath.Join(dir, "b"), 3, bench{Seed: 200, TTFTMs: 200, ITLMs: 50, NoRequests: true})
	c := side(t, filepath.Join(dir, "c"), 3, bench{Seed: 300, TTFTMs: 280, ITLMs: 65, NoRequests: true})
	rep, err := Compare([]Side{a, b, c}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Comparisons) != 2 {
		t.Fatalf("%d comparisons", len(rep.Comparisons))
	}
	same := rep.Comparisons[0].Cells[0].Levels[0]
	worse := rep.Comparisons[1].Cells[0].Levels[0]
	for _, m := range same.Metrics {
		if m.Verdict == Regressed || m.Verdict == Improved {
			t.Errorf("same config, %s: %s", m.Metric, m.Verdict)
		}
	}
	if same.RunsA != 3 || same.RunsB != 3 {
		t.Errorf("runs %d vs %d", same.RunsA, same.RunsB)
	}
	got := map[string]MetricVerdict{}
	for _, m := range worse.Metrics {
		got[m.Metric] = m
	}
	for _, m := range []string{"requests_per_second", "ttft_p50", "itl_p50"} {
		if got[m].Verdict != Regressed || !strings.Contains(got[m].Test, "3 vs 3 runs, 4 df") {
			t.Errorf("%s: %s by %q, want regressed by the run-level test", m, got[m].Verdict, got[m].Test)
		}
	}
	if len(same.Spread) == 0 || same.Spread[0].Spread.N != 3 {
		t.Errorf("repeatability rows missing: %+v", same.Spread)
	}
}

// TestRepetitionsOfOneRun: runner start --repeat writes the repetitions of a
// cell side by side in one run directory; they are repeats, not cells.
func TestRepetitionsOfOneRun(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 3; i++ {
		writeCell(t, filepath.Join(dir, "a", fmt.Sprintf("m_chat_8c_r%d", i)), bench{Seed: uint64(i), N: 100, RepeatOf: "m_chat_8c", Repetition: i})
		writeCell(t, filepath.Join(dir, "b", fmt.Sprintf("m_chat_8c_r%d", i)), bench{Seed: uint64(10 + i), N: 100, RepeatOf: "m_chat_8c", Repetition: i})
	}
	rep, err := Compare([]Side{load(t, filepath.Join(dir, "a")), load(t, filepath.Join(dir, "b"))}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Comparisons[0]
	if len(c.Cells) != 1 || c.Cells[0].Cell != "m_chat_8c" || c.Cells[0].Levels[0].RunsA != 3 || c.Cells[0].Levels[0].RunsB != 3 {
		t.Fatalf("cells %+v", c.Cells)
	}
}

func TestMinimalDetectableEffect(t *testing.T) {
	dir := t.TempDir()
	// Two runs against one: a single degree of freedom, so only enormous
	// changes could be detected, and the primary metrics are inconclusive.
	a := side(t, filepath.Join(dir, "a"), 2, bench{Seed: 1, N: 200, NoRequests: true})
	b := side(t, filepath.Join(dir, "b"), 1, bench{Seed: 2, N: 200, NoRequests: true})
	rep, err := Compare([]Side{a, b}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	m := metricOf(t, rep, "ttft_p50")
	if m.MDE == nil || *m.MDE <= testOpts.norm().MaxMDE || m.Verdict != Inconclusive || !strings.Contains(m.Note, "only a change above") {
		t.Errorf("2 vs 1 runs: MDE %v, %s (%s)", m.MDE, m.Verdict, m.Note)
	}
	if rep.Outcome != OutcomeInconclusive {
		t.Errorf("outcome %s", rep.Outcome)
	}
}

func TestMismatchRefusedUnlessForced(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, TTFTMs: 200, ITLMs: 50, ManifestCPU: "Xeon 8480"})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, TTFTMs: 200, ITLMs: 50, ManifestCPU: "EPYC 9654"})
	_, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "host.cpu_model Xeon 8480 vs EPYC 9654") {
		t.Fatalf("err = %v, want a cpu_model mismatch", err)
	}
	c := writeCell(t, filepath.Join(dir, "c", "cell"), bench{Seed: 2, TTFTMs: 200, ITLMs: 50, Model: "llama-3.2-1b", ManifestCPU: "Xeon 8480"})
	if _, err := Compare([]Side{load(t, a), load(t, c)}, testOpts); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "model") {
		t.Fatalf("err = %v, want a model mismatch", err)
	}
	o := testOpts
	o.Force = true
	rep, err := Compare([]Side{load(t, a), load(t, b)}, o)
	if err != nil {
		t.Fatal(err)
	}
	if mm := rep.Comparisons[0].Cells[0].Mismatches; len(mm) != 1 {
		t.Errorf("forced comparison should list the mismatch: %v", mm)
	}
}

func TestRunsPairCellsByName(t *testing.T) {
	dir := t.TempDir()
	writeCell(t, filepath.Join(dir, "a", "c4"), bench{Seed: 1, TTFTMs: 200, ITLMs: 50, Cores: 4})
	writeCell(t, filepath.Join(dir, "a", "c8"), bench{Seed: 2, TTFTMs: 100, ITLMs: 25})
	writeCell(t, filepath.Join(dir, "b", "c4"), bench{Seed: 3, TTFTMs: 200, ITLMs: 50, Cores: 4})
	writeCell(t, filepath.Join(dir, "b", "c16"), bench{Seed: 4, TTFTMs: 50, ITLMs: 12, Cores: 16})
	rep, err := Compare([]Side{load(t, filepath.Join(dir, "a")), load(t, filepath.Join(dir, "b"))}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Comparisons[0]
	if len(c.Cells) != 1 || c.Cells[0].Cell != "c4" || len(c.Unmatched) != 2 {
		t.Errorf("cells %+v unmatched %v", c.Cells, c.Unmatched)
	}
}

func TestByLevel(t *testing.T) {
	dir := t.TempDir()
	for _, labelled := range []bool{true, false} {
		p := writeCell(t, filepath.Join(dir, "x"), bench{Seed: 1, N: 40, LevelInLines: labelled, TTFTMs: 10, ITLMs: 1},
			bench{Seed: 2, N: 60, Level: "concurrent-8", LevelInLines: labelled, TTFTMs: 10, ITLMs: 1})
		cells, err := Loader{}.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		by := cells[0].ByLevel()
		if len(by["concurrent-4"]) != 40 || len(by["concurrent-8"]) != 60 {
			t.Errorf("labelled=%v: split %d/%d, want 40/60", labelled, len(by["concurrent-4"]), len(by["concurrent-8"]))
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := (Loader{}).Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path: want error")
	}
	if _, err := (Loader{}).Load(dir); err == nil || !strings.Contains(err.Error(), "no summary.json") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestCost(t *testing.T) {
	c := CostOf(4, 100, 0.05)
	if c.OutputTokensPerCore != 25 {
		t.Errorf("per core %v", c.OutputTokensPerCore)
	}
	// 4 cores * 0.05/h buy 360000 tokens an hour: 0.2 / 0.36 = 0.5556 per million.
	if d := c.PricePerMillionOutputs - 0.2/0.36; d > 1e-9 || d < -1e-9 {
		t.Errorf("price per million %v", c.PricePerMillionOutputs)
	}
	if CostOf(0, 100, 1) != nil {
		t.Error("unknown cores should give no cost")
	}
}

func TestSamplesMatchSummary(t *testing.T) {
	p := writeCell(t, filepath.Join(t.TempDir(), "cell"), bench{Seed: 5, N: 100, FailEvery: 7})
	cells, err := Loader{}.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	b := cells[0].Summary.Benchmarks[0]
	s := SamplesOf(cells[0].ByLevel()[b.Level])
	for name, c := range map[string]struct {
		x    []float64
		want results.Figure
		n    int
	}{
		"ttft": {s.TTFT, b.TTFT.P99, b.TTFT.Count}, "itl": {s.ITL, b.ITL.P99, b.ITL.Count},
		"tpot": {s.TPOT, b.TPOT.P99, b.TPOT.Count}, "e2e": {s.E2E, b.E2E.P99, b.E2E.Count},
	} {
		// The summary's p99 is there from 100 samples on, and then agrees.
		got, ok := c.want.Get()
		if len(c.x) != c.n || ok != (c.n >= results.DefaultMinSamplesP99) || ok && math.Abs(analysis.Quantile(c.x, 0.99)-got) > 1e-9 {
			t.Errorf("%s: %d samples p99 %v, summary %d p99 %v", name, len(c.x), analysis.Quantile(c.x, 0.99), c.n, c.want)
		}
	}
	if len(s.Done) != b.Requests.Successful {
		t.Errorf("%d completions, %d successful", len(s.Done), b.Requests.Successful)
	}
}

func TestWindowedKnownRates(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Samples{Start: start}
	// One completion (10 output, 90 prompt tokens) every second for 10 s.
	for i := 1; i <= 10; i++ {
		s.Done = append(s.Done, Completion{End: start.Add(time.Duration(i)*time.Second - time.Millisecond), Tokens: 10, PromptTokens: 90})
	}
	s.Done[9].End = start.Add(10 * time.Second)
	req, out, tot := s.Windowed(5)
	for i := range req {
		if math.Abs(req[i]-1) > 0.01 || math.Abs(out[i]-10) > 0.1 || math.Abs(tot[i]-100) > 1 {
			t.Errorf("window %d: %v req/s %v out tok/s %v tok/s, want 1, 10, 100", i, req[i], out[i], tot[i])
		}
	}
	if r, _, _ := (Samples{}).Windowed(5); r != nil {
		t.Error("no completions should give no windows")
	}
}

func TestProfileMismatch(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 20, NoRequests: true})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, N: 20, NoRequests: true})
	ca, _ := Loader{}.Load(a)
	cb, _ := Loader{}.Load(b)
	cb[0].Summary.Benchmarks[0].Profile = "constant"
	if mm := Mismatches(ca[0], cb[0]); len(mm) != 1 || mm[0] != "level concurrent-4 profile concurrent vs constant" {
		t.Errorf("mismatches %q", mm)
	}
}

func TestCellAgainstRun(t *testing.T) {
	dir := t.TempDir()
	writeCell(t, filepath.Join(dir, "run", "c4"), bench{Seed: 1, N: 40})
	writeCell(t, filepath.Join(dir, "run", "c8"), bench{Seed: 2, N: 40})
	cell := writeCell(t, filepath.Join(dir, "other", "c8"), bench{Seed: 3, N: 40})
	rep, err := Compare([]Side{load(t, filepath.Join(dir, "run")), load(t, cell)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Comparisons[0]; len(c.Cells) != 1 || c.Cells[0].Cell != "c8" {
		t.Errorf("a cell against a run pairs by name: %+v", c.Cells)
	}
}

func TestNothingInCommonIsAnError(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 20, Level: "concurrent-4"})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, N: 20, Level: "concurrent-8", Conc: 8})
	if _, err := Compare([]Side{load(t, a), load(t, b)}, testOpts); err == nil || !strings.Contains(err.Error(), "no cell and load level in common") {
		t.Errorf("err = %v", err)
	}
}

func TestCountsJudgedAndUntested(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 20, NoRequests: true})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, N: 20, NoRequests: true})
	rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	// Twenty requests: the four p99s are not tested; the rest are judged,
	// all but the success rate inconclusive (one run each, no floor).
	if rep.Judged != 8 || rep.Untested != 4 || rep.Inconclusive != 7 {
		t.Errorf("judged %d untested %d inconclusive %d, want 8, 4 and 7", rep.Judged, rep.Untested, rep.Inconclusive)
	}
	if out := text(rep); !strings.Contains(out, "8 metric(s) judged (7 inconclusive), 4 not tested") {
		t.Errorf("summary line:\n%s", out)
	}
}

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 600}, bench{Seed: 2, N: 600, Level: "concurrent-8", Conc: 8})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 3, N: 600}, bench{Seed: 4, N: 600, Level: "concurrent-8", Conc: 8})
	var out [2]bytes.Buffer
	for i := range out {
		rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&out[i], rep); err != nil {
			t.Fatal(err)
		}
	}
	if out[0].String() != out[1].String() {
		t.Error("the same inputs and seed gave different reports")
	}
}

// A figure absent on either side is not compared: the side that has it
// shows it, the other none (null in JSON, — in the table), never a 0 or a
// change.
func TestAbsentFiguresAreNotCompared(t *testing.T) {
	side := func(label string, b results.Benchmark) Side {
		b.Level, b.Valid, b.Requests = "concurrent-8", true, results.Requests{Successful: 8}
		return Side{Label: label, Repeats: [][]Cell{{{Key: "c", Summary: &results.Summary{Cell: "c", Model: "m", Cores: 2, Benchmarks: []results.Benchmark{b}}}}}}
	}
	// A: completions inside the window; B: none. B was not streamed (no ITL).
	a := side("a", results.Benchmark{RequestsPerSecond: results.Of(1.6), OutputTokensPerSecond: results.Of(200),
		TTFT: results.Dist{P50: results.Of(215), Count: 64}, ITL: results.Dist{P50: results.Of(60), Count: 4000}})
	b := side("b", results.Benchmark{OutputTokensPerSecond: results.Of(180),
		TTFT: results.Dist{P50: results.Of(230), Count: 64}})
	rep, err := Compare([]Side{a, b}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]MetricVerdict{}
	for _, m := range rep.Comparisons[0].Cells[0].Levels[0].Metrics {
		byName[m.Metric] = m
	}
	for _, name := range []string{"requests_per_second", "itl_p50"} {
		m := byName[name]
		if m.Verdict != Untested || !strings.Contains(m.Note, "b: absent") || !math.IsNaN(m.Change) || !math.IsNaN(m.B) || math.IsNaN(m.A) {
			t.Errorf("%s: %+v, want not tested, A shown, B and the change absent", name, m)
		}
	}
	var text, js bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`requests_per_second\s+1\.6 req/s\s+—`).MatchString(text.String()) {
		t.Errorf("text:\n%s", text.String())
	}
	if strings.Contains(js.String(), `"b": 0,`) || !strings.Contains(js.String(), `"b": null`) {
		t.Errorf("json:\n%s", js.String())
	}
	if rep.Regressions != 0 {
		t.Errorf("%d regressions from absent figures", rep.Regressions)
	}
}
