// Package report renders a run's results as one self-contained HTML file:
// tables of every level's figures with the cost view, and charts drawn here
// as inline SVG — no script, font or stylesheet is fetched when the file is
// viewed. Each chart can also be written as a standalone .svg for slides.
//
// Charts: throughput and tokens/s per core against cores with the linear
// ideal; throughput-latency curves of sweeps; latency CDFs per level;
// p50/p95/p99 per level and per model; achieved rate and TTFT over the run
// (from requests.jsonl); engine queue, KV-cache use and host CPU by role over
// the run (from a Prometheus that scraped it, when the caller supplies one).
// A chart the data cannot support is listed as missing with the reason,
// never drawn empty.
//
// Build is pure; Report values are immutable once built.
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
)

// Input is what a report is drawn from.
type Input struct {
	Title string
	// Sides are the inputs, each one configuration's runs (repeats as
	// runner compare takes them). Two or more make the report an A-vs-B
	// document: the verdicts of runner compare, overlays of the sides'
	// distributions and every run's time series from its own start.
	Sides []compare.Side
	// Cells is a single side, for callers without sides.
	Cells         []compare.Cell
	Compare       compare.Options // for the verdicts
	CoreHourPrice float64         // > 0 adds the price per million output tokens
	Generated     time.Time       // stamped in the page
	// Timeline holds charts over the run's wall clock from an outside source
	// (EngineCharts); Missing lists those that could not be drawn, with why.
	Timeline []LineChart
	Missing  []Missing
}

// Chart is one rendered chart.
type Chart struct {
	ID      string // element id and file name stem
	Title   string
	Section string
	SVG     string
}

// Missing is a chart left out, and why.
type Missing struct {
	Title  string
	Reason string
}

// Report is a built report.
type Report struct {
	Title     string
	Generated time.Time
	Charts    []Chart
	Missing   []Missing
	Tables    []Table
	// Repeatability has one table per cell measured more than once (the
	// same cell of several runs), grading each metric's CV per level.
	Repeatability []Table
	// Cross has one table per level of a configuration measured by several
	// load generators, with the definitional differences that explain gaps.
	Cross      []Table
	CrossNotes []string
	Warnings   []string
	// Versus is the comparison of two or more sides; nil for one.
	Versus *Versus
}

// Table is one cell's levels.
type Table struct {
	Cell    string
	Caption string
	Header  []string
	Rows    [][]string
}

// Sections, in page order (after SecVersus and SecRuns).
const (
	SecScaling  = "Scaling with cores"
	SecSweep    = "Throughput and latency"
	SecLatency  = "Latency distributions"
	SecTimeline = "Over the run"
)

