package compare

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/servebench/servebench/runner/results"
)

// Definitions says how each load generator defines what it reports, where the
// definitions differ; the cross-validation table prints those of the load
// generators present, so a gap between columns can be read as definition or
// as disagreement.
var Definitions = map[string][]string{
	"native": {
		"timers start at the scheduled send (client-side queueing and lateness included)",
		"first token: first chunk carrying content, reasoning or a tool call (role-only chunks excluded)",
		"ITL: one sample per gap between token-carrying chunks; itl_request_mean is GuideLLM's per-request average",
		"TPOT: (e2e - ttft) / (output tokens - 1) per request",
		"percentiles: linear interpolation between closest ranks; failed requests excluded from latencies",
	},
	"proxy": {
		"timers start when the request reaches the metering proxy: the load generator's own queueing is invisible",
		"chunk times are taken at the proxy with the native rules (same measure package)",
		"ITL per gap between token-carrying chunks; percentiles linear interpolation",
	},
	"guidellm": {
		"timers start just before the HTTP stream opens (request_start), not at a schedule",
		"first token: first chunk with text, content, reasoning or tool calls (role-only excluded)",
		"ITL: per-request average (last-first token)/(tokens-1), weighted by tokens; no per-gap samples exist",
		"TPOT: (last token - request_start)/output tokens, TTFT included — matches no other tool",
		"percentiles: nearest rank of a weighted distribution, no interpolation",
	},
	"vllm-bench": {
		"timers start after the --max-concurrency semaphore is acquired: client-side waiting is left out",
		"first token: first chunk with non-empty choices, a role-only chunk counts",
		"ITL: one sample per SSE chunk gap (not per token); E2E ends at the last choice chunk",
		"TPOT: (latency - ttft)/(output tokens - 1); percentiles numpy linear; successful requests only",
	},
}

// CrossTable is one load level of one cell as measured by several load
// generators (or the proxy) side by side.
type CrossTable struct {
	Level   string     `json:"level"`
	Columns []string   `json:"columns"`
	Rows    []CrossRow `json:"rows"`
	Notes   []string   `json:"notes"`
}

// CrossRow is one metric across the columns; a nil value is a metric that
// load generator does not report.
type CrossRow struct {
	Metric string     `json:"metric"`
	Unit   string     `json:"unit"`
	Values []*float64 `json:"values"`
	// Spread is (max-min)/min over the values present, a fraction.
	Spread *float64 `json:"spread,omitempty"`
}

type crossMetric struct {
	name, unit string
	get        func(results.Benchmark) (float64, bool)
}

func dist(d func(results.Benchmark) results.Dist, p func(results.Dist) results.Figure) func(results.Benchmark) (float64, bool) {
	return func(b results.Benchmark) (float64, bool) { return p(d(b)).Get() }
}

func p50(d results.Dist) results.Figure { return d.P50 }
func p99(d results.Dist) results.Figure { return d.P99 }

var crossMetrics = []crossMetric{
	{"requests_per_second", "req/s", func(b results.Benchmark) (float64, bool) { return b.RequestsPerSecond.Get() }},
	{"output_tokens_per_second", "tok/s", func(b results.Benchmark) (float64, bool) { return b.OutputTokensPerSecond.Get() }},
	{"ttft_p50", "ms", dist(func(b results.Benchmark) results.Dist { return b.TTFT }, p50)},
	{"ttft_p99", "ms", dist(func(b results.Benchmark) results.Dist { return b.TTFT }, p99)},
	{"ttft_from_send_p50", "ms", dist(func(b results.Benchmark) results.Dist { return b.TTFTFromSend }, p50)},
	{"itl_p50", "ms", dist(func(b results.Benchmark) results.Dist { return b.ITL }, p50)},
	{"itl_p99", "ms", dist(func(b results.Benchmark) results.Dist { return b.ITL }, p99)},
	{"itl_request_mean_p50", "ms", dist(func(b results.Benchmark) results.Dist { return b.ITLRequestMean }, p50)},
	{"tpot_p50", "ms", dist(func(b results.Benchmark) results.Dist { return b.TPOT }, p50)},
	{"e2e_p50", "ms", dist(func(b results.Benchmark) results.Dist { return b.E2E }, p50)},
	{"e2e_p99", "ms", dist(func(b results.Benchmark) results.Dist { return b.E2E }, p99)},
	{"successful_requests", "requests", func(b results.Benchmark) (float64, bool) { return float64(b.Requests.Successful), true }},
	{"failed_requests", "requests", func(b results.Benchmark) (float64, bool) { return float64(b.Requests.Failed), true }},
}

