package orchestrate

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// cell directory or a summary.json, then the suite report if there is one.
func WriteTable(w io.Writer, path string) error {
	sums, err := loadSummaries(path)
	if err != nil {
		return err
	}
	if rs, err := store.ReadState(path); err == nil {
		fmt.Fprintf(w, "run %s, suite %s: %s\n", rs.RunID, rs.Suite, rs.Status)
		for _, c := range rs.Cells {
			if c.Status == store.CellFailed || c.Status == store.CellPending {
				fmt.Fprintf(w, "  %s %s %s\n", c.ID, c.Status, c.Error)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CELL\tLEVEL\tREQ/S\tOUT TOK/S\tTTFT P50 MS\tTTFT P99 MS\tTPOT P50 MS\tOK/TOTAL\tVALID\t")
	for _, s := range sums {
		for _, b := range s.Benchmarks {
			total := b.Requests.Successful + b.Requests.Failed + b.Requests.Incomplete
			valid := "yes"
			if !b.Valid {
				valid = "no: " + strings.Join(b.InvalidReasons, "; ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.1f\t%.1f\t%.1f\t%.2f\t%d/%d\t%s\t\n", s.Cell, b.Level, b.RequestsPerSecond, b.OutputTokensPerSecond,
				b.TTFT.P50, b.TTFT.P99, b.TPOT.P50, b.Requests.Successful, total, valid)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var rep Report
	if b, err := os.ReadFile(filepath.Join(path, "suite-summary.json")); err == nil && json.Unmarshal(b, &rep) == nil {
		if len(rep.Scaling) > 0 {
			writeScaling(w, rep.Scaling)
		}
		if len(rep.Contention) > 0 {
			writeContention(w, rep.Contention)
		}
		for _, n := range rep.Notes {
			fmt.Fprintln(w, "note:", n)
		}
		if len(rep.Repeatability) > 0 {
			writeRepeatability(w, rep.Repeatability)
		}
	}
	writeAudio(w, sums, rep.Audio)
	return nil
}

// printScaling prints the scaling table from valid levels only (— where a
// figure does not exist), then why a row has none or shows no speedup.
func writeScaling(w io.Writer, rows []ScalingRow) {
	fmt.Fprintln(w, "\nscaling (peak output tokens/s of the valid levels; efficiency 1.00 = linear from the smallest core count with a valid level):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tWORKLOAD\tCORES\tVALID LEVELS\tREQ/S\tOUT TOK/S\tTOK/S/CORE\tSPEEDUP\tEFFICIENCY\t")
	var why []string
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t\n", r.Model, r.Workload, r.Cores, r.ValidLevels, r.Levels,
			r.MaxRequestsPerSecond, r.MaxOutputTokensPerSecond, r.OutputTokensPerSecondCore, r.Speedup, r.Efficiency)
		if r.Invalid != "" {
			why = append(why, fmt.Sprintf("%d cores: %s", r.Cores, r.Invalid))
		}
		if r.Anomaly != "" {
			why = append(why, fmt.Sprintf("%d cores: ANOMALY: %s", r.Cores, r.Anomaly))
		}
	}
	tw.Flush()
	for _, x := range why {
		fmt.Fprintln(w, "  "+x)
	}
}

// printContention prints the contention table; a loss is computed only
// between valid levels.
func writeContention(w io.Writer, rows []ContentionRow) {
	fmt.Fprintln(w, "\ncontention (against the isolated cell; loss only between valid levels):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "VARIANT\tLEVEL\tOUT TOK/S\tBASELINE\tLOSS\tTTFT P50 MS\tBASELINE\tVALID\t")
	for _, r := range rows {
		valid := "yes"
		if r.Invalid != "" {
			valid = "no: " + r.Invalid
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t%s\t\n", r.Variant, r.Level, r.OutputTokensPerSecond, r.BaselineTokensPerSec,
			r.ThroughputLoss.Scale(100).Text("%.1f%%"), r.TTFTP50Ms, r.BaselineTTFTP50Ms, valid)
	}
	tw.Flush()
}

// printRepeatability prints each repeated cell's run-to-run variation per
// level and metric, graded, then the percentiles resting on too few samples.
func writeRepeatability(w io.Writer, rows []RepeatRow) {
	fmt.Fprintln(w, "\nrepeatability (coefficient of variation over repetitions; <1% excellent, 1-3% good, 3-5% acceptable, >5% poor):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CELL\tLEVEL\tMETRIC\tRUNS\tMEAN\tSTDDEV\tCV\tGRADE\t")
	var warnings []string
	for _, r := range rows {
		for _, m := range RepeatMetrics {
			sp, ok := r.Metrics[m.Name]
			if !ok {
				continue
			}
			cv := "-"
			if sp.Grade != "unknown" {
				cv = fmt.Sprintf("%.1f%%", sp.CV*100)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%.2f\t%s\t%s\t\n", r.Cell, r.Level, m.Name, sp.N, sp.Mean, sp.StdDev, cv, sp.Grade)
		}
		for _, x := range r.Warnings {
			warnings = append(warnings, fmt.Sprintf("%s %s: %s", r.Cell, r.Level, x))
		}
	}
	tw.Flush()
	for _, x := range warnings {
		fmt.Fprintln(w, "warning:", x)
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