// Build draws the report.
func Build(in Input) *Report {
	sides := in.Sides
	if len(sides) == 0 && len(in.Cells) > 0 {
		sides = []compare.Side{{Label: "input", Repeats: [][]compare.Cell{in.Cells}}}
	}
	var cells []compare.Cell
	for _, s := range sides {
		for _, rep := range s.Repeats {
			cells = append(cells, rep...)
		}
	}
	r := &Report{Title: cmp.Or(in.Title, Title(sides)), Generated: in.Generated, Missing: slices.Clone(in.Missing)}
	r.Repeatability = repeatability(cells)
	runs := map[string]bool{}
	for _, c := range cells {
		runs[c.Summary.RunID] = true
	}
	if len(runs) > 1 {
		// Several runs: the same cell name recurs, so name cells by run too.
		for i := range cells {
			if cells[i].Summary.RunID != "" {
				cells[i].Key = cells[i].Summary.RunID + "/" + cellName(cells[i])
			}
		}
	}
	// Cells in configuration order, cores numerically (4 before 16).
	slices.SortStableFunc(cells, func(a, b compare.Cell) int {
		return cmp.Or(strings.Compare(a.Summary.Model, b.Summary.Model), strings.Compare(a.Summary.Workload, b.Summary.Workload),
			cmp.Compare(a.Summary.Cores, b.Summary.Cores), strings.Compare(a.Key, b.Key))
	})
	ids := map[string]int{}
	add := func(sec, title string, svg func(id string) string) {
		id := slug(title)
		ids[id]++
		if ids[id] > 1 {
			id += "-" + strconv.Itoa(ids[id])
		}
		r.Charts = append(r.Charts, Chart{ID: id, Title: title, Section: sec, SVG: svg(id)})
	}

	if len(sides) >= 2 {
		r.Versus = versus(sides, in.Compare, add, &r.Missing)
	}
	scaling(cells, add, &r.Missing)
	sweeps(cells, add, &r.Missing)
	// With sides, the overlays show the distributions; alone, each cell's.
	latencies(cells, r.Versus == nil, add, &r.Missing)
	if r.Versus == nil {
		timeline(cells, add, &r.Missing)
	}
	for _, c := range in.Timeline {
		add(SecTimeline, c.Title, c.SVG)
	}
	r.Cross, r.CrossNotes = cross(cells)
	for _, c := range cells {
		t, warns := table(c, in.CoreHourPrice)
		r.Tables = append(r.Tables, t)
		r.Warnings = append(r.Warnings, warns...)
	}
	return r
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func cellName(c compare.Cell) string { return cmp.Or(c.Key, c.Summary.Cell, c.Path) }

// scaling draws peak throughput and tokens/s per core against cores, one
// series per model/workload/load generator with at least two core counts
// that have a valid level: invalid levels and absent figures draw no point.
func scaling(cells []compare.Cell, add func(string, string, func(string) string), missing *[]Missing) {
	type key struct{ model, workload, loadgen string }
	peak := map[key]map[int]float64{}
	for _, c := range cells {
		s := c.Summary
		if s.Cores <= 0 {
			continue
		}
		k := key{s.Model, s.Workload, s.Loadgen}
		for _, b := range s.Benchmarks {
			v, ok := b.OutputTokensPerSecond.Get()
			if !ok || !b.Valid {
				continue
			}
			if peak[k] == nil {
				peak[k] = map[int]float64{}
			}
			peak[k][s.Cores] = math.Max(peak[k][s.Cores], v)
		}
	}
	var keys []key
	for k, m := range peak {
		if len(m) >= 2 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		*missing = append(*missing, Missing{"Throughput against cores", "needs cells of one model and workload with valid levels at two or more core counts"})
		return
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.model, b.model), strings.Compare(a.workload, b.workload), strings.Compare(a.loadgen, b.loadgen))
	})
	tput := LineChart{Title: "Peak output tokens/s against cores", X: Axis{Label: "cores", Zero: true}, Y: Axis{Label: "output tokens/s", Zero: true}}
	per := LineChart{Title: "Output tokens/s per core against cores", X: Axis{Label: "cores", Zero: true}, Y: Axis{Label: "output tokens/s per core", Zero: true}}
	for ki, k := range keys {
		col := colour(ki)
		var cores []int
		for c := range peak[k] {
			cores = append(cores, c)
		}
		slices.Sort(cores)
		name := k.model + " " + k.workload
		if len(keys) > 1 && k.loadgen != "" {
			name += " " + k.loadgen
		}
		var x, y, yp, ideal, idealPer []float64
		base := peak[k][cores[0]] / float64(cores[0])
		for _, c := range cores {
			x = append(x, float64(c))
			y = append(y, peak[k][c])
			yp = append(yp, peak[k][c]/float64(c))
			ideal = append(ideal, base*float64(c))
			idealPer = append(idealPer, base)
		}
		tput.Series = append(tput.Series, Series{Name: name, X: x, Y: y, Marker: true, Colour: col}, Series{Name: name + " linear ideal", X: x, Y: ideal, Dashed: true, Colour: col})
		per.Series = append(per.Series, Series{Name: name, X: x, Y: yp, Marker: true, Colour: col}, Series{Name: name + " linear ideal", X: x, Y: idealPer, Dashed: true, Colour: col})
	}
	add(SecScaling, tput.Title, tput.SVG)
	add(SecScaling, per.Title, per.SVG)
}

