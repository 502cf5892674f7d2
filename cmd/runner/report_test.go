package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/compare/comparetest"
	"github.com/servebench/servebench/runner/store"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run-7")
	for i, cores := range []int{4, 8} {
		writeSynthetic(t, filepath.Join(run, "c"+string(rune('a'+i))), comparetest.Bench{Seed: uint64(i), N: 40, Cores: cores},
			comparetest.Bench{Seed: uint64(i + 10), N: 40, Cores: cores, Level: "concurrent-8", Conc: 8})
	}
	svgs := filepath.Join(dir, "svg")
	code, out, errs := runCLI(t, nil, "report", "--svg-dir", svgs, "--core-hour-price", "0.1", run)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(run, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(svgs, "*.svg"))
	if !strings.Contains(string(b), `class="chart"`) || len(files) == 0 || !strings.Contains(out, "SVG files") ||
		!strings.Contains(string(b), "give --prometheus URL") {
		t.Errorf("out %q, %d svg files", out, len(files))
	}
	if code, _, _ := runCLI(t, nil, "report", filepath.Join(dir, "nothing")); code != exitUsage {
		t.Errorf("missing run: exit %d, want 2", code)
	}
	if code, _, errs := runCLI(t, nil, "report", "--results", filepath.Join(dir, "empty")); code != exitUsage || !strings.Contains(errs, "no last run") {
		t.Errorf("no run at all: exit %d: %s", code, errs)
	}
}

func TestReportLastRun(t *testing.T) {
	root := t.TempDir()
	run, err := store.New(root, nil).Create("smoke", "20261127-000000-abcd", []store.CellState{{ID: "c"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeSynthetic(t, filepath.Join(run.Dir, "c"), comparetest.Bench{Seed: 1, N: 20})
	code, out, errs := runCLI(t, nil, "report", "--results", root)
	if code != exitOK || !strings.Contains(out, filepath.Join(run.Dir, "report.html")) {
		t.Errorf("exit %d: %s%s", code, out, errs)
	}
}

// TestReportAgainst: two inputs of repeats make an A-vs-B page with the
// verdicts; --pdf without a browser says which it looked for, before
// drawing anything.
func TestReportAgainst(t *testing.T) {
	dir := t.TempDir()
	a := repeats(t, filepath.Join(dir, "a"), 3, comparetest.Bench{Seed: 1, N: 800})
	b := repeats(t, filepath.Join(dir, "b"), 3, comparetest.Bench{Seed: 2, N: 800, TTFTMs: 300, ITLMs: 65})
	page := filepath.Join(dir, "ab.html")
	code, out, errs := runCLI(t, nil, "report", "--output", page, a, b)
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<title>servebench: a/a-0,a/a-1,a/a-2 vs b/b-0,b/b-1,b/b-2</title>", "Outcome: regression", "ttft-cdf-cell-concurrent-4-a-vs-b"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	t.Setenv("PATH", t.TempDir())
	code, _, errs = runCLI(t, nil, "report", "--pdf", "--output", filepath.Join(dir, "x.html"), a, b)
	if code != exitFailure || !strings.Contains(errs, "none of chromium, chromium-browser") {
		t.Errorf("--pdf without a browser: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.html")); err == nil {
		t.Error("a page was written although --pdf could not be honoured")
	}
}
