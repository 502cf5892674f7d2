package compare

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/analysis"
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

func TestSameDistributionIsNotARegression(t *testing.T) {
	dir := t.TempDir()
	for i := uint64(0); i < 4; i++ {
		a := writeCell(t, filepath.Join(dir, "a", "run", "cell"), bench{Seed: 10 + i, TTFTMs: 200, ITLMs: 50},
			bench{Seed: 20 + i, Level: "concurrent-8", Conc: 8, TTFTMs: 300, ITLMs: 60})
		b := writeCell(t, filepath.Join(dir, "b", "run", "cell"), bench{Seed: 30 + i, TTFTMs: 200, ITLMs: 50},
			bench{Seed: 40 + i, Level: "concurrent-8", Conc: 8, TTFTMs: 300, ITLMs: 60})
		rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Regressions != 0 {
			var buf bytes.Buffer
			WriteText(&buf, rep)
			t.Fatalf("draw %d: two draws of one distribution called %d regressions:\n%s", i, rep.Regressions, buf.String())
		}
		v := verdicts(rep)
		if v["concurrent-4/ttft_p50"] == Untested || v["concurrent-8/requests_per_second"] == Untested {
			t.Errorf("draw %d: tests did not run: %v", i, v)
		}
	}
}

func TestDegradedIsARegression(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 600, TTFTMs: 200, ITLMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, N: 600, TTFTMs: 260, ITLMs: 60})
	rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(rep)
	for _, m := range []string{"ttft_p50", "itl_p50", "tpot_p50", "e2e_p50", "e2e_p99", "requests_per_second", "output_tokens_per_second"} {
		if v["concurrent-4/"+m] != Regressed {
			t.Errorf("%s: %s, want regressed", m, v["concurrent-4/"+m])
		}
	}
	if v["concurrent-4/success_rate"] != NoChange || v["concurrent-4/valid"] != NoChange {
		t.Errorf("success/valid: %v", v)
	}
	if rep.Regressions == 0 {
		t.Fatal("no regression counted")
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "REGRESSION:") || !strings.Contains(buf.String(), "mann-whitney") {
		t.Errorf("text output:\n%s", buf.String())
	}
	if err := WriteJSON(&bytes.Buffer{}, rep); err != nil {
		t.Errorf("json: %v", err)
	}

	// The other way round it is an improvement, and not a regression.
	rev, err := Compare([]Side{load(t, b), load(t, a)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Regressions != 0 || verdicts(rev)["concurrent-4/ttft_p50"] != Improved {
		t.Errorf("reversed: %d regressions, ttft %s", rev.Regressions, verdicts(rev)["concurrent-4/ttft_p50"])
	}
}

func TestSmallChangeBelowMinChange(t *testing.T) {
	// 1% slower with many samples can be significant, but is under the 3% bar.
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, N: 2000, TTFTMs: 200, ITLMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, N: 2000, TTFTMs: 202, ITLMs: 50.5})
	rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Regressions != 0 {
		t.Errorf("1%% change called %d regressions", rep.Regressions)
	}
}

func TestFailuresAndValidity(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, TTFTMs: 200, ITLMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, TTFTMs: 200, ITLMs: 50, FailEvery: 5, Invalid: true})
	rep, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(rep)
	if v["concurrent-4/success_rate"] != Regressed || v["concurrent-4/valid"] != Regressed {
		t.Errorf("20%% failures and an invalid run: success %s, valid %s", v["concurrent-4/success_rate"], v["concurrent-4/valid"])
	}
}

func TestSummariesOnlyAreNotTested(t *testing.T) {
	dir := t.TempDir()
	a := writeCell(t, filepath.Join(dir, "a", "cell"), bench{Seed: 1, TTFTMs: 200, ITLMs: 50, NoRequests: true})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), bench{Seed: 2, TTFTMs: 400, ITLMs: 100, NoRequests: true})
	rep, err := Compare([]Side{load(t, filepath.Join(a, "summary.json")), load(t, b)}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range verdicts(rep) {
		if strings.HasSuffix(k, "success_rate") || strings.HasSuffix(k, "valid") {
			continue
		}
		if v != Untested {
			t.Errorf("%s: %s without samples or repeats, want not tested", k, v)
		}
	}
}

func TestRepeats(t *testing.T) {
	dir := t.TempDir()
	var as, bs, cs []string
	for i := uint64(0); i < 3; i++ {
		as = append(as, writeCell(t, filepath.Join(dir, "a", string(rune('0'+i)), "cell"), bench{Seed: 100 + i, TTFTMs: 200, ITLMs: 50, NoRequests: true}))
		bs = append(bs, writeCell(t, filepath.Join(dir, "b", string(rune('0'+i)), "cell"), bench{Seed: 200 + i, TTFTMs: 200, ITLMs: 50, NoRequests: true}))
		cs = append(cs, writeCell(t, filepath.Join(dir, "c", string(rune('0'+i)), "cell"), bench{Seed: 300 + i, TTFTMs: 280, ITLMs: 65, NoRequests: true}))
	}
	rep, err := Compare([]Side{load(t, as...), load(t, bs...), load(t, cs...)}, testOpts)
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
	got := map[string]MetricVerdict{}
	for _, m := range worse.Metrics {
		got[m.Metric] = m
	}
	for _, m := range []string{"requests_per_second", "ttft_p50", "itl_p50"} {
		if got[m].Verdict != Regressed || !strings.Contains(got[m].Test, "repeats") {
			t.Errorf("%s: %s by %q, want regressed by repeats", m, got[m].Verdict, got[m].Test)
		}
	}
	if len(same.Spread) == 0 || same.Spread[0].Spread.N != 3 {
		t.Errorf("repeatability rows missing: %+v", same.Spread)
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
		want float64
		n    int
	}{
		"ttft": {s.TTFT, b.TTFT.P99, b.TTFT.Count}, "itl": {s.ITL, b.ITL.P99, b.ITL.Count},
		"tpot": {s.TPOT, b.TPOT.P99, b.TPOT.Count}, "e2e": {s.E2E, b.E2E.P99, b.E2E.Count},
	} {
		if len(c.x) != c.n || math.Abs(analysis.Quantile(c.x, 0.99)-c.want) > 1e-9 {
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
	// Summaries only: success rate and validity judged, the rest not.
	if rep.Judged != 2 || rep.Untested != 11 {
		t.Errorf("judged %d untested %d, want 2 and 11", rep.Judged, rep.Untested)
	}
	var buf bytes.Buffer
	WriteText(&buf, rep)
	if !strings.Contains(buf.String(), "2 metric(s) judged, 11 not tested") {
		t.Errorf("summary line:\n%s", buf.String())
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