// sweeps draws latency against achieved throughput for cells with two or
// more levels: p50 solid, p99 dashed. A level whose throughput or
// percentile is absent draws no point.
func sweeps(cells []compare.Cell, add func(string, string, func(string) string), missing *[]Missing) {
	for _, m := range []struct {
		name string
		dist func(results.Benchmark) results.Dist
	}{{"TTFT", func(b results.Benchmark) results.Dist { return b.TTFT }}, {"ITL", func(b results.Benchmark) results.Dist { return b.ITL }}} {
		ch := LineChart{Title: m.name + " against achieved throughput", X: Axis{Label: "achieved requests/s", Zero: true}, Y: Axis{Label: m.name + " (ms)", Zero: true}}
		for _, c := range cells {
			bs := slices.Clone(c.Summary.Benchmarks)
			if len(bs) < 2 {
				continue
			}
			col := colour(len(ch.Series) / 2)
			slices.SortFunc(bs, func(a, b results.Benchmark) int {
				return cmp.Compare(a.RequestsPerSecond.Or(math.Inf(1)), b.RequestsPerSecond.Or(math.Inf(1)))
			})
			var x50, p50, x99, p99 []float64
			for _, b := range bs {
				x, ok := b.RequestsPerSecond.Get()
				if !ok {
					continue
				}
				if v, ok := m.dist(b).P50.Get(); ok {
					x50, p50 = append(x50, x), append(p50, v)
				}
				if v, ok := m.dist(b).P99.Get(); ok {
					x99, p99 = append(x99, x), append(p99, v)
				}
			}
			if len(x50) < 2 {
				continue
			}
			ch.Series = append(ch.Series, Series{Name: cellName(c) + " p50", X: x50, Y: p50, Marker: true, Colour: col})
			if len(x99) > 0 {
				ch.Series = append(ch.Series, Series{Name: cellName(c) + " p99", X: x99, Y: p99, Marker: true, Dashed: true, Colour: col})
			}
		}
		if len(ch.Series) == 0 {
			*missing = append(*missing, Missing{ch.Title, "needs a cell with two or more load levels (a sweep) that have the figures"})
			continue
		}
		add(SecSweep, ch.Title, ch.SVG)
	}
}

// maxCDFCells bounds the per-cell CDF charts so a big suite stays readable.
const maxCDFCells = 12

