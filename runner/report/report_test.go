package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/compare/comparetest"
	"github.com/servebench/servebench/runner/results"
)

// scalingRun writes a run of three cells (4, 8, 16 cores), each a sweep of
// three concurrency levels, one after another in time, and loads it.
func scalingRun(t testing.TB, dir string) []compare.Cell {
	t.Helper()
	start := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	for i, cores := range []int{4, 8, 16} {
		var bs []comparetest.Bench
		for j, conc := range []int{1, 4, 8} {
			f := float64(cores) / 4
			bs = append(bs, comparetest.Bench{Seed: uint64(10*i + j), Level: "concurrent-" + strconv.Itoa(conc), Conc: conc, N: 120,
				Cores: cores, TTFTMs: 400 / f * (1 + float64(conc)/8), ITLMs: 60 / f * (1 + float64(conc)/16),
				Start: start.Add(time.Duration(3*i+j) * 10 * time.Minute)})
		}
		if err := comparetest.WriteCell(filepath.Join(dir, "run-1", "c"+strconv.Itoa(cores)), bs...); err != nil {
			t.Fatal(err)
		}
	}
	cells, err := compare.Loader{}.Load(filepath.Join(dir, "run-1"))
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

func wellFormed(t *testing.T, name, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
	}
}

func TestBuildDrawsEveryChartTheDataSupports(t *testing.T) {
	cells := scalingRun(t, t.TempDir())
	r := Build(Input{Title: "scaling run-1", Cells: cells, CoreHourPrice: 0.05, Generated: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)})
	got := map[string]Chart{}
	for _, c := range r.Charts {
		got[c.ID] = c
		wellFormed(t, c.ID, c.SVG)
		if !strings.Contains(c.SVG, `class="series"`) {
			t.Errorf("%s has no series drawn", c.ID)
		}
	}
	for _, id := range []string{
		"peak-output-tokens-s-against-cores", "output-tokens-s-per-core-against-cores",
		"ttft-against-achieved-throughput", "itl-against-achieved-throughput",
		"ttft-cdf-per-level-c4", "e2e-cdf-per-level-c16",
		"ttft-p50-p95-p99-per-level-qwen3-0-6b", "e2e-p50-p95-p99-per-level-qwen3-0-6b",
		"output-tokens-s-over-time-each-cell-from-its-own-start", "requests-in-flight-over-time-each-cell-from-its-own-start",
		"ttft-over-time-median-per-interval-each-cell-from-its-own-start",
	} {
		if _, ok := got[id]; !ok {
			t.Errorf("chart %s missing; have %v", id, keys(got))
		}
	}
	if len(r.Missing) != 0 {
		t.Errorf("nothing should be missing: %+v", r.Missing)
	}
	if len(r.Tables) != 3 || len(r.Tables[0].Rows) != 3 || !strings.Contains(strings.Join(r.Tables[0].Header, "|"), "price per 1M output tokens") {
		t.Errorf("tables: %+v", r.Tables)
	}
	// Tokens/s per core in the table is output tok/s over cores.
	row := r.Tables[0].Rows[0]
	out, _ := strconv.ParseFloat(row[4], 64)
	per, _ := strconv.ParseFloat(row[5], 64)
	if d := out/4 - per; d > 0.01*per || d < -0.01*per {
		t.Errorf("per core %v for %v tok/s on 4 cores", per, out)
	}
}

func TestScalingIdealLine(t *testing.T) {
	ch := LineChart{Title: "t", X: Axis{Zero: true}, Y: Axis{Zero: true}, Series: []Series{{Name: "a", X: []float64{4, 16}, Y: []float64{100, 400}}}}
	svg := ch.SVG("t")
	// y axis 0..400 over plotH pixels: the 400 point sits at the top of the plot.
	pts := regexp.MustCompile(`points="([^"]+)"`).FindStringSubmatch(svg)
	if pts == nil {
		t.Fatalf("no polyline in %s", svg)
	}
	p := strings.Fields(pts[1])
	last := strings.Split(p[len(p)-1], ",")
	if y, _ := strconv.ParseFloat(last[1], 64); y != marginT {
		t.Errorf("top point at y=%v, want %d", y, marginT)
	}
}