// Cross builds the cross-validation tables of one cell measured by several
// load generators. Levels are matched by name; when every input holds a
// single level they are matched whatever their names. Inputs that differ in
// model, workload or cores are refused unless force.
func Cross(cells []Cell, force bool) ([]CrossTable, error) {
	if len(cells) < 2 {
		return nil, fmt.Errorf("cross-validation needs at least two inputs")
	}
	for _, c := range cells[1:] {
		var mm []string
		for _, m := range Mismatches(cells[0], c) {
			if !strings.HasPrefix(m, "load generator ") && !strings.HasPrefix(m, "level ") {
				mm = append(mm, m)
			}
		}
		if len(mm) > 0 && !force {
			return nil, fmt.Errorf("%w: %s vs %s: %s (use --force to compare anyway)", ErrMismatch, cells[0].describe(), c.describe(), strings.Join(mm, "; "))
		}
	}
	single := true
	for _, c := range cells {
		if len(c.Summary.Benchmarks) != 1 {
			single = false
		}
	}
	var levels []string
	seen := map[string]bool{}
	for _, b := range cells[0].Summary.Benchmarks {
		if !seen[b.Level] {
			seen[b.Level] = true
			levels = append(levels, b.Level)
		}
	}
	cols := make([]string, len(cells))
	loadgens := map[string]bool{}
	for i, c := range cells {
		lg := c.Summary.Loadgen
		if lg == "" {
			lg = "unknown"
		}
		loadgens[lg] = true
		cols[i] = lg
		if n := countOf(cells, lg); n > 1 {
			cols[i] = lg + " (" + c.describe() + ")"
		}
	}
	var notes []string
	names := make([]string, 0, len(loadgens))
	for lg := range loadgens {
		names = append(names, lg)
	}
	sort.Strings(names)
	for _, lg := range names {
		for _, d := range Definitions[lg] {
			notes = append(notes, lg+": "+d)
		}
	}
	var out []CrossTable
	for _, lv := range levels {
		t := CrossTable{Level: lv, Columns: cols, Notes: notes}
		bms := make([]*results.Benchmark, len(cells))
		for i, c := range cells {
			for j := range c.Summary.Benchmarks {
				if single || c.Summary.Benchmarks[j].Level == lv {
					bms[i] = &c.Summary.Benchmarks[j]
					break
				}
			}
		}
		for _, m := range crossMetrics {
			row := CrossRow{Metric: m.name, Unit: m.unit, Values: make([]*float64, len(cells))}
			lo, hi := math.Inf(1), math.Inf(-1)
			n := 0
			for i, b := range bms {
				if b == nil {
					continue
				}
				if v, ok := m.get(*b); ok {
					row.Values[i] = &v
					lo, hi = math.Min(lo, v), math.Max(hi, v)
					n++
				}
			}
			if n >= 2 && lo > 0 {
				s := (hi - lo) / lo
				row.Spread = &s
			}
			t.Rows = append(t.Rows, row)
		}
		out = append(out, t)
	}
	return out, nil
}

func countOf(cells []Cell, lg string) int {
	n := 0
	for _, c := range cells {
		if c.Summary.Loadgen == lg || (lg == "unknown" && c.Summary.Loadgen == "") {
			n++
		}
	}
	return n
}

// WriteCrossText renders cross-validation tables for people.
func WriteCrossText(w io.Writer, tables []CrossTable) error {
	ew := &errWriter{w: w}
	for _, t := range tables {
		fmt.Fprintf(ew, "level %s\n", t.Level)
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  metric\t%s\tspread\n", strings.Join(t.Columns, "\t"))
		for _, r := range t.Rows {
			cells := make([]string, len(r.Values))
			for i, v := range r.Values {
				if v == nil {
					cells[i] = "-"
				} else {
					cells[i] = fmt.Sprintf("%.4g", *v)
				}
			}
			sp := "-"
			if r.Spread != nil {
				sp = fmt.Sprintf("%.1f%%", 100**r.Spread)
			}
			fmt.Fprintf(tw, "  %s (%s)\t%s\t%s\n", r.Metric, r.Unit, strings.Join(cells, "\t"), sp)
		}
		tw.Flush()
		fmt.Fprintln(ew)
	}
	if len(tables) > 0 && len(tables[0].Notes) > 0 {
		fmt.Fprintln(ew, "definitions (why columns may differ):")
		for _, n := range tables[0].Notes {
			fmt.Fprintf(ew, "  - %s\n", n)
		}
	}
	return ew.err
}