// latencies draws TTFT and E2E CDFs per level for each cell, and p50/p95/p99
// bars per level for each model.
func latencies(cells []compare.Cell, cdfs bool, add func(string, string, func(string) string), missing *[]Missing) {
	for i, c := range cells {
		if !cdfs {
			break
		}
		if i == maxCDFCells {
			*missing = append(*missing, Missing{"Latency CDFs of the remaining cells", fmt.Sprintf("only the first %d cells are drawn", maxCDFCells)})
			break
		}
		// Each level's samples once, for both of its CDFs.
		samples := map[string]compare.Samples{}
		for lv, recs := range c.ByLevel() {
			samples[lv] = compare.SamplesOf(recs)
		}
		for _, m := range []struct {
			name    string
			samples func(compare.Samples) []float64
			dist    func(results.Benchmark) results.Dist
		}{
			{"TTFT", func(s compare.Samples) []float64 { return s.TTFT }, func(b results.Benchmark) results.Dist { return b.TTFT }},
			{"E2E", func(s compare.Samples) []float64 { return s.E2E }, func(b results.Benchmark) results.Dist { return b.E2E }},
		} {
			ch := LineChart{Title: m.name + " CDF per level, " + cellName(c), Y: Axis{Label: "fraction of requests"}, X: Axis{Label: m.name + " (ms)"}}
			lo, hi := math.Inf(1), 0.0
			fromPercentiles := false
			for _, b := range c.Summary.Benchmarks {
				var x, y []float64
				if ls, ok := samples[b.Level]; ok {
					x = slices.Clone(m.samples(ls))
					slices.Sort(x)
					x, y = cdf(x)
				} else if x, y = percentilePoints(m.dist(b)); x != nil {
					fromPercentiles = true
				}
				if len(x) == 0 {
					continue
				}
				lo, hi = math.Min(lo, x[0]), math.Max(hi, x[len(x)-1])
				ch.Series = append(ch.Series, Series{Name: b.Level, X: x, Y: y, Marker: len(x) <= 6})
			}
			if len(ch.Series) == 0 {
				*missing = append(*missing, Missing{ch.Title, "no " + m.name + " samples or percentiles"})
				continue
			}
			ch.X.Log = lo > 0 && hi/lo > 50
			if fromPercentiles {
				ch.Title += " (from percentiles)"
			}
			add(SecLatency, ch.Title, ch.SVG)
		}
	}

	models := map[string][]compare.Cell{}
	var names []string
	for _, c := range cells {
		if _, ok := models[c.Summary.Model]; !ok {
			names = append(names, c.Summary.Model)
		}
		models[c.Summary.Model] = append(models[c.Summary.Model], c)
	}
	slices.Sort(names)
	for _, model := range names {
		for _, m := range []struct {
			name string
			dist func(results.Benchmark) results.Dist
		}{{"TTFT", func(b results.Benchmark) results.Dist { return b.TTFT }}, {"E2E", func(b results.Benchmark) results.Dist { return b.E2E }}} {
			ch := BarChart{Title: m.name + " p50/p95/p99 per level, " + cmp.Or(model, "unknown model"), YLabel: m.name + " (ms)", Bars: []string{"p50", "p95", "p99"}}
			for _, c := range models[model] {
				for _, b := range c.Summary.Benchmarks {
					g := b.Level
					if len(models[model]) > 1 {
						g = cellName(c) + " " + b.Level
					}
					d := m.dist(b)
					if d.Empty() {
						continue
					}
					ch.Groups = append(ch.Groups, g)
					// NaN draws no bar (BarChart): an absent percentile.
					ch.Values = append(ch.Values, []float64{d.P50.Or(math.NaN()), d.P95.Or(math.NaN()), d.P99.Or(math.NaN())})
				}
			}
			if len(ch.Groups) > 0 {
				add(SecLatency, ch.Title, ch.SVG)
			}
		}
	}
}

// percentilePoints are a summary's percentiles as CDF points (value,
// fraction), the maximum at 1; an absent percentile draws no point, and an
// empty distribution none at all (nil).
func percentilePoints(d results.Dist) (x, y []float64) {
	for _, p := range []struct {
		f results.Figure
		q float64
	}{{d.P50, 0.5}, {d.P90, 0.9}, {d.P95, 0.95}, {d.P99, 0.99}, {d.P999, 0.999}, {d.Max, 1}} {
		if v, ok := p.f.Get(); ok {
			x, y = append(x, v), append(y, p.q)
		}
	}
	return x, y
}

// cdf turns sorted samples into CDF points, thinned to at most 400.
func cdf(sorted []float64) (x, y []float64) {
	n := len(sorted)
	step := max(1, n/400)
	for i := 0; i < n; i += step {
		x = append(x, sorted[i])
		y = append(y, float64(i+1)/float64(n))
	}
	if x[len(x)-1] != sorted[n-1] || y[len(y)-1] != 1 {
		x, y = append(x, sorted[n-1]), append(y, 1)
	}
	return x, y
}

