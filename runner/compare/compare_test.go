package compare

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
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
		a := writeCell(t, filepath.Join(dir, "a", "run", "cell"), gen{seed: 10 + i, ttftMs: 200, itlMs: 50},
			gen{seed: 20 + i, level: "concurrent-8", conc: 8, ttftMs: 300, itlMs: 60})
		b := writeCell(t, filepath.Join(dir, "b", "run", "cell"), gen{seed: 30 + i, ttftMs: 200, itlMs: 50},
			gen{seed: 40 + i, level: "concurrent-8", conc: 8, ttftMs: 300, itlMs: 60})
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
	a := writeCell(t, filepath.Join(dir, "a", "cell"), gen{seed: 1, n: 600, ttftMs: 200, itlMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), gen{seed: 2, n: 600, ttftMs: 260, itlMs: 60})
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
	a := writeCell(t, filepath.Join(dir, "a", "cell"), gen{seed: 1, n: 2000, ttftMs: 200, itlMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), gen{seed: 2, n: 2000, ttftMs: 202, itlMs: 50.5})
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
	a := writeCell(t, filepath.Join(dir, "a", "cell"), gen{seed: 1, ttftMs: 200, itlMs: 50})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), gen{seed: 2, ttftMs: 200, itlMs: 50, failEvery: 5, invalid: true})
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
	a := writeCell(t, filepath.Join(dir, "a", "cell"), gen{seed: 1, ttftMs: 200, itlMs: 50, noRequests: true})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), gen{seed: 2, ttftMs: 400, itlMs: 100, noRequests: true})
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
		as = append(as, writeCell(t, filepath.Join(dir, "a", string(rune('0'+i)), "cell"), gen{seed: 100 + i, ttftMs: 200, itlMs: 50, noRequests: true}))
		bs = append(bs, writeCell(t, filepath.Join(dir, "b", string(rune('0'+i)), "cell"), gen{seed: 200 + i, ttftMs: 200, itlMs: 50, noRequests: true}))
		cs = append(cs, writeCell(t, filepath.Join(dir, "c", string(rune('0'+i)), "cell"), gen{seed: 300 + i, ttftMs: 280, itlMs: 65, noRequests: true}))
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
	a := writeCell(t, filepath.Join(dir, "a", "cell"), gen{seed: 1, ttftMs: 200, itlMs: 50, manifestCPU: "Xeon 8480"})
	b := writeCell(t, filepath.Join(dir, "b", "cell"), gen{seed: 2, ttftMs: 200, itlMs: 50, manifestCPU: "EPYC 9654"})
	_, err := Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "host.cpu_model Xeon 8480 vs EPYC 9654") {
		t.Fatalf("err = %v, want a cpu_model mismatch", err)
	}
	c := writeCell(t, filepath.Join(dir, "c", "cell"), gen{seed: 2, ttftMs: 200, itlMs: 50, model: "llama-3.2-1b", manifestCPU: "Xeon 8480"})
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
	writeCell(t, filepath.Join(dir, "a", "c4"), gen{seed: 1, ttftMs: 200, itlMs: 50, cores: 4})
	writeCell(t, filepath.Join(dir, "a", "c8"), gen{seed: 2, ttftMs: 100, itlMs: 25})
	writeCell(t, filepath.Join(dir, "b", "c4"), gen{seed: 3, ttftMs: 200, itlMs: 50, cores: 4})
	writeCell(t, filepath.Join(dir, "b", "c16"), gen{seed: 4, ttftMs: 50, itlMs: 12, cores: 16})
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
		p := writeCell(t, filepath.Join(dir, "x"), gen{seed: 1, n: 40, levelInLines: labelled, ttftMs: 10, itlMs: 1},
			gen{seed: 2, n: 60, level: "concurrent-8", levelInLines: labelled, ttftMs: 10, itlMs: 1})
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
