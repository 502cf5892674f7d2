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
		"achieved-send-rate-over-the-run", "ttft-over-the-run-median-per-interval",
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

func TestHTMLIsSelfContained(t *testing.T) {
	cells := scalingRun(t, t.TempDir())
	r := Build(Input{Title: "a <b> title", Cells: cells})
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if strings.Contains(html, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(html) || strings.Contains(html, "@import") || strings.Contains(html, "url(") {
		t.Error("the page references something outside itself")
	}
	if n := strings.Count(html, `<svg xmlns="http://www.w3.org/2000/svg" class="chart"`); n != len(r.Charts) {
		t.Errorf("%d inline charts, want %d", n, len(r.Charts))
	}
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
		rps = append(rps, c.Summary.Benchmarks[0].RequestsPerSecond)
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
