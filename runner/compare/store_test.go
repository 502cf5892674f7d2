package compare

import (
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

// storeRun writes a run through runner/store, as runner start does: every
// level's records in one requests.jsonl tagged with their level, a summary
// and a manifest.
func storeRun(t *testing.T, root, runID, cpu string) string {
	t.Helper()
	st := store.New(root, nil)
	run, err := st.Create("smoke", runID, []store.CellState{{ID: "m_chat_8c"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw, err := run.Cell("m_chat_8c")
	if err != nil {
		t.Fatal(err)
	}
	sum := &results.Summary{RunID: runID, Suite: "smoke", Cell: "m_chat_8c", Model: "qwen3-0.6b", Workload: "chat", Cores: 8, Loadgen: "native"}
	for _, b := range []bench{{Seed: 1, N: 30, Level: "concurrent-1", Conc: 1}, {Seed: 2, N: 50, Level: "concurrent-8", Conc: 8}} {
		b.Seed += uint64(len(runID) * 10)
		recs := b.Records()
		for j := range recs {
			cw.Record(b.Level, &recs[j])
		}
		sum.Benchmarks = append(sum.Benchmarks, b.Benchmark(recs))
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cw.WriteSummary(sum); err != nil {
		t.Fatal(err)
	}
	if err := cw.WriteManifest(&store.Manifest{RunID: runID, Cell: "m_chat_8c", Host: store.Host{CPUModel: cpu, CPUs: 16}}); err != nil {
		t.Fatal(err)
	}
	return run.Dir
}

func TestReadsTheStoreLayout(t *testing.T) {
	root := t.TempDir()
	a := storeRun(t, root, "r1", "Xeon 8480")
	cells, err := Loader{}.Load(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 1 || cells[0].Key != "m_chat_8c" {
		t.Fatalf("cells %+v", cells)
	}
	by := cells[0].ByLevel()
	if len(by["concurrent-1"]) != 30 || len(by["concurrent-8"]) != 50 {
		t.Errorf("levels from the records: %d/%d, want 30/50", len(by["concurrent-1"]), len(by["concurrent-8"]))
	}
	b := storeRun(t, root, "r2", "EPYC 9654")
	_, err = Compare([]Side{load(t, a), load(t, b)}, testOpts)
	if err == nil || !strings.Contains(err.Error(), "host.cpu_model Xeon 8480 vs EPYC 9654") {
		t.Errorf("different CPUs in the store's manifests: %v", err)
	}
}
