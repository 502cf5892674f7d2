package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/orchestrate"
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
		{Level: "concurrent-4", RequestsPerSecond: results.Of(2.5), OutputTokensPerSecond: results.Of(320), TTFT: results.Dist{P50: results.Of(120), P99: results.Of(300)}, TPOT: results.Dist{P50: results.Of(21.5)},
			Requests: results.Requests{Successful: 9, Failed: 1}, Valid: false, InvalidReasons: []string{"too few samples"}},
		// Nothing completed inside the window: no req/s, no p99, no TPOT.
		{Level: "concurrent-8", OutputTokensPerSecond: results.Of(1), TTFT: results.Dist{P50: results.Of(2635), Count: 8},
			Requests: results.Requests{Successful: 8}, InvalidReasons: []string{"window shorter than one request"}},
	}})
	cw.Close()
	run.WriteJSON("suite-summary.json", orchestrate.Report{Scaling: []orchestrate.ScalingRow{
		{Model: "m", Workload: "chat", Cores: 1, Levels: 2, ValidLevels: 0, Invalid: "no valid level of 2: ..."},
		{Model: "m", Workload: "chat", Cores: 2, Levels: 2, ValidLevels: 2, MaxOutputTokensPerSecond: results.Of(90), MaxRequestsPerSecond: results.Of(0.7),
			OutputTokensPerSecondCore: results.Of(45), BaseCores: 2, Speedup: results.Of(1), Efficiency: results.Of(1)},
		{Model: "m", Workload: "chat", Cores: 4, Levels: 1, ValidLevels: 1, MaxOutputTokensPerSecond: results.Of(900), BaseCores: 2, Anomaly: "speedup 10.00 ..."},
	}})
	run.SetCell("m_chat_8c", store.CellDone, nil)
	run.Close(store.StatusIncomplete)

	for _, args := range [][]string{{"results", "--results", root}, {"results", "--results", root, "--last"}, {"results", run.Dir}, {"results", filepath.Join(run.Dir, "m_chat_8c", "summary.json")}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		wants := []string{"m_chat_8c concurrent-4 2.50 320.0 120.0 300.0 21.50 9/10 no [1]", "[1] m_chat_8c concurrent-4: too few samples",
			"concurrent-8 — 1.0 2635.0 — — 8/8 no [2]", "[2] m_chat_8c concurrent-8: window shorter than one request"}
		if args[len(args)-1] != filepath.Join(run.Dir, "m_chat_8c", "summary.json") {
			wants = append(wants, "model m, workload chat 1 0/2 — — — — — [1]", "2 2/2 0.70 90.0 45.0 1.00 1.00 4 1/1 — 900.0 — — — [2]",
				"[1] m chat 1 cores: no valid level of 2: ...", "[2] m chat 4 cores: ANOMALY: speedup 10.00 ...")
		}
		flat := strings.Join(strings.Fields(out), " ") // columns aligned by tabwriter
		for _, want := range wants {
			if !strings.Contains(flat, want) {
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
