package backfill

import (
	"bytes"
	"context"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/compare/comparetest"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/results/resultstest"
)

// fv is a figure the test expects present.
var fv = resultstest.Must

type recorderSummary = recorder.BenchmarkSummary

// cellAt writes a synthetic cell of run runID starting at start and loads it.
func cellAt(t testing.TB, dir, runID string, start time.Time, bs ...comparetest.Bench) compare.Cell {
	t.Helper()
	for i := range bs {
		bs[i].Start = start
	}
	p := filepath.Join(dir, runID, "cell")
	if err := comparetest.WriteCell(p, bs...); err != nil {
		t.Fatal(err)
	}
	cells, err := compare.Loader{}.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cells[0]
}

// summaries are the cells' benchmark summaries, each dated by its records.
func summaries(t testing.TB, cells ...compare.Cell) []recorderSummary {
	t.Helper()
	var all []recorderSummary
	for _, c := range cells {
		fin, err := FinishTimes(c, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Summaries(c.Summary, fin)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s...)
	}
	return all
}

// families is the cells' summaries as Prometheus text.
func families(t testing.TB, cells ...compare.Cell) []byte {
	t.Helper()
	fams, err := Families(summaries(t, cells...))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePrometheusText(&buf, fams); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTextHasMillisecondTimestampsAndTheSummaryValues(t *testing.T) {
	start := time.Date(2026, 10, 3, 4, 5, 6, 0, time.UTC)
	c := cellAt(t, t.TempDir(), "r1", start, comparetest.Bench{Seed: 1, N: 50})
	text := families(t, c)
	fin, _ := FinishTimes(c, time.Time{})
	b := c.Summary.Benchmarks[0]
	ms := strconv.FormatInt(fin[b.Level].UnixMilli(), 10)

	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	rps := fams["servebench_benchmark_requests_per_second"]
	if rps == nil || len(rps.Metric) != 1 {
		t.Fatalf("requests_per_second family: %v\n%s", rps, text)
	}
	m := rps.Metric[0]
	if m.GetGauge().GetValue() != fv(b.RequestsPerSecond) || strconv.FormatInt(m.GetTimestampMs(), 10) != ms {
		t.Errorf("sample %v @%d, want %v @%s", m.GetGauge().GetValue(), m.GetTimestampMs(), b.RequestsPerSecond, ms)
	}
	want := map[string]string{"run_id": "r1", "suite": "test", "model": "qwen3-0.6b", "workload": "chat", "cores": "8", "loadgen": "native", "level": "concurrent-4"}
	for _, l := range m.Label {
		if want[l.GetName()] != l.GetValue() {
			t.Errorf("label %s=%q, want %q", l.GetName(), l.GetValue(), want[l.GetName()])
		}
	}
	// Each latency distribution is one summary: p50/p95/p99, _count the
	// distribution's samples, _sum its mean times its count.
	for name, d := range map[string]results.Dist{
		"servebench_benchmark_ttft_seconds": b.TTFT, "servebench_benchmark_itl_seconds": b.ITL,
		"servebench_benchmark_tpot_seconds": b.TPOT, "servebench_benchmark_e2e_seconds": b.E2E,
	} {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_SUMMARY || len(f.Metric) != 1 {
			t.Fatalf("%s: want one summary, got %v", name, f)
		}
		sm := f.Metric[0].GetSummary()
		if d.Count == 0 || sm.GetSampleCount() != uint64(d.Count) || math.Abs(sm.GetSampleSum()-fv(d.Mean)*float64(d.Count)/1e3) > 1e-9 {
			t.Errorf("%s: count %d sum %g, want %d and %g", name, sm.GetSampleCount(), sm.GetSampleSum(), d.Count, fv(d.Mean)*float64(d.Count)/1e3)
		}
		// A percentile withheld for too few samples has no sample.
		want := map[float64]float64{}
		for q, f := range map[float64]results.Figure{0.5: d.P50, 0.95: d.P95, 0.99: d.P99} {
			if v, ok := f.Get(); ok {
				want[q] = v / 1e3
			}
		}
		if len(sm.Quantile) != len(want) {
			t.Errorf("%s: %d quantiles, want %d", name, len(sm.Quantile), len(want))
		}
		for _, q := range sm.Quantile {
			if w, ok := want[q.GetQuantile()]; !ok || q.GetValue() != w {
				t.Errorf("%s: quantile %g = %g, want %g", name, q.GetQuantile(), q.GetValue(), w)
			}
		}
		if strconv.FormatInt(f.Metric[0].GetTimestampMs(), 10) != ms {
			t.Errorf("%s: timestamp %d, want %s", name, f.Metric[0].GetTimestampMs(), ms)
		}
	}
	if b.ITL.Count <= b.TTFT.Count {
		t.Errorf("fixture: ITL has %d samples, TTFT %d; want one per gap, more than one per request", b.ITL.Count, b.TTFT.Count)
	}
	if !strings.Contains(string(text), `servebench_benchmark_info{`) || !strings.Contains(string(text), `run_id="r1"`) {
		t.Errorf("no info series:\n%s", text)
	}
	if !strings.Contains(string(text), `servebench_benchmark_output_tokens_per_second_per_core{`) {
		t.Errorf("no per-core series")
	}
}

func TestOpenMetricsSecondsAndEOF(t *testing.T) {
	start := time.Date(2026, 10, 3, 4, 5, 6, 0, time.UTC)
	dir := t.TempDir()
	// 120 requests each: enough for a p99, so every quantile has its line.
	c1 := cellAt(t, dir, "r1", start, comparetest.Bench{Seed: 1, N: 120})
	c2 := cellAt(t, dir, "r2", start.Add(24*time.Hour), comparetest.Bench{Seed: 2, N: 120})
	fams, err := Families(summaries(t, c2, c1)) // out of order on purpose
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteOpenMetrics(&buf, fams); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasSuffix(out, "# EOF\n") {
		t.Errorf("no # EOF terminator")
	}
	// Two runs of one configuration: one series, two samples, older first.
	var stamps []float64
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "servebench_benchmark_requests_per_second{") {
			f := strings.Fields(line)
			ts, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			stamps = append(stamps, ts)
		}
	}
	if len(stamps) != 2 || stamps[0] >= stamps[1] || stamps[0] < 1.7e9 || stamps[0] > 2e9 {
		t.Errorf("timestamps %v: want two ascending Unix seconds", stamps)
	}
	if strings.Count(out, "# TYPE servebench_benchmark_requests_per_second ") != 1 {
		t.Error("family split in two")
	}
	if !strings.Contains(out, "# TYPE servebench_benchmark_ttft_seconds summary\n") {
		t.Error("ttft is not an OpenMetrics summary")
	}
	// A summary's points: each run's quantiles, _sum and _count together,
	// runs in time order, as OpenMetrics requires of one series.
	var names []string
	var stamps2 []float64
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "servebench_benchmark_e2e_seconds") {
			f := strings.Fields(line)
			name, _, _ := strings.Cut(f[0], "{")
			ts, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			names, stamps2 = append(names, name), append(stamps2, ts)
		}
	}
	base := "servebench_benchmark_e2e_seconds"
	point := []string{base, base, base, base + "_sum", base + "_count"}
	if !slices.Equal(names, append(point, point...)) || slices.Min(stamps2[:5]) != slices.Max(stamps2[:5]) ||
		slices.Min(stamps2[5:]) != slices.Max(stamps2[5:]) || stamps2[0] >= stamps2[5] {
		t.Errorf("e2e summary lines out of order: %v %v", names, stamps2)
	}
}

