package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

func TestResultsTable(t *testing.T) {
	root := t.TempDir()
	st := store.New(root, nil)
	run, err := st.Create("smoke", "20261127-040000-beef", []store.CellState{{ID: "m_chat_8c"}, {ID: "m_rag_8c"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw, _ := run.Cell("m_chat_8c")
	cw.WriteSummary(&results.Summary{Cell: "m_chat_8c", Benchmarks: []results.Benchmark{
		{Level: "concurrent-4", RequestsPerSecond: 2.5, OutputTokensPerSecond: 320, TTFT: results.Dist{P50: 120, P99: 300}, TPOT: results.Dist{P50: 21.5},
			Requests: results.Requests{Successful: 9, Failed: 1}, Valid: false, InvalidReasons: []string{"too few samples"}},
	}})
	cw.Close()
	run.SetCell("m_chat_8c", store.CellDone, nil)
	run.Close(store.StatusIncomplete)

	for _, args := range [][]string{{"results", "--results", root}, {"results", "--results", root, "--last"}, {"results", run.Dir}, {"results", filepath.Join(run.Dir, "m_chat_8c", "summary.json")}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		for _, want := range []string{"concurrent-4", "2.50", "320.0", "120.0", "300.0", "21.50", "9/10", "no: too few samples"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	code, out, _ := runCLI(t, nil, "results", "--results", root, "--list")
	if code != 0 || !strings.Contains(out, "20261127-040000-beef  smoke  incomplete  1/2") {
		t.Errorf("--list: %d\n%s", code, out)
	}
	code, _, errOut := runCLI(t, nil, "results", "--results", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "no last run") {
		t.Errorf("no runs: exit %d %s", code, errOut)
	}
}