func TestMissingChartsAreListed(t *testing.T) {
	dir := t.TempDir()
	if err := comparetest.WriteCell(filepath.Join(dir, "r", "only"), comparetest.Bench{N: 30, NoRequests: true}); err != nil {
		t.Fatal(err)
	}
	cells, _ := compare.Loader{}.Load(filepath.Join(dir, "r"))
	r := Build(Input{Cells: cells})
	var reasons []string
	for _, m := range r.Missing {
		reasons = append(reasons, m.Title+": "+m.Reason)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"two or more core counts", "two or more load levels", "no requests.jsonl"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing list lacks %q:\n%s", want, all)
		}
	}
	// Without samples the CDF comes from the summary's percentiles.
	found := false
	for _, c := range r.Charts {
		found = found || strings.HasSuffix(c.Title, "(from percentiles)")
	}
	if !found {
		t.Error("no percentile-based CDF")
	}
}

// selfContained fails unless the page has no script, fetches nothing
// (no remote or protocol-relative src or href, no @import, no url()) and
// inlines every one of its charts.
func selfContained(t *testing.T, html string, charts int) {
	t.Helper()
	if strings.Contains(html, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(html) || strings.Contains(html, "@import") || strings.Contains(html, "url(") {
		t.Error("the page references something outside itself")
	}
	if n := strings.Count(html, `<svg xmlns="http://www.w3.org/2000/svg" class="chart"`); n != charts {
		t.Errorf("%d inline charts, want %d", n, charts)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	cells := scalingRun(t, t.TempDir())
	r := Build(Input{Title: "a <b> title", Cells: cells})
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	selfContained(t, html, len(r.Charts))
	if !strings.Contains(html, "a &lt;b&gt; title") {
		t.Error("title not escaped")
	}
	paths, err := r.WriteSVGs(filepath.Join(t.TempDir(), "svg"))
	if err != nil || len(paths) != len(r.Charts) {
		t.Fatalf("svgs %v %v", paths, err)
	}
	b, _ := os.ReadFile(paths[0])
	wellFormed(t, paths[0], string(b))
}

func TestEngineChartsFromPrometheus(t *testing.T) {
	start := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		s := strconv.FormatInt(start.Unix(), 10)
		switch {
		case strings.Contains(q, "kv_cache"):
			io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case strings.Contains(q, "by (role)"):
			io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"role":"engine"},"values":[[`+s+`,"3.5"],[`+s+`.5,"3.9"]]},{"metric":{"role":"loadgen"},"values":[[`+s+`,"0.2"],[`+s+`.5,"0.3"]]}]}}`)
		default:
			io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[`+s+`,"1"],[`+s+`.5,"4"]]}]}}`)
		}
	}))
	defer srv.Close()
	charts, missing := Prometheus{URL: srv.URL, Client: srv.Client()}.EngineCharts(t.Context(), start, start.Add(time.Minute))
	if len(charts) != 2 || len(missing) != 1 || missing[0].Title != "KV-cache use over the run" {
		t.Fatalf("charts %d, missing %+v", len(charts), missing)
	}
	if len(charts[0].Series) != 2 || charts[0].Series[1].Name != "waiting" || charts[0].Series[1].Y[1] != 4 || charts[0].Series[1].X[1] != 0.5 {
		t.Errorf("queue series %+v", charts[0].Series)
	}
	if charts[1].Series[0].Name != "role=engine" {
		t.Errorf("cpu series %+v", charts[1].Series)
	}
}

func keys(m map[string]Chart) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRepeatabilityAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	var cells []compare.Cell
	for i := 0; i < 3; i++ {
		run := filepath.Join(dir, "run-"+strconv.Itoa(i))
		if err := comparetest.WriteCell(filepath.Join(run, "cell"), comparetest.Bench{Seed: uint64(i), N: 200, NoRequests: true}); err != nil {
			t.Fatal(err)
		}
		c, err := compare.Loader{}.Load(run)
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, c...)
	}
	r := Build(Input{Cells: cells})
	if len(r.Repeatability) != 1 || len(r.Repeatability[0].Rows) != len(repeatMetrics) {
		t.Fatalf("repeatability %+v", r.Repeatability)
	}
	var rps []float64
	for _, c := range cells {
		rps = append(rps, c.Summary.Benchmarks[0].RequestsPerSecond.Or(0))
	}
	row := r.Repeatability[0].Rows[0]
	sp := analysis.Repeatability(rps)
	if row[1] != "requests/s" || row[2] != "3" || row[4] != fmt.Sprintf("%.2f%%", 100*sp.CV) || row[5] != string(sp.Grade) {
		t.Errorf("row %v, want CV %.2f%% %s", row, 100*sp.CV, sp.Grade)
	}
	// Cells of several runs are told apart by run.
	if !strings.Contains(r.Tables[0].Caption, "run-0/cell") {
		t.Errorf("caption %q", r.Tables[0].Caption)
	}
	if len(r.Tables) != 3 {
		t.Errorf("%d tables", len(r.Tables))
	}
}