func TestFinishTimeErrors(t *testing.T) {
	dir := t.TempDir()
	if err := comparetest.WriteCell(filepath.Join(dir, "r", "c"), comparetest.Bench{N: 10, NoRequests: true}); err != nil {
		t.Fatal(err)
	}
	cells, _ := compare.Loader{}.Load(filepath.Join(dir, "r", "c"))
	if _, err := FinishTimes(cells[0], time.Time{}); err == nil || !strings.Contains(err.Error(), "level concurrent-4 has no finish time") {
		t.Errorf("err = %v", err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fin, err := FinishTimes(cells[0], at)
	if err != nil || !fin["concurrent-4"].Equal(at) {
		t.Errorf("fallback: %v %v", fin, err)
	}
	// A level's own end, as its source states it, dates it before any
	// fallback.
	own := at.Add(-time.Hour)
	cells[0].Summary.Benchmarks[0].EndedAt = &own
	if fin, err := FinishTimes(cells[0], at); err != nil || !fin["concurrent-4"].Equal(own) {
		t.Errorf("ended_at: %v %v", fin, err)
	}
	// A millisecond count taken for seconds.
	bad := map[string]time.Time{"concurrent-4": time.Unix(at.UnixMilli(), 0)}
	if _, err := Summaries(cells[0].Summary, bad); err == nil || !strings.Contains(err.Error(), "implausible") {
		t.Errorf("implausible time: %v", err)
	}
}

// A VictoriaMetrics that accepts the connection and never answers fails the
// import within its timeout, naming the request.
func TestVictoriaMetricsSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // holds every connection, answers none
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer func() { ln.Close(); <-done }()
	begin := time.Now()
	err = VictoriaMetrics{URL: "http://" + ln.Addr().String(), Timeout: 300 * time.Millisecond}.Import(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "/api/v1/import/prometheus: no answer within 300ms") {
		t.Errorf("import = %v", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
