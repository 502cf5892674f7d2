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
