package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/servebench/servebench/exporter/contract"
)

var update = flag.Bool("update", false, "rewrite the golden dashboard JSON in deploy/grafana/dashboards")

const goldenDir = "../deploy/grafana/dashboards"

// The checked-in JSON is what the builders produce; -update rewrites it.
func TestGolden(t *testing.T) {
	for _, b := range All() {
		t.Run(b.Slug, func(t *testing.T) {
			got, err := b.JSON()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(goldenDir, b.Slug+".json")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./dashboards -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the builder's output (go test ./dashboards -run TestGolden -update)", path)
			}
			again, _ := b.JSON()
			if !bytes.Equal(got, again) {
				t.Error("two renders differ")
			}
		})
	}
}

// The JSON must load back into the SDK's types (what Grafana's schema says).
func TestRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, b := range All() {
		js, err := b.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard.Dashboard
		if err := json.Unmarshal(js, &d); err != nil {
			t.Fatalf("%s: %v", b.Slug, err)
		}
		if d.Uid == nil || *d.Uid != "servebench-"+b.Slug {
			t.Errorf("%s: uid %v", b.Slug, d.Uid)
		}
	}
}

func built(t *testing.T) map[string]dashboard.Dashboard {
	t.Helper()
	out := map[string]dashboard.Dashboard{}
	for _, b := range All() {
		d, err := b.Dashboard()
		if err != nil {
			t.Fatal(err)
		}
		out[b.Slug] = d
	}
	return out
}

