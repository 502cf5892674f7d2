package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

// Sections of an A-vs-B report, before the others.
const (
	SecVersus = "A against B: distributions"
	SecRuns   = "Over each run"
)

// Versus is the comparison part of a report of two or more sides: what is
// compared, the verdicts of runner compare, and the reason when there are
// none.
type Versus struct {
	Sides   []SideInfo
	Outcome compare.Outcome // "" when the sides could not be compared
	Reasons []string
	Err     string // why there are no verdicts
	Tables  []VerdictTable
	Options compare.Options
}

// SideInfo describes one side.
type SideInfo struct {
	Letter, Label, Colour string
	Runs                  int
	Describe              string // model, workload, cores, load generator, engine
}

// VerdictTable is one level's verdicts, as runner compare gives them.
type VerdictTable struct {
	Caption string
	Note    string // the level's inconclusive reason, if any
	Header  []string
	Rows    []VerdictRow
}

// VerdictRow is one metric; Class is its verdict as a CSS class.
type VerdictRow struct {
	Cells []string
	Class string
}

// letter names side i: A, B, C...
func letter(i int) string { return string(rune('A' + i%26)) }

// baseKey names a cell across repeats (runner start --repeat).
func baseKey(c compare.Cell) string { return cmp.Or(c.Summary.RepeatOf, c.Key, c.Summary.Cell) }

// describeSide says what a side measured.
func describeSide(s compare.Side) (runs int, what string) {
	var first *compare.Cell
	seen := map[string]bool{}
	for _, rep := range s.Repeats {
		for i := range rep {
			c := &rep[i]
			if first == nil {
				first = c
			}
			for range c.Summary.Benchmarks[:min(1, len(c.Summary.Benchmarks))] {
				seen[cmp.Or(c.Summary.RunID, c.Path)+"/"+c.Key] = true
			}
		}
	}
	if first == nil {
		return 0, "no cells"
	}
	sm := first.Summary
	parts := []string{cmp.Or(sm.Model, "model ?"), cmp.Or(sm.Workload, "workload ?"), coresText(sm.Cores) + " cores", cmp.Or(sm.Loadgen, "?") + " load generator"}
	if img, ok := store.LookupString(first.Manifest, "engine", "image"); ok {
		parts = append(parts, "image "+img)
	}
	if v, ok := store.LookupString(first.Manifest, "engine", "version"); ok {
		parts = append(parts, "engine "+v)
	}
	return len(seen), strings.Join(parts, ", ")
}

// Title names what a report compares: the sides' inputs without the
// directories they all share, "A vs B".
func Title(sides []compare.Side) string {
	names := sideNames(sides)
	if len(sides) < 2 {
		return "servebench report: " + strings.Join(names, ", ")
	}
	return "servebench: " + strings.Join(names, " vs ")
}

// sideNames shortens the sides' labels: the directory prefix common to every
// input is dropped, and within a side of several inputs the common trailing
// path ("/cell") too.
func sideNames(sides []compare.Side) []string {
	var all [][]string
	var paths []string
	for _, s := range sides {
		var ps []string
		for _, p := range strings.Split(s.Label, ",") {
			ps = append(ps, strings.TrimSuffix(p, "/"))
		}
		all = append(all, ps)
		paths = append(paths, ps...)
	}
	prefix := ""
	if len(paths) > 1 {
		prefix = paths[0]
		for _, p := range paths[1:] {
			for !strings.HasPrefix(p, prefix) {
				prefix = prefix[:len(prefix)-1]
			}
		}
		prefix = prefix[:strings.LastIndex(prefix, "/")+1]
	}
	var out []string
	for _, ps := range all {
		short := make([]string, len(ps))
		for i, p := range ps {
			short[i] = strings.TrimPrefix(p, prefix)
		}
		if len(short) > 1 {
			suffix := short[0]
			for _, p := range short[1:] {
				for !strings.HasSuffix(p, suffix) {
					suffix = suffix[1:]
				}
			}
			if k := strings.Index(suffix, "/"); k >= 0 {
				for i := range short {
					short[i] = strings.TrimSuffix(short[i], suffix[k:])
				}
			}
		}
		out = append(out, strings.Join(short, ","))
	}
	return out
}