func TestCrossValidationTable(t *testing.T) {
	dir := t.TempDir()
	for i, lg := range []string{"native", "guidellm", "proxy"} {
		if err := comparetest.WriteCell(filepath.Join(dir, "run", lg), comparetest.Bench{Seed: uint64(i), N: 50, Loadgen: lg, NoRequests: true}); err != nil {
			t.Fatal(err)
		}
	}
	cells, err := compare.Loader{}.Load(filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	r := Build(Input{Cells: cells})
	if len(r.Cross) != 1 || strings.Join(r.Cross[0].Header, ",") != "metric,guidellm,native,proxy,spread" {
		t.Fatalf("cross tables %+v", r.Cross)
	}
	notes := strings.Join(r.CrossNotes, "\n")
	if !strings.Contains(notes, "guidellm: ITL: per-request average") || !strings.Contains(notes, "proxy: timers start when the request reaches the metering proxy") {
		t.Errorf("notes %s", notes)
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil || !strings.Contains(buf.String(), "Cross-validation") {
		t.Errorf("html: %v", err)
	}
}

// sides writes two configurations' repeats — B's TTFT and ITL 30% higher —
// each run an hour after the previous one, and loads them as sides.
func twoSides(t testing.TB, dir string, runs int) []compare.Side {
	t.Helper()
	start := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	var sides []compare.Side
	for s, slow := range []float64{1, 1.3} {
		side := compare.Side{Label: string(rune('a' + s))}
		for i := range runs {
			run := filepath.Join(dir, fmt.Sprintf("%c-run-%d", 'a'+s, i))
			b := comparetest.Bench{Seed: uint64(10*s + i), N: 300, TTFTMs: 200 * slow, ITLMs: 50 * slow, Start: start.Add(time.Duration(s*runs+i) * time.Hour)}
			if err := comparetest.WriteCell(filepath.Join(run, "cell"), b); err != nil {
				t.Fatal(err)
			}
			cells, err := compare.Loader{}.Load(run)
			if err != nil {
				t.Fatal(err)
			}
			side.Repeats = append(side.Repeats, cells)
		}
		sides = append(sides, side)
	}
	return sides
}

func TestVersusReport(t *testing.T) {
	sides := twoSides(t, t.TempDir(), 3)
	r := Build(Input{Sides: sides, Compare: compare.Options{Iterations: 200, Seed: 1}, Generated: time.Now()})
	if r.Title != "servebench: a vs b" || Title([]compare.Side{{Label: "/r/x/a1/cell,/r/x/a2/cell"}, {Label: "/r/x/b1/cell,/r/x/b2/cell"}}) != "servebench: a1,a2 vs b1,b2" ||
		Title([]compare.Side{{Label: "results/smoke/RUN_A"}, {Label: "results/smoke/RUN_B/"}}) != "servebench: RUN_A vs RUN_B" {
		t.Errorf("title %q", r.Title)
	}
	v := r.Versus
	if v == nil || v.Outcome != compare.OutcomeRegression || len(v.Sides) != 2 || v.Sides[1].Runs != 3 || !strings.Contains(v.Sides[0].Describe, "qwen3-0.6b") {
		t.Fatalf("versus %+v", v)
	}
	regressed := 0
	for _, tb := range v.Tables {
		for _, row := range tb.Rows {
			if row.Class == "regressed" {
				regressed++
			}
		}
	}
	if len(v.Tables) != 1 || regressed == 0 {
		t.Errorf("%d verdict tables, %d regressed rows", len(v.Tables), regressed)
	}
	got := map[string]Chart{}
	for _, c := range r.Charts {
		got[c.ID] = c
		wellFormed(t, c.ID, c.SVG)
	}
	for _, id := range []string{"ttft-cdf-cell-concurrent-4-a-vs-b", "itl-cdf-cell-concurrent-4-a-vs-b", "tpot-cdf-cell-concurrent-4-a-vs-b", "e2e-cdf-cell-concurrent-4-a-vs-b"} {
		c, ok := got[id]
		if !ok {
			t.Errorf("overlay %s missing; have %v", id, keys(got))
			continue
		}
		// Both sides on the same axes, each in its colour, percentiles marked.
		if !strings.Contains(c.SVG, colour(0)) || !strings.Contains(c.SVG, colour(1)) || !strings.Contains(c.SVG, "B p50, p90, p99") {
			t.Errorf("%s does not overlay A and B", id)
		}
	}
	tput, ok := got["output-tokens-s-over-time-cell-each-run-from-its-own-start"]
	if !ok {
		t.Fatalf("per-run throughput missing; have %v", keys(got))
	}
	// Six runs, an hour apart, each from its own start: every line begins
	// at the left of the plot, none an hour along.
	lines := regexp.MustCompile(`<polyline[^>]*points="([0-9.]+),`).FindAllStringSubmatch(tput.SVG, -1)
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6", len(lines))
	}
	for _, l := range lines {
		if x, _ := strconv.ParseFloat(l[1], 64); x > marginL+0.05*plotW {
			t.Errorf("a run's line starts at x=%v, not at its own start", x)
		}
	}
	if _, ok := got["requests-in-flight-over-time-cell-each-run-from-its-own-start"]; !ok {
		t.Error("in-flight chart missing")
	}
	if _, ok := got["send-rate-over-time-cell-each-run-from-its-own-start"]; ok {
		t.Error("a closed loop's send rate is drawn")
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	// One offline file, the overlays inline.
	selfContained(t, html, len(r.Charts))
	for _, want := range []string{"What is compared", "Outcome: regression", `class="outcome outcome-regression"`, `<tr class="regressed">`, "A against B: distributions", "Over each run"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestVersusNotComparable(t *testing.T) {
	dir := t.TempDir()
	for i, model := range []string{"m1", "m2"} {
		if err := comparetest.WriteCell(filepath.Join(dir, model, "cell"), comparetest.Bench{Seed: uint64(i), N: 50, Model: model}); err != nil {
			t.Fatal(err)
		}
	}
	var sides []compare.Side
	for _, model := range []string{"m1", "m2"} {
		cells, _ := compare.Loader{}.Load(filepath.Join(dir, model))
		sides = append(sides, compare.Side{Label: model, Repeats: [][]compare.Cell{cells}})
	}
	r := Build(Input{Sides: sides})
	if r.Versus == nil || !strings.Contains(r.Versus.Err, "configurations differ") || len(r.Versus.Tables) != 0 {
		t.Fatalf("versus %+v", r.Versus)
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil || !strings.Contains(buf.String(), "Not compared: ") {
		t.Errorf("html: %v", err)
	}
}

// Absent figures print "—" in the tables and draw no point: a level without
// a completion inside its window has no place on a latency-against-
// throughput curve, and a p99 withheld for too few samples no point on it.
func TestAbsentFiguresDrawNothing(t *testing.T) {
	lv := func(name string, rps float64, n int) results.Benchmark {
		s := make([]float64, n)
		for i := range s {
			s[i] = 100 + float64(i)
		}
		b := results.Benchmark{Level: name, Valid: true, TTFT: results.NewDist(s), ITL: results.NewDist(s)}
		if rps > 0 {
			b.RequestsPerSecond, b.OutputTokensPerSecond = results.Of(rps), results.Of(100*rps)
		}
		return b
	}
	sum := &results.Summary{Cell: "c", Model: "m", Cores: 2, Benchmarks: []results.Benchmark{
		lv("concurrent-1", 0.5, 150), lv("concurrent-4", 1.5, 40), lv("concurrent-8", 2.5, 200), lv("concurrent-16", 0, 8)}}
	r := Build(Input{Cells: []compare.Cell{{Key: "c", Summary: sum}}, Generated: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)})
	var sweep *Chart
	for i := range r.Charts {
		if r.Charts[i].ID == "ttft-against-achieved-throughput" {
			sweep = &r.Charts[i]
		}
	}
	if sweep == nil {
		t.Fatalf("no sweep chart: %+v", r.Missing)
	}
	// p50: three levels with a rate; p99: the two with 100 samples or more.
	lines := regexp.MustCompile(`points="([^"]+)"`).FindAllStringSubmatch(sweep.SVG, -1)
	if len(lines) != 2 || len(strings.Fields(lines[0][1])) != 3 || len(strings.Fields(lines[1][1])) != 2 {
		t.Errorf("sweep polylines %v, want 3 p50 points and 2 p99 points", lines)
	}
	rows := r.Tables[0].Rows
	col := map[string]int{}
	for i, h := range r.Tables[0].Header {
		col[h] = i
	}
	if rows[1][col["TTFT p99 ms"]] != results.Dash || rows[3][col["req/s"]] != results.Dash || rows[3][col["output tok/s"]] != results.Dash ||
		rows[3][col["tok/s per core"]] != results.Dash || rows[0][col["TTFT p99 ms"]] == results.Dash {
		t.Errorf("rows %q", rows)
	}
}
