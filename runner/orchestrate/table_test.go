package orchestrate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

// A run whose levels carry long invalid reasons prints every line within
// TableWidth, the reasons as footnotes, the cells sorted by cores as
// numbers, and says why a p99 is absent and what gives one.
func TestWriteTableFitsAndExplains(t *testing.T) {
	st := store.New(t.TempDir(), nil)
	ids := []string{"TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_16c", "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_32c", "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_8c"}
	var cells []store.CellState
	for _, id := range ids {
		cells = append(cells, store.CellState{ID: id})
	}
	run, err := st.Create("smoke", "20261206-220000-cafe", cells, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := "no successful request; window shorter than one request: no request completed inside the 2 s window; 64 requests were cut unfinished; no output token arrived inside it"
	for i, id := range ids {
		cw, err := run.Cell(id)
		if err != nil {
			t.Fatal(err)
		}
		cores := []int{16, 32, 8}[i]
		cw.WriteSummary(&results.Summary{Cell: id, Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", Workload: "chat_lite", Cores: cores, Benchmarks: []results.Benchmark{
			{Level: "concurrent-1", RequestsPerSecond: results.Of(0.5), TTFT: results.Dist{P50: results.Of(80)}, Requests: results.Requests{Successful: 4},
				InvalidReasons: []string{"too few samples: 4 TTFT samples, p99 needs 100"}},
			{Level: "throughput-64", Requests: results.Requests{Incomplete: 64}, InvalidReasons: []string{long}},
		}})
		cw.Close()
	}
	run.WriteJSON("suite-summary.json", Report{Scaling: []ScalingRow{
		{Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", Workload: "chat_lite", Cores: 32, Levels: 2, Invalid: "no valid level of 2: " + long + "; " + long},
		{Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", Workload: "chat_lite", Cores: 8, Levels: 2, Invalid: "no valid level of 2: " + long},
	}})
	run.Close(store.StatusComplete)

	var b bytes.Buffer
	if err := WriteTable(&b, run.Dir); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for i, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > TableWidth {
			t.Errorf("line %d is %d columns wide:\n%s", i+1, n, l)
		}
	}
	i8, i16, i32 := strings.Index(out, "_8c\n"), strings.Index(out, "_16c\n"), strings.Index(out, "_32c\n")
	if !(i8 >= 0 && i8 < i16 && i16 < i32) {
		t.Errorf("cells not sorted by cores as numbers (8c at %d, 16c at %d, 32c at %d):\n%s", i8, i16, i32, out)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"throughput-64 — — — — — 0/64 no [2]", "[2] TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_8c throughput-64: no successful request;",
		"A p99 needs 100 samples", "Smoke levels are short by design", "--max-seconds 220 gives every level a p99",
		"8 0/2 — — — — — [1] 32 0/2 — — — — — [2]"} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAbsentP99Note(t *testing.T) {
	all := []*results.Summary{{Benchmarks: []results.Benchmark{{Level: "a", TTFT: results.Dist{P99: results.Of(300)}, Requests: results.Requests{Successful: 200}}}}}
	if n := absentP99(all, "smoke"); n != "" {
		t.Errorf("every p99 present, yet a note: %q", n)
	}
	failed := []*results.Summary{{Benchmarks: []results.Benchmark{{Level: "a", Requests: results.Requests{Failed: 3}}}}}
	if n := absentP99(failed, "scaling"); n != "" {
		t.Errorf("no successful request (its own reason), yet a p99 note: %q", n)
	}
}

// Levels a third-party tool drove: the tool's report beside the proxy's
// records, figure by figure, with the verdict.
func TestWriteTableCrossCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.json")
	cc := &results.CrossCheck{Tool: "wrk", Against: "proxy", Rows: []results.CrossCheckRow{
		{Figure: "requests", Tool: 8, Proxy: 10, Tolerance: "±2 (2 in flight when the tool stopped)", Agree: true},
		{Figure: "requests_per_second", Tool: 3.8166391, Proxy: 5.1, Tolerance: "10% or 2 requests over 2.1s", Agree: false},
	}}
	s := results.Summary{Cell: "c", Benchmarks: []results.Benchmark{
		{Level: "concurrent-2", Source: "proxy", CrossCheck: cc, Requests: results.Requests{Successful: 8}},
		{Level: "concurrent-4", Requests: results.Requests{Successful: 8}},
	}}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteTable(&out, path); err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"cross-check (each tool's report against the metering proxy",
		"concurrent-2 proxy requests 8 10 ±2 (2 in flight when the tool stopped) yes",
		"concurrent-2 proxy requests_per_second 3.817 5.1 10% or 2 requests over 2.1s NO"} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(flat, "concurrent-4 -") {
		t.Errorf("a level without a cross-check has a row:\n%s", out.String())
	}
}
