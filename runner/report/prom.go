package report

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/runner/compare"
)

// Prometheus reads range queries from a Prometheus-compatible server
// (Prometheus or VictoriaMetrics) that scraped the run.
type Prometheus struct {
	URL    string
	Client *http.Client // nil means http.DefaultClient
}

// EngineQueries are the timeline charts drawn from the server: vLLM's queue
// and KV-cache gauges (the simulator exposes the same names) and host CPU
// busy by role from the exporter's collector.
var EngineQueries = []struct {
	Title, YLabel string
	Queries       map[string]string // series name -> PromQL; a query may return several series
}{
	{"Engine queue over the run", "requests", map[string]string{
		"waiting": `sum(` + contract.VLLMRequestsWaiting.Name + `)`, "running": `sum(` + contract.VLLMRequestsRunning.Name + `)`}},
	{"KV-cache use over the run", "KV-cache used (%)", map[string]string{
		"kv-cache": `100 * max(` + contract.VLLMKVCacheUsage.Name + `)`}},
	{"Host CPU by role over the run", "busy cores", map[string]string{
		"": `sum by (role) (rate(` + contract.HostCPUBusy.Name + `[1m]))`}},
}

// EngineCharts draws EngineQueries over [start, end]; x is seconds since
// start. A query that fails or returns nothing becomes a Missing entry.
func (p Prometheus) EngineCharts(ctx context.Context, start, end time.Time) ([]LineChart, []Missing) {
	step := max(time.Second, end.Sub(start)/240).Truncate(time.Second)
	var charts []LineChart
	var missing []Missing
	for _, q := range EngineQueries {
		ch := LineChart{Title: q.Title, X: Axis{Label: "seconds since the run started", Zero: true}, Y: Axis{Label: q.YLabel, Zero: true}}
		names := make([]string, 0, len(q.Queries))
		for n := range q.Queries {
			names = append(names, n)
		}
		sort.Strings(names)
		var errs []string
		for _, n := range names {
			ss, err := p.queryRange(ctx, q.Queries[n], start, end, step)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			for _, s := range ss {
				if n != "" {
					s.Name = n
				}
				ch.Series = append(ch.Series, s)
			}
		}
		if len(ch.Series) == 0 {
			reason := "the server returned no data for " + p.URL
			if len(errs) > 0 {
				reason = strings.Join(errs, "; ")
			}
			missing = append(missing, Missing{q.Title, reason})
			continue
		}
		charts = append(charts, ch)
	}
	return charts, missing
}

func (p Prometheus) queryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]Series, error) {
	v := url.Values{"query": {q}, "start": {ts(start)}, "end": {ts(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(p.URL, "/")+"/api/v1/query_range?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", q, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	var out []Series
	for _, res := range r.Data.Result {
		var s Series
		var labels []string
		for k, v := range res.Metric {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		s.Name = strings.Join(labels, ",")
		for _, pt := range res.Values {
			t, ok1 := pt[0].(float64)
			vs, ok2 := pt[1].(string)
			f, err := strconv.ParseFloat(vs, 64)
			if !ok1 || !ok2 || err != nil {
				continue
			}
			s.X = append(s.X, t-float64(start.UnixMilli())/1e3)
			s.Y = append(s.Y, f)
		}
		if len(s.X) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

func ts(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', 3, 64) }

// RunSpan returns the wall-clock span of the cells' requests; ok is false
// without per-request records.
func RunSpan(cells []compare.Cell) (start, end time.Time, ok bool) {
	for _, c := range cells {
		for _, r := range c.Requests {
			if !r.Scheduled.IsZero() && (start.IsZero() || r.Scheduled.Before(start)) {
				start = r.Scheduled
			}
			if r.End.After(end) {
				end = r.End
			}
		}
	}
	return start, end, !start.IsZero() && end.After(start)
}