// Every line of panels fills exactly 24 columns: no gaps, no overflow.
func TestPanelsTile(t *testing.T) {
	for slug, d := range built(t) {
		lines := map[uint32]uint32{} // y -> summed width
		panels := 0
		for _, p := range d.Panels {
			if p.Panel == nil {
				continue
			}
			panels++
			g := p.Panel.GridPos
			if g == nil {
				t.Fatalf("%s: panel %q has no gridPos", slug, deref(p.Panel.Title))
			}
			if g.X+g.W > gridWidth {
				t.Errorf("%s: panel %q overflows: x=%d w=%d", slug, deref(p.Panel.Title), g.X, g.W)
			}
			lines[g.Y] += g.W
		}
		if panels == 0 {
			t.Errorf("%s: no panels", slug)
		}
		for y, w := range lines {
			if w != gridWidth {
				t.Errorf("%s: the line at y=%d is %d columns wide, want %d", slug, y, w, gridWidth)
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// walk visits every JSON object in v.
func walk(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, c := range x {
			walk(c, f)
		}
	case []any:
		for _, c := range x {
			walk(c, f)
		}
	}
}

func generic(t *testing.T, b Board) map[string]any {
	t.Helper()
	js, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// No datasource UID is hard-coded: every reference is the $datasource variable.
func TestDatasourceIsVariable(t *testing.T) {
	for _, b := range All() {
		refs := 0
		walk(generic(t, b), func(o map[string]any) {
			d, ok := o["datasource"].(map[string]any)
			if !ok {
				return
			}
			refs++
			if d["uid"] != "${datasource}" || d["type"] != "prometheus" {
				t.Errorf("%s: datasource %v", b.Slug, d)
			}
		})
		if refs == 0 {
			t.Errorf("%s: no datasource references", b.Slug)
		}
	}
}

// Every panel has a unit, a title, a description and at least one query.
func TestPanelsComplete(t *testing.T) {
	for slug, d := range built(t) {
		for _, p := range d.Panels {
			if p.Panel == nil {
				continue
			}
			title := deref(p.Panel.Title)
			if title == "" || deref(p.Panel.Description) == "" {
				t.Errorf("%s: panel %q lacks a title or description", slug, title)
			}
			if p.Panel.FieldConfig == nil || deref(p.Panel.FieldConfig.Defaults.Unit) == "" {
				t.Errorf("%s: panel %q has no unit", slug, title)
			}
			if len(p.Panel.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", slug, title)
			}
		}
	}
}

func TestVariables(t *testing.T) {
	for slug, d := range built(t) {
		var names []string
		for _, v := range d.Templating.List {
			names = append(names, v.Name)
		}
		want := []string{"datasource", varSuite, varModel, varWorkload, varCores}
		if slug == "compare" {
			want = append(want, varRunA, varRunB)
		} else {
			want = append(want, varRun)
		}
		for _, w := range want {
			if !slices.Contains(names, w) {
				t.Errorf("%s: variable %s missing (have %v)", slug, w, names)
			}
		}
		if names[0] != "datasource" || d.Templating.List[0].Type != dashboard.VariableTypeDatasource {
			t.Errorf("%s: the first variable must be the datasource, have %v", slug, names)
		}
	}
}

// Boards over live data mark runs; boards over summaries mark finished
// benchmarks.
func TestAnnotations(t *testing.T) {
	for slug, d := range built(t) {
		var exprs []string
		for _, a := range d.Annotations.List {
			exprs = append(exprs, deref(a.Expr))
		}
		joined := strings.Join(exprs, "\n")
		if !strings.Contains(joined, contract.RunInfo.Name) && !strings.Contains(joined, contract.BenchmarkFinished.Name) {
			t.Errorf("%s: no run or benchmark annotation: %v", slug, exprs)
		}
	}
}

// query is one PromQL expression found on a board.
type boardQuery struct {
	Board, Where, Expr string
	Panel              string // panel title; "" for annotations and variables
	Instant            bool   // evaluated once at the end of the range (tables)
}

// boardQueries extracts every PromQL expression of every board: panel
// targets, annotations and (as their series selector) variable queries.
func boardQueries(t testing.TB) []boardQuery {
	t.Helper()
	var out []boardQuery
	labelValues := regexp.MustCompile(`^label_values\((.*), [a-z_]+\)$|^query_result\((.*)\)$`)
	for _, b := range All() {
		d, err := b.Dashboard()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			if p.Panel == nil {
				continue
			}
			for _, tg := range p.Panel.Targets {
				js, _ := json.Marshal(tg)
				var q struct {
					Expr    string `json:"expr"`
					RefID   string `json:"refId"`
					Instant bool   `json:"instant"`
				}
				if err := json.Unmarshal(js, &q); err != nil || q.Expr == "" {
					t.Fatalf("%s: panel %q: target without expr: %s", b.Slug, deref(p.Panel.Title), js)
				}
				title := deref(p.Panel.Title)
				out = append(out, boardQuery{Board: b.Slug, Where: "panel " + title + " " + q.RefID, Expr: q.Expr, Panel: title, Instant: q.Instant})
			}
		}
		for _, a := range d.Annotations.List {
			if a.Expr != nil {
				out = append(out, boardQuery{Board: b.Slug, Where: "annotation " + a.Name, Expr: *a.Expr})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != dashboard.VariableTypeQuery {
				continue
			}
			m := labelValues.FindStringSubmatch(*v.Query.String)
			if m == nil {
				t.Fatalf("%s: variable %s: unexpected query %q", b.Slug, v.Name, *v.Query.String)
			}
			// Grafana lists label values over the time range: a range
			// query; query_result runs its query at the range's end.
			out = append(out, boardQuery{Board: b.Slug, Where: "variable " + v.Name, Expr: m[1] + m[2], Instant: m[2] != ""})
		}
	}
	return out
}

var metricName = regexp.MustCompile(`servebench_[a-z0-9_]+|vllm:[a-z0-9_:]+`)

// Every series a board reads is in the contract (or is one of vLLM's
// series listed in vllm.go): a typo fails here, not in Grafana.
func TestQueriesUseKnownSeries(t *testing.T) {
	known := map[string]bool{}
	for _, m := range append(contract.All(), contract.VLLM()...) {
		known[m.Name] = true
		if m.Type == contract.Histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[m.Name+s] = true
			}
		}
	}
	used := map[string]bool{}
	for _, q := range boardQueries(t) {
		for _, n := range metricName.FindAllString(q.Expr, -1) {
			used[n] = true
			if !known[n] {
				t.Errorf("%s %s: unknown series %s in %s", q.Board, q.Where, n, q.Expr)
			}
		}
	}
	// The boards cover the contract: every core, summary, host and
	// container series appears on some board.
	var missing []string
	for _, m := range contract.All() {
		n := m.Name
		if m.Type == contract.Histogram {
			n += "_bucket"
		}
		if !used[n] && !used[m.Name] && !optional[m.Name] {
			missing = append(missing, m.Name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("series on no board: %v", missing)
	}
}

// optional series are deliberately left off the boards.
var optional = map[string]bool{
	contract.BenchmarkTargetRate.Name:     true, // shown as the live target rate
	contract.BenchmarkTotalTokenRate.Name: true, // output tokens/s is the headline
	contract.BenchmarkDuration.Name:       true,
	contract.HostNUMAMemoryTotal.Name:     true, // free per node is the signal
	contract.ProcessThreads.Name:          true,
	contract.BuildInfo.Name:               true, // provenance, read by hand or joined in queries
	contract.ScrapeCollectorDuration.Name: true,
}
