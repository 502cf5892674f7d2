package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
)

// Two cells, the second with two engine instances: the queue chart sums
// instances, the KV-cache chart takes the highest, both on one time axis.
func TestEngineFileCharts(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	write := func(cell string, lines ...string) compare.Cell {
		d := filepath.Join(dir, cell)
		os.MkdirAll(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, results.EngineMetricsFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return compare.Cell{Path: filepath.Join(d, "summary.json"), Key: cell, Summary: &results.Summary{Cell: cell}}
	}
	line := func(sec, inst int, running, waiting, kv float64) string {
		return fmt.Sprintf(`{"time":%q,"instance":%d,"metrics":{"vllm:num_requests_running":%g,"vllm:num_requests_waiting":%g,"vllm:kv_cache_usage_perc":%g}}`,
			t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), inst, running, waiting, kv)
	}
	cells := []compare.Cell{
		write("a", line(0, 1, 1, 0, 0.1), line(1, 1, 2, 3, 0.2)),
		write("b", line(5, 1, 4, 1, 0.5), line(5, 2, 3, 2, 0.25), `{"time":"2026-11-27T04:00:06Z","instance":1,"error":"refused"}`),
		{Path: filepath.Join(dir, "none", "summary.json"), Summary: &results.Summary{Cell: "none"}},
	}
	charts, ok, err := EngineFileCharts(cells)
	if err != nil || !ok || len(charts) != 2 {
		t.Fatalf("charts %d, ok %v, err %v", len(charts), ok, err)
	}
	q, kv := charts[0], charts[1]
	if q.Title != "Engine queue over the run" || kv.Title != "KV-cache use over the run" {
		t.Fatalf("titles %q %q", q.Title, kv.Title)
	}
	want := map[string][]float64{"running": {1, 2, 7}, "waiting": {0, 3, 3}}
	for _, s := range q.Series {
		if fmt.Sprint(s.Y) != fmt.Sprint(want[s.Name]) {
			t.Errorf("%s: %v, want %v", s.Name, s.Y, want[s.Name])
		}
		if fmt.Sprint(s.X) != "[0.5 1.5 5.5]" {
			t.Errorf("%s x: %v", s.Name, s.X)
		}
	}
	if len(kv.Series) != 1 || fmt.Sprint(kv.Series[0].Y) != "[10 20 50]" {
		t.Errorf("kv-cache %+v", kv.Series)
	}

	if _, ok, err := EngineFileCharts(cells[2:]); ok || err != nil {
		t.Errorf("no files: ok %v err %v", ok, err)
	}
	bad := write("bad", "{not json")
	if _, _, err := EngineFileCharts([]compare.Cell{bad}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad file: %v", err)
	}
}