// shortLabel is a path's last element.
func shortLabel(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// versus builds the comparison part: verdicts from compare.Compare and the
// overlays and per-run charts.
func versus(sides []compare.Side, o compare.Options, add func(string, string, func(string) string), missing *[]Missing) *Versus {
	v := &Versus{Options: o}
	for i, s := range sides {
		runs, what := describeSide(s)
		v.Sides = append(v.Sides, SideInfo{Letter: letter(i), Label: s.Label, Colour: colour(i), Runs: runs, Describe: what})
	}
	rep, err := compare.Compare(sides, o)
	if err != nil {
		v.Err = err.Error()
	} else {
		v.Outcome, v.Reasons, v.Options = rep.Outcome, rep.Reasons, rep.Options
		for ci, c := range rep.Comparisons {
			for _, cc := range c.Cells {
				for _, l := range cc.Levels {
					v.Tables = append(v.Tables, verdictTable(letter(0), letter(ci+1), cc.Cell, l, rep.Options))
				}
			}
		}
	}
	overlays(sides, add, missing)
	perRun(sides, add, missing)
	return v
}

func verdictTable(a, b, cell string, l compare.LevelComparison, o compare.Options) VerdictTable {
	t := VerdictTable{Caption: fmt.Sprintf("%s vs %s — %s, level %s (%d vs %d runs)", a, b, cell, l.Level, l.RunsA, l.RunsB), Note: l.Inconclusive,
		Header: []string{"metric", a, b, "change", fmt.Sprintf("%.0f%% interval", 100*(1-o.Alpha)), "MDE", "run-to-run CV", "p (adjusted)", "verdict"}}
	for _, m := range l.Metrics {
		ci, mde, noise, p := "—", "—", "—", "—"
		if m.CI != nil {
			ci = fmt.Sprintf("%s … %s", pctText(m.CI.Lo), pctText(m.CI.Hi))
		}
		if t := m.MDEText(); t != "" {
			mde = t
		}
		if m.NoiseCV != nil {
			noise = fmt.Sprintf("%.2f%% (%s)", 100**m.NoiseCV, m.NoiseSource)
		}
		if m.PAdjusted != nil && !math.IsNaN(*m.PAdjusted) {
			p = fmt.Sprintf("%.3g", *m.PAdjusted)
		}
		verdict := string(m.Verdict)
		if m.Note != "" {
			verdict += ": " + m.Note
		}
		t.Rows = append(t.Rows, VerdictRow{Class: strings.ReplaceAll(string(m.Verdict), " ", "-"),
			Cells: []string{m.Metric, figure(m.A, m.Unit), figure(m.B, m.Unit), pctText(m.Change), ci, mde, noise, p, verdict}})
	}
	return t
}

func figure(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	if unit == "ratio" {
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return num(v) + " " + unit
}

func pctText(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%+.1f%%", 100*v)
}

// sideRun is one run of one cell of a side.
type sideRun struct {
	side int
	cell compare.Cell
	name string // for legends: "A run-id/cell"
}

// pairs gathers the runs of every side by base cell: all runs of
// single-configuration sides under one key, as compare pairs them.
func pairs(sides []compare.Side) (map[string][]sideRun, []string) {
	single := true
	for _, s := range sides {
		for _, rep := range s.Repeats {
			keys := map[string]bool{}
			for _, c := range rep {
				keys[baseKey(c)] = true
			}
			single = single && len(keys) == 1
		}
	}
	out := map[string][]sideRun{}
	var order []string
	for i, s := range sides {
		for _, rep := range s.Repeats {
			for _, c := range rep {
				k := baseKey(c)
				if single {
					k = baseKey(sides[0].Repeats[0][0])
				}
				if _, ok := out[k]; !ok {
					order = append(order, k)
				}
				out[k] = append(out[k], sideRun{side: i, cell: c, name: letter(i) + " " + runLabel(c)})
			}
		}
	}
	slices.Sort(order)
	return out, order
}

// maxOverlayLevels bounds the overlaid levels so that a sweep stays readable.
const maxOverlayLevels = 8

// overlays draws, per cell and level present on two or more sides, the
// CDFs of TTFT, ITL, TPOT and E2E of every side on common axes (each side's
// runs pooled), with its p50, p90 and p99 marked.
func overlays(sides []compare.Side, add func(string, string, func(string) string), missing *[]Missing) {
	byCell, order := pairs(sides)
	drawn := 0
	for _, key := range order {
		runs := byCell[key]
		var levels []string
		sidesAt := map[string]map[int]bool{}
		for _, r := range runs {
			for _, b := range r.cell.Summary.Benchmarks {
				if sidesAt[b.Level] == nil {
					sidesAt[b.Level] = map[int]bool{}
					levels = append(levels, b.Level)
				}
				sidesAt[b.Level][r.side] = true
			}
		}
		for _, lv := range levels {
			if len(sidesAt[lv]) < 2 {
				continue
			}
			if drawn == maxOverlayLevels {
				*missing = append(*missing, Missing{"Overlays of the remaining levels", fmt.Sprintf("only the first %d levels are overlaid", maxOverlayLevels)})
				return
			}
			drawn++
			overlayLevel(key, lv, runs, len(sides), add)
		}
	}
	if drawn == 0 {
		*missing = append(*missing, Missing{"Overlays of A and B", "no cell and level is on two sides"})
	}
}

var overlayMetrics = []struct {
	name    string
	samples func(compare.Samples) []float64
	dist    func(results.Benchmark) results.Dist
}{
	{"TTFT", func(s compare.Samples) []float64 { return s.TTFT }, func(b results.Benchmark) results.Dist { return b.TTFT }},
	{"ITL", func(s compare.Samples) []float64 { return s.ITL }, func(b results.Benchmark) results.Dist { return b.ITL }},
	{"TPOT", func(s compare.Samples) []float64 { return s.TPOT }, func(b results.Benchmark) results.Dist { return b.TPOT }},
	{"E2E", func(s compare.Samples) []float64 { return s.E2E }, func(b results.Benchmark) results.Dist { return b.E2E }},
}

func overlayLevel(cell, level string, runs []sideRun, nSides int, add func(string, string, func(string) string)) {
	// Each side's samples at this level, its runs pooled; runs without
	// records give their summary's percentiles.
	pooledS := make([]compare.Samples, nSides)
	hasSamples := make([]bool, nSides)
	summaries := make([][]results.Benchmark, nSides)
	for _, r := range runs {
		for _, b := range r.cell.Summary.Benchmarks {
			if b.Level == level {
				summaries[r.side] = append(summaries[r.side], b)
			}
		}
		if recs, ok := r.cell.ByLevel()[level]; ok {
			s := compare.SamplesOf(recs)
			p := &pooledS[r.side]
			p.TTFT, p.ITL, p.TPOT, p.E2E = append(p.TTFT, s.TTFT...), append(p.ITL, s.ITL...), append(p.TPOT, s.TPOT...), append(p.E2E, s.E2E...)
			hasSamples[r.side] = true
		}
	}
	for _, m := range overlayMetrics {
		ch := LineChart{Title: fmt.Sprintf("%s CDF, %s %s: %s", m.name, cell, level, sidesTitle(nSides)), Y: Axis{Label: "fraction of requests"}, X: Axis{Label: m.name + " (ms)"}}
		lo, hi := math.Inf(1), 0.0
		fromPct := false
		for side := range nSides {
			var x, y []float64
			switch {
			case hasSamples[side] && len(m.samples(pooledS[side])) > 0:
				x = slices.Clone(m.samples(pooledS[side]))
				slices.Sort(x)
			case len(summaries[side]) > 0:
				if x, y = percentilePoints(m.dist(summaries[side][0])); x == nil {
					continue
				}
				fromPct = true
			default:
				continue
			}
			var px, py []float64
			if y == nil {
				for _, q := range []float64{0.5, 0.9, 0.99} {
					px, py = append(px, analysis.QuantileSorted(x, q)), append(py, q)
				}
				x, y = cdf(x)
			}
			lo, hi = math.Min(lo, x[0]), math.Max(hi, x[len(x)-1])
			n := len(summaries[side])
			ch.Series = append(ch.Series, Series{Name: fmt.Sprintf("%s (%d run%s pooled)", letter(side), n, plural(n)), X: x, Y: y, Colour: colour(side), Marker: len(x) <= 6})
			if px != nil {
				ch.Series = append(ch.Series, Series{Name: letter(side) + " p50, p90, p99", X: px, Y: py, Colour: colour(side), Marker: true, NoLine: true})
			}
		}
		if len(ch.Series) == 0 {
			continue
		}
		ch.X.Log = lo > 0 && hi/lo > 50
		if fromPct {
			ch.Title += " (from percentiles)"
		}
		add(SecVersus, ch.Title, ch.SVG)
	}
}

func sidesTitle(n int) string {
	var l []string
	for i := range n {
		l = append(l, letter(i))
	}
	return strings.Join(l, " vs ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// perRun draws, per cell, each run's output throughput, requests in flight
// (the load a closed loop keeps: its streams) and median TTFT over time, x
// in seconds since that run's own first send, so that runs overlay instead
// of following one another.
func perRun(sides []compare.Side, add func(string, string, func(string) string), missing *[]Missing) {
	byCell, order := pairs(sides)
	for _, key := range order {
		var rs []sideRun
		for _, r := range byCell[key] {
			if len(r.cell.Requests) > 0 {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			*missing = append(*missing, Missing{"Throughput and load over each run of " + key, "no requests.jsonl"})
			continue
		}
		series := make([]runSeries, len(rs))
		for i, r := range rs {
			series[i] = overTime(r.cell.Requests)
			series[i].name, series[i].colour, series[i].dashed = r.name, colour(r.side), r.side%2 == 1 && len(sides) > 2
		}
		drawOverTime(SecRuns, key+", each run from its own start", series, openLoop(cellsOf(rs)), add)
	}
}

// runSeries is one run's figures over time.
type runSeries struct {
	name, colour string
	dashed       bool
	t            []float64 // bin midpoints, seconds since the run's start
	tokens       []float64 // output tokens/s
	inFlight     []float64 // mean requests in flight
	ttftT, ttft  []float64 // median TTFT per bin of scheduled sends
	sendT, send  []float64 // sends per second (open loop)
}

// overTime bins one run's records (about 120 bins, at least a second).
func overTime(recs []measure.Result) runSeries {
	var start, end time.Time
	for _, r := range recs {
		if !r.Scheduled.IsZero() && (start.IsZero() || r.Scheduled.Before(start)) {
			start = r.Scheduled
		}
		if r.End.After(end) {
			end = r.End
		}
	}
	var s runSeries
	if start.IsZero() || !end.After(start) {
		return s
	}
	bin := max(time.Second, end.Sub(start)/120)
	n := int(end.Sub(start)/bin) + 1
	tokens := make([]float64, n)
	busy := make([]float64, n) // request-seconds in flight per bin
	sends := make([]float64, n)
	firsts := map[int][]float64{}
	idx := func(t time.Time) int { return min(n-1, max(0, int(t.Sub(start)/bin))) }
	for _, r := range recs {
		if !r.Sent.IsZero() {
			sends[idx(r.Sent)]++
			for _, c := range r.Chunks {
				tokens[idx(r.Sent.Add(c.At))] += float64(max(c.Tokens, 1))
			}
			// Spread the request's time in flight over the bins it spans.
			for t := r.Sent; t.Before(r.End); {
				i := idx(t)
				next := start.Add(time.Duration(i+1) * bin)
				if next.After(r.End) {
					next = r.End
				}
				if !next.After(t) {
					break
				}
				busy[i] += next.Sub(t).Seconds()
				t = next
			}
		}
		if d, ok := r.TTFT(); ok {
			i := idx(r.Scheduled)
			firsts[i] = append(firsts[i], float64(d)/float64(time.Millisecond))
		}
	}
	sec := bin.Seconds()
	for i := range n {
		s.t = append(s.t, (float64(i)+0.5)*sec)
		s.tokens = append(s.tokens, tokens[i]/sec)
		s.inFlight = append(s.inFlight, busy[i]/sec)
		s.sendT, s.send = append(s.sendT, (float64(i)+0.5)*sec), append(s.send, sends[i]/sec)
		if f, ok := firsts[i]; ok {
			s.ttftT, s.ttft = append(s.ttftT, (float64(i)+0.5)*sec), append(s.ttft, analysis.Quantile(f, 0.5))
		}
	}
	return s
}

// drawOverTime draws throughput, requests in flight and TTFT over time, one
// line per run.
func drawOverTime(sec, what string, runs []runSeries, openLoop bool, add func(string, string, func(string) string)) {
	x := Axis{Label: "seconds since the run's first send", Zero: true}
	tput := LineChart{Title: "Output tokens/s over time, " + what, X: x, Y: Axis{Label: "output tokens/s", Zero: true}}
	load := LineChart{Title: "Requests in flight over time, " + what, X: x, Y: Axis{Label: "requests in flight (mean per interval)", Zero: true}}
	ttft := LineChart{Title: "TTFT over time (median per interval), " + what, X: x, Y: Axis{Label: "TTFT (ms)", Zero: true}}
	send := LineChart{Title: "Send rate over time, " + what, X: x, Y: Axis{Label: "requests sent per second", Zero: true}}
	for _, r := range runs {
		if len(r.t) == 0 {
			continue
		}
		tput.Series = append(tput.Series, Series{Name: r.name, X: r.t, Y: r.tokens, Colour: r.colour, Dashed: r.dashed})
		load.Series = append(load.Series, Series{Name: r.name, X: r.t, Y: r.inFlight, Colour: r.colour, Dashed: r.dashed})
		ttft.Series = append(ttft.Series, Series{Name: r.name, X: r.ttftT, Y: r.ttft, Colour: r.colour, Dashed: r.dashed, Marker: len(r.ttftT) < 30})
		send.Series = append(send.Series, Series{Name: r.name, X: r.sendT, Y: r.send, Colour: r.colour, Dashed: r.dashed})
	}
	charts := []LineChart{tput, load, ttft}
	if openLoop {
		// An open loop's load is its send rate; a closed loop's sends
		// follow completions, so its load is the streams in flight.
		charts = append(charts, send)
	}
	for _, ch := range charts {
		if len(ch.Series) > 0 {
			add(sec, ch.Title, ch.SVG)
		}
	}
}

// runLabel names a cell's run for a legend.
func runLabel(c compare.Cell) string {
	return cmp.Or(c.Summary.RunID, shortLabel(c.Path)) + "/" + c.Key
}

func cellsOf(rs []sideRun) []compare.Cell {
	out := make([]compare.Cell, len(rs))
	for i, r := range rs {
		out[i] = r.cell
	}
	return out
}

// openLoop reports whether any level of the cells was paced open loop.
func openLoop(cells []compare.Cell) bool {
	for _, c := range cells {
		for _, b := range c.Summary.Benchmarks {
			switch b.Profile {
			case "constant", "poisson", "gamma", "ramp", "replay":
				return true
			}
		}
	}
	return false
}
