package dashboards

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// grafanaVar matches a Grafana variable reference in a query: $name,
// ${name} or ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z_]+)(?::[a-z]+)?\}|\$([A-Za-z_]+)`)

// substitute replaces Grafana's variables with what Grafana would send for
// "All" and the given range; overrides replace single variables (e.g. a run).
func substitute(t testing.TB, expr string, ranges string, overrides ...string) string {
	t.Helper()
	values := map[string]string{
		"__rate_interval": "1m", "__interval": "15s", "__range": ranges,
		varSuite: ".*", varModel: ".*", varWorkload: ".*", varCores: ".*", varRun: ".*", varRunA: ".*", varRunB: ".*",
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		values[overrides[i]] = overrides[i+1]
	}
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := values[name]
		if !ok {
			t.Errorf("unknown Grafana variable %s in %s", m, expr)
		}
		return v
	})
}

// promResult is a Prometheus HTTP API answer.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		Result json.RawMessage `json:"result"`
	} `json:"data"`
}

func instantQuery(base, q string) (int, promResult, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, promResult{}, err
	}
	defer resp.Body.Close()
	var r promResult
	err = json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r, err
}

// TestE2EPanelQueriesParse runs every PromQL expression of every board —
// panel targets, annotations, variable selectors — with Grafana's variables
// substituted, through a real Prometheus with an empty TSDB: an expression
// that does not parse or type-check answers 400 there.
func TestE2EPanelQueriesParse(t *testing.T) {
	prom := e2e.StartPrometheus(t, t.TempDir(), "global:\n  scrape_interval: 15s\n")
	queries := boardQueries(t)
	if len(queries) < 100 {
		t.Fatalf("only %d queries extracted", len(queries))
	}
	for _, q := range queries {
		expr := substitute(t, q.Expr, "1h")
		code, r, err := instantQuery(prom.URL, expr)
		if err != nil {
			t.Fatalf("%s %s: %v", q.Board, q.Where, err)
		}
		if code != http.StatusOK || r.Status != "success" {
			t.Errorf("%s %s: %d %s: %s\n  %s", q.Board, q.Where, code, r.ErrorType, r.Error, expr)
		}
	}
	// The check is real: a broken expression is refused.
	if code, _, _ := instantQuery(prom.URL, "sum by (le (rate(x[1m]))"); code != http.StatusBadRequest {
		t.Errorf("a malformed query answered %d, want 400", code)
	}
	t.Logf("%d queries from %d boards parse", len(queries), len(All()))
}

// TestE2EPanelQueriesParseVictoriaMetrics runs every board query through a
// real VictoriaMetrics (history may live there): MetricsQL must accept all
// of them too.
func TestE2EPanelQueriesParseVictoriaMetrics(t *testing.T) {
	bin := e2e.Require(t, "victoria-metrics")
	addr := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	dir := t.TempDir()
	e2e.Start(t, dir, bin, "-httpListenAddr="+addr, "-storageDataPath="+filepath.Join(dir, "data"), "-retentionPeriod=1")
	base := "http://" + addr
	e2e.WaitHTTP(t, base+"/health", 30*time.Second)
	queries := boardQueries(t)
	for _, q := range queries {
		expr := substitute(t, q.Expr, "1h")
		code, r, err := instantQuery(base, expr)
		if err != nil {
			t.Fatalf("%s %s: %v", q.Board, q.Where, err)
		}
		if code != http.StatusOK || r.Status != "success" {
			t.Errorf("%s %s: %d %s: %s\n  %s", q.Board, q.Where, code, r.ErrorType, r.Error, expr)
		}
	}
	if code, _, _ := instantQuery(base, "sum by (le (rate(x[1m]))"); code == http.StatusOK {
		t.Error("a malformed query answered 200")
	}
	t.Logf("%d queries parse in VictoriaMetrics", len(queries))
}
