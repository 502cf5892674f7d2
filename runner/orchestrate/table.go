package orchestrate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

// WriteRunList prints one line per run directory: its id, suite, status
// and finished cells. A directory without a readable state is left out.
func WriteRunList(w io.Writer, runs []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSUITE\tSTATUS\tCELLS DONE\tDIR")
	for _, dir := range runs {
		rs, err := store.ReadState(dir)
		if err != nil {
			continue
		}
		done := 0
		for _, c := range rs.Cells {
			if c.Status == store.CellDone {
				done++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", rs.RunID, rs.Suite, rs.Status, done, len(rs.Cells), dir)
	}
	return tw.Flush()
}

// WriteTable prints one table row per benchmark of a run directory, a
// cell directory or a summary.json, under a heading per cell (sorted by
// model, workload, then cores as numbers), then the suite report if there
// is one. Every table fits TableWidth columns: a level's invalid reasons
// are a numbered footnote below the table.
func WriteTable(w io.Writer, path string) error {
	sums, err := loadSummaries(path)
	if err != nil {
		return err
	}
	suiteName := ""
	if rs, err := store.ReadState(path); err == nil {
		suiteName = rs.Suite
		fmt.Fprintf(w, "run %s, suite %s: %s\n", rs.RunID, rs.Suite, rs.Status)
		for _, c := range rs.Cells {
			if c.Status == store.CellFailed || c.Status == store.CellPending {
				writeWrapped(w, "  ", fmt.Sprintf("%s %s %s", c.ID, c.Status, c.Error))
			}
		}
	}
	sort.SliceStable(sums, func(i, j int) bool {
		a, b := sums[i], sums[j]
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Workload, b.Workload), cmp.Compare(a.Cores, b.Cores), cmp.Compare(a.Cell, b.Cell)) < 0
	})
	t := newTable("LEVEL\tREQ/S\tOUT TOK/S\tTTFT P50 MS\tTTFT P99 MS\tTPOT P50 MS\tOK/TOTAL\tVALID\t")
	for _, s := range sums {
		t.group(s.Cell)
		for _, b := range s.Benchmarks {
			total := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
			valid := "yes"
			if !b.Valid {
				valid = "no " + t.note(fmt.Sprintf("%s %s: %s", s.Cell, b.Level, reasonsOf(b)))
			}
			t.row("%s\t%.2f\t%.1f\t%.1f\t%.1f\t%.2f\t%d/%d\t%s\t", b.Level, b.RequestsPerSecond, b.OutputTokensPerSecond,
				b.TTFT.P50, b.TTFT.P99, b.TPOT.P50, b.Requests.Successful, total, valid)
		}
	}
	if err := t.write(w); err != nil {
		return err
	}
	if n := absentP99(sums, suiteName); n != "" {
		writeWrapped(w, "", n)
	}
	writeCrossCheck(w, sums)
	var rep Report
	if b, err := os.ReadFile(filepath.Join(path, "suite-summary.json")); err == nil && json.Unmarshal(b, &rep) == nil {
		if len(rep.Scaling) > 0 {
			writeScaling(w, rep.Scaling)
		}
		if len(rep.Contention) > 0 {
			writeContention(w, rep.Contention)
		}
		for _, n := range rep.Notes {
			writeWrapped(w, "note: ", n)
		}
		if len(rep.Repeatability) > 0 {
			writeRepeatability(w, rep.Repeatability)
		}
	}
	writeAudio(w, sums, rep.Audio)
	return nil
}

// writeCrossCheck prints, for levels a third-party tool drove, whose
// figures the level has and each figure of the tool's report beside the
// metering proxy's, with the tolerance and whether they agree. Nothing
// when no level was cross-checked.
func writeCrossCheck(w io.Writer, sums []*results.Summary) {
	t := newTable("LEVEL	FIGURES FROM	FIGURE	TOOL	PROXY	TOLERANCE	AGREE	")
	any := false
	for _, s := range sums {
		grouped := false
		for _, b := range s.Benchmarks {
			if b.CrossCheck == nil {
				continue
			}
			if !grouped {
				t.group(s.Cell)
				grouped = true
			}
			any = true
			from := cmp.Or(b.Source, "-")
			if len(b.CrossCheck.Rows) == 0 {
				t.row("%s	%s	%s					", b.Level, from, "(nothing both measured)")
			}
			for _, r := range b.CrossCheck.Rows {
				agree := "yes"
				if !r.Agree {
					agree = "NO"
				}
				t.row("%s	%s	%s	%s	%s	%s	%s	", b.Level, from, r.Figure, crossNum(r.Tool), crossNum(r.Proxy), r.Tolerance, agree)
			}
		}
	}
	if !any {
		return
	}
	fmt.Fprintln(w, "\ncross-check (each tool's report against the metering proxy that carried its traffic; a disagreement invalidates the level):")
	_ = t.write(w)
}

func crossNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// absentP99 explains a p99 left out for too few samples: how many it
// needs and, at the rates the levels measured, the --max-seconds that
// would give every level one. "" when every p99 is there.
func absentP99(sums []*results.Summary, suiteName string) string {
	need, absent := 0.0, false
	for _, s := range sums {
		for _, b := range s.Benchmarks {
			if b.TTFT.P99.Present() || b.Requests.Successful == 0 {
				continue
			}
			absent = true
			if rps, ok := b.RequestsPerSecond.Get(); ok && rps > 0 {
				need = max(need, results.DefaultMinSamplesP99/rps)
			}
		}
	}
	if !absent {
		return ""
	}
	n := fmt.Sprintf("—: absent, not zero. A p99 needs %d samples in its level (TTFT: one per successful request) and some levels had fewer.",
		results.DefaultMinSamplesP99)
	if suiteName == "smoke" {
		n += " Smoke levels are short by design: the smoke suite checks that everything works end to end, and it did when every level has successful requests."
	}
	if need > 0 {
		n += fmt.Sprintf(" At the rates measured, --max-seconds %d gives every level a p99", int(math.Ceil((need+need/10)/10)*10)) // 10% to spare
	}
	return strings.TrimSuffix(n, ".") + "."
}

// writeScaling prints the scaling table from valid levels only (— where a
// figure does not exist), rows under a heading per model and workload,
// then why a row has none or shows no speedup.
func writeScaling(w io.Writer, rows []ScalingRow) {
	fmt.Fprintln(w, "\nscaling (peak output tokens/s of valid levels; efficiency 1.00 = linear from the smallest core count with one):")
	rows = slices.Clone(rows)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Workload, b.Workload), cmp.Compare(a.Cores, b.Cores)) < 0
	})
	t := newTable("CORES\tVALID LEVELS\tREQ/S\tOUT TOK/S\tTOK/S/CORE\tSPEEDUP\tEFFICIENCY\tNOTE\t")
	for i, r := range rows {
		if i == 0 || r.Model != rows[i-1].Model || r.Workload != rows[i-1].Workload {
			t.group("model " + r.Model + ", workload " + r.Workload)
		}
		var marks []string
		if r.Invalid != "" {
			marks = append(marks, t.note(fmt.Sprintf("%s %s %d cores: %s", r.Model, r.Workload, r.Cores, r.Invalid)))
		}
		if r.Anomaly != "" {
			marks = append(marks, t.note(fmt.Sprintf("%s %s %d cores: ANOMALY: %s", r.Model, r.Workload, r.Cores, r.Anomaly)))
		}
		t.row("%d\t%d/%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t%s\t", r.Cores, r.ValidLevels, r.Levels,
			r.MaxRequestsPerSecond, r.MaxOutputTokensPerSecond, r.OutputTokensPerSecondCore, r.Speedup, r.Efficiency, strings.Join(marks, " "))
	}
	_ = t.write(w)
}

// writeContention prints the contention table; a loss is computed only
// between valid levels.
func writeContention(w io.Writer, rows []ContentionRow) {
	fmt.Fprintln(w, "\ncontention (against the isolated cell; loss only between valid levels):")
	t := newTable("VARIANT\tLEVEL\tOUT TOK/S\tBASELINE\tLOSS\tTTFT P50 MS\tBASELINE\tVALID\t")
	for _, r := range rows {
		valid := "yes"
		if r.Invalid != "" {
			valid = "no " + t.note(fmt.Sprintf("%s %s: %s", r.Variant, r.Level, r.Invalid))
		}
		t.row("%s\t%s\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t%s\t", r.Variant, r.Level, r.OutputTokensPerSecond, r.BaselineTokensPerSec,
			r.ThroughputLoss.Scale(100).Text("%.1f%%"), r.TTFTP50Ms, r.BaselineTTFTP50Ms, valid)
	}
	_ = t.write(w)
}

// writeRepeatability prints each repeated cell's run-to-run variation per
// level and metric, graded, under a heading per cell, then the percentiles
// resting on too few samples.
func writeRepeatability(w io.Writer, rows []RepeatRow) {
	fmt.Fprintln(w, "\nrepeatability (coefficient of variation over repetitions; <1% excellent, 1-3% good, 3-5% acceptable, >5% poor):")
	t := newTable("LEVEL\tMETRIC\tRUNS\tMEAN\tSTDDEV\tCV\tGRADE\t")
	var warnings []string
	for i, r := range rows {
		if i == 0 || r.Cell != rows[i-1].Cell {
			t.group(r.Cell)
		}
		for _, m := range RepeatMetrics {
			sp, ok := r.Metrics[m.Name]
			if !ok {
				continue
			}
			cv := "-"
			if sp.Grade != "unknown" {
				cv = fmt.Sprintf("%.1f%%", sp.CV*100)
			}
			t.row("%s\t%s\t%d\t%.2f\t%.2f\t%s\t%s\t", r.Level, m.Name, sp.N, sp.Mean, sp.StdDev, cv, sp.Grade)
		}
		for _, x := range r.Warnings {
			warnings = append(warnings, fmt.Sprintf("%s %s: %s", r.Cell, r.Level, x))
		}
	}
	_ = t.write(w)
	for _, x := range warnings {
		writeWrapped(w, "warning: ", x)
	}
}

// loadSummaries reads a summary.json, a cell directory or every cell of a
// run directory (sorted by cell name).
func loadSummaries(path string) ([]*results.Summary, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var files []string
	switch {
	case !fi.IsDir():
		files = []string{path}
	default:
		if _, err := os.Stat(filepath.Join(path, "summary.json")); err == nil {
			files = []string{filepath.Join(path, "summary.json")}
		} else {
			files, _ = filepath.Glob(filepath.Join(path, "*", "summary.json"))
			sort.Strings(files)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("results: no summary.json under %s", path)
	}
	var out []*results.Summary
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		var s results.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("results: %s: %w", f, err)
		}
		if s.Cell == "" {
			s.Cell = filepath.Base(filepath.Dir(f))
		}
		out = append(out, &s)
	}
	return out, nil
}