// timeline draws each cell's throughput, requests in flight and TTFT over
// time (and send rate for open loops), every cell from its own first send.
func timeline(cells []compare.Cell, add func(string, string, func(string) string), missing *[]Missing) {
	var runs []runSeries
	var with []compare.Cell
	for _, c := range cells {
		if len(c.Requests) == 0 {
			continue
		}
		s := overTime(c.Requests)
		s.name, s.colour = runLabel(c), colour(len(runs))
		runs = append(runs, s)
		with = append(with, c)
	}
	if len(runs) == 0 {
		*missing = append(*missing, Missing{"Throughput, load and TTFT over the run", "no requests.jsonl in the run"})
		return
	}
	drawOverTime(SecTimeline, "each cell from its own start", runs, openLoop(with), add)
}

// table lists one cell's levels with the headline figures and the cost view.
func table(c compare.Cell, price float64) (Table, []string) {
	s := c.Summary
	t := Table{Cell: cellName(c), Caption: fmt.Sprintf("%s — model %s, workload %s, %s cores, load generator %s", cellName(c),
		cmp.Or(s.Model, "?"), cmp.Or(s.Workload, "?"), coresText(s.Cores), cmp.Or(s.Loadgen, "?")),
		Header: []string{"level", "target", "achieved req/s", "req/s", "output tok/s", "tok/s per core", "TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms", "E2E p99 ms", "success", "valid"}}
	if price > 0 {
		t.Header = append(t.Header, fmt.Sprintf("price per 1M output tokens (at %g per core-hour)", price))
	}
	var warns []string
	for _, b := range s.Benchmarks {
		n := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
		succ := "-"
		if n > 0 {
			succ = fmt.Sprintf("%.1f%% of %d", 100*float64(b.Requests.Successful)/float64(n), n)
		}
		valid := "yes"
		if !b.Valid {
			valid = "NO: " + strings.Join(b.InvalidReasons, "; ")
		}
		perCore, cost := results.Dash, results.Dash
		if cv := compare.CostOf(s.Cores, b.OutputTokensPerSecond.Or(0), price); cv != nil {
			perCore = num(cv.OutputTokensPerCore)
			if cv.PricePerMillionOutputs > 0 {
				cost = fmt.Sprintf("%.4g", cv.PricePerMillionOutputs)
			}
		}
		row := []string{b.Level, num(b.TargetRate), fig(b.AchievedRate), fig(b.RequestsPerSecond), fig(b.OutputTokensPerSecond), perCore,
			fig(b.TTFT.P50), fig(b.TTFT.P99), fig(b.ITL.P50), fig(b.E2E.P99), succ, valid}
		if price > 0 {
			row = append(row, cost)
		}
		t.Rows = append(t.Rows, row)
		for _, w := range []string{analysis.SampleWarning("TTFT p99", 0.99, b.TTFT.Count), analysis.SampleWarning("E2E p99", 0.99, b.E2E.Count)} {
			if w != "" && b.TTFT.Count > 0 {
				warns = append(warns, fmt.Sprintf("%s %s: %s", cellName(c), b.Level, w))
			}
		}
	}
	return t, warns
}

func coresText(n int) string {
	if n <= 0 {
		return "?"
	}
	return strconv.Itoa(n)
}

func num(v float64) string { return fig(results.Of(v)) }

