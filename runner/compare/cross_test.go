package compare

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/results"
)

func TestCross(t *testing.T) {
	dir := t.TempDir()
	var cells []Cell
	for i, lg := range []string{"native", "guidellm", "vllm-bench"} {
		p := writeCell(t, filepath.Join(dir, lg), bench{Seed: uint64(i), Loadgen: lg, TTFTMs: 200 + 10*float64(i), ITLMs: 50, NoRequests: true})
		c, err := Loader{}.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, c...)
	}
	tables, err := Cross(cells, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || strings.Join(tables[0].Columns, ",") != "native,guidellm,vllm-bench" {
		t.Fatalf("tables %+v", tables)
	}
	var ttft *CrossRow
	for i := range tables[0].Rows {
		if tables[0].Rows[i].Metric == "ttft_p50" {
			ttft = &tables[0].Rows[i]
		}
	}
	if ttft == nil || ttft.Spread == nil || results.Of(*ttft.Values[0]) != cells[0].Summary.Benchmarks[0].TTFT.P50 {
		t.Fatalf("ttft row %+v", ttft)
	}
	want := (maxOf(ttft.Values) - minOf(ttft.Values)) / minOf(ttft.Values)
	if d := *ttft.Spread - want; d > 1e-12 || d < -1e-12 {
		t.Errorf("spread %v, want %v", *ttft.Spread, want)
	}
	var buf bytes.Buffer
	if err := WriteCrossText(&buf, tables); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"guidellm: ITL: per-request average", "vllm-bench: timers start after the --max-concurrency semaphore", "native: timers start at the scheduled send"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("definitions lack %q:\n%s", s, buf.String())
		}
	}

	other := writeCell(t, filepath.Join(dir, "other"), bench{Seed: 9, Model: "llama", Loadgen: "guidellm", TTFTMs: 200, ITLMs: 50, NoRequests: true})
	oc, _ := Loader{}.Load(other)
	if _, err := Cross([]Cell{cells[0], oc[0]}, false); !errors.Is(err, ErrMismatch) {
		t.Errorf("different Model: err %v, want ErrMismatch", err)
	}
}

func maxOf(v []*float64) float64 {
	m := *v[0]
	for _, x := range v {
		m = max(m, *x)
	}
	return m
}

func minOf(v []*float64) float64 {
	m := *v[0]
	for _, x := range v {
		m = min(m, *x)
	}
	return m
}
