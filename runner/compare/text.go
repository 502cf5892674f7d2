package compare

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText renders a report for people: one table per level.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	for _, c := range r.Comparisons {
		fmt.Fprintf(ew, "%s (baseline) vs %s\n", c.A, c.B)
		for _, cc := range c.Cells {
			fmt.Fprintf(ew, "\ncell %s\n", cc.Cell)
			if len(cc.Mismatches) > 0 {
				fmt.Fprintf(ew, "  FORCED despite: %s\n", strings.Join(cc.Mismatches, "; "))
			}
			for _, l := range cc.Levels {
				fmt.Fprintf(ew, "\n  level %s\n", l.Level)
				tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "    metric\tA\tB\tchange\tevidence\tverdict")
				for _, m := range l.Metrics {
					fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", m.Metric, num(m.A, m.Unit), num(m.B, m.Unit), pct(m.Change), evidence(m), verdictText(m))
				}
				tw.Flush()
				if l.CostA != nil || l.CostB != nil {
					fmt.Fprintf(ew, "    cost: A %s | B %s\n", costText(l.CostA), costText(l.CostB))
				}
				for _, s := range l.Spread {
					fmt.Fprintf(ew, "    repeatability %s %s: CV %.2f%% over %d runs (%s)\n", s.Side, s.Metric, 100*s.Spread.CV, s.Spread.N, s.Spread.Grade)
				}
				for _, wn := range l.Warnings {
					fmt.Fprintf(ew, "    warning: %s\n", wn)
				}
			}
		}
		for _, u := range c.Unmatched {
			fmt.Fprintf(ew, "  not compared: %s\n", u)
		}
		fmt.Fprintln(ew)
	}
	tested := fmt.Sprintf("%d metric(s) judged, %d not tested for lack of data; alpha %g, min change %.1f%%", r.Judged, r.Untested, r.Options.Alpha, 100*r.Options.MinChange)
	if r.Regressions > 0 {
		fmt.Fprintf(ew, "REGRESSION: %d metric(s) regressed (%s)\n", r.Regressions, tested)
	} else {
		fmt.Fprintf(ew, "no regression (%s)\n", tested)
	}
	return ew.err
}

func verdictText(m MetricVerdict) string {
	s := string(m.Verdict)
	if m.Note != "" {
		s += " (" + m.Note + ")"
	}
	return s
}

func evidence(m MetricVerdict) string {
	var parts []string
	if m.P != nil {
		parts = append(parts, fmt.Sprintf("p=%.3g", *m.P))
	}
	if m.CI != nil {
		parts = append(parts, fmt.Sprintf("%.0f%% CI [%s, %s]", 100*m.CI.Level, pct(m.CI.Lo), pct(m.CI.Hi)))
	}
	if m.Test != "" {
		parts = append(parts, m.Test)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func num(v float64, unit string) string {
	switch unit {
	case "bool":
		if v == 1 {
			return "yes"
		}
		return "no"
	case "ratio":
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return fmt.Sprintf("%.4g %s", v, unit)
}

func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*v)
}

func costText(c *Cost) string {
	if c == nil {
		return "cores unknown"
	}
	s := fmt.Sprintf("%.3g tok/s/core on %d cores", c.OutputTokensPerCore, c.Cores)
	if c.PricePerMillionOutputs > 0 {
		s += fmt.Sprintf(", %.4g per 1M output tokens at %g per core-hour", c.PricePerMillionOutputs, c.CoreHourPrice)
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