// fig prints a figure to four significant digits, or results.Dash when absent.
func fig(f results.Figure) string {
	v, ok := f.Get()
	if !ok {
		return results.Dash
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// repeatMetrics are the figures whose run-to-run spread is graded.
var repeatMetrics = []struct {
	name string
	get  func(results.Benchmark) results.Figure
}{
	{"requests/s", func(b results.Benchmark) results.Figure { return b.RequestsPerSecond }},
	{"output tok/s", func(b results.Benchmark) results.Figure { return b.OutputTokensPerSecond }},
	{"TTFT p50", func(b results.Benchmark) results.Figure { return b.TTFT.P50 }},
	{"TTFT p99", func(b results.Benchmark) results.Figure { return b.TTFT.P99 }},
	{"ITL p50", func(b results.Benchmark) results.Figure { return b.ITL.P50 }},
	{"E2E p50", func(b results.Benchmark) results.Figure { return b.E2E.P50 }},
}

// repeatability grades the spread of cells measured more than once: cells of
// one name and configuration across runs, or a level repeated in one summary.
func repeatability(cells []compare.Cell) []Table {
	type key struct {
		cell, model, workload, loadgen string
		cores                          int
	}
	groups := map[key][]compare.Cell{}
	var order []key
	for _, c := range cells {
		// Repetitions of one cell (runner start --repeat) group under its ID.
		k := key{cmp.Or(c.Summary.RepeatOf, cellName(c)), c.Summary.Model, c.Summary.Workload, c.Summary.Loadgen, c.Summary.Cores}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	var out []Table
	for _, k := range order {
		byLevel := map[string][]results.Benchmark{}
		var levels []string
		for _, c := range groups[k] {
			for _, b := range c.Summary.Benchmarks {
				if _, ok := byLevel[b.Level]; !ok {
					levels = append(levels, b.Level)
				}
				byLevel[b.Level] = append(byLevel[b.Level], b)
			}
		}
		t := Table{Cell: k.cell, Caption: "Repeatability of " + k.cell + ": coefficient of variation over repeated runs",
			Header: []string{"level", "metric", "runs", "mean", "CV", "grade"}}
		for _, lv := range levels {
			bs := byLevel[lv]
			if len(bs) < 2 {
				continue
			}
			for _, m := range repeatMetrics {
				// A figure absent from a run is not graded over the others.
				v := make([]float64, 0, len(bs))
				for _, b := range bs {
					if x, ok := m.get(b).Get(); ok {
						v = append(v, x)
					}
				}
				if len(v) < len(bs) {
					t.Rows = append(t.Rows, []string{lv, m.name, strconv.Itoa(len(bs)), results.Dash, results.Dash, fmt.Sprintf("absent in %d of %d runs", len(bs)-len(v), len(bs))})
					continue
				}
				sp := analysis.Repeatability(v)
				cv := "-"
				if !math.IsNaN(sp.CV) {
					cv = fmt.Sprintf("%.2f%%", 100*sp.CV)
				}
				t.Rows = append(t.Rows, []string{lv, m.name, strconv.Itoa(sp.N), num(sp.Mean), cv, string(sp.Grade)})
			}
		}
		if len(t.Rows) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// cross tabulates configurations (model, workload, cores) measured by more
// than one load generator, through compare.Cross.
func cross(cells []compare.Cell) ([]Table, []string) {
	type key struct {
		model, workload string
		cores           int
	}
	groups := map[key][]compare.Cell{}
	var order []key
	for _, c := range cells {
		k := key{c.Summary.Model, c.Summary.Workload, c.Summary.Cores}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	var tables []Table
	notes := map[string]bool{}
	for _, k := range order {
		lgs := map[string]bool{}
		for _, c := range groups[k] {
			lgs[c.Summary.Loadgen] = true
		}
		if len(lgs) < 2 {
			continue
		}
		cts, err := compare.Cross(groups[k], false)
		if err != nil {
			continue
		}
		for _, ct := range cts {
			t := Table{Caption: fmt.Sprintf("%s, %s, %s cores — level %s", cmp.Or(k.model, "?"), cmp.Or(k.workload, "?"), coresText(k.cores), ct.Level),
				Header: append(append([]string{"metric"}, ct.Columns...), "spread")}
			for _, row := range ct.Rows {
				cells := []string{row.Metric + " (" + row.Unit + ")"}
				for _, v := range row.Values {
					if v == nil {
						cells = append(cells, "-")
					} else {
						cells = append(cells, num(*v))
					}
				}
				sp := "-"
				if row.Spread != nil {
					sp = fmt.Sprintf("%.1f%%", 100**row.Spread)
				}
				t.Rows = append(t.Rows, append(cells, sp))
			}
			tables = append(tables, t)
			for _, n := range ct.Notes {
				notes[n] = true
			}
		}
	}
	var out []string
	for n := range notes {
		out = append(out, n)
	}
	slices.Sort(out)
	return tables, out
}
