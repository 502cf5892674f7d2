package compare

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText renders a report for people: one table per level, then the
// outcome.
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
				fmt.Fprintf(ew, "\n  level %s (%d vs %d runs)\n", l.Level, l.RunsA, l.RunsB)
				if l.Inconclusive != "" {
					fmt.Fprintf(ew, "    INCONCLUSIVE: %s\n", l.Inconclusive)
				}
				tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "    metric\tA\tB\tchange\t%.0f%% CI\tMDE\tnoise CV\tp adj.\twithin runs\tverdict\n", 100*(1-r.Options.Alpha))
				for _, m := range l.Metrics {
					fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Metric, num(m.A, m.Unit), num(m.B, m.Unit), pct(m.Change),
						interval(m), mdeText(m), noiseText(m), pText(m.PAdjusted), withinText(m), verdictText(m))
				}
				tw.Flush()
				if l.CostA != nil || l.CostB != nil {
					fmt.Fprintf(ew, "    cost: A %s | B %s\n", costText(l.CostA), costText(l.CostB))
				}
				for _, side := range []string{"a", "b"} {
					var parts []string
					n := 0
					for _, s := range l.Spread {
						if s.Side == side {
							parts = append(parts, fmt.Sprintf("%s %.2f%%", s.Metric, 100*s.Spread.CV))
							n = s.Spread.N
						}
					}
					if len(parts) > 0 {
						fmt.Fprintf(ew, "    repeatability %s (CV over %d runs): %s\n", strings.ToUpper(side), n, strings.Join(parts, ", "))
					}
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
	tested := fmt.Sprintf("%d metric(s) judged (%d inconclusive), %d not tested for lack of data; alpha %g over each comparison, min change %.1f%%, MDE at %.0f%% power",
		r.Judged, r.Inconclusive, r.Untested, r.Options.Alpha, 100*r.Options.MinChange, 100*r.Options.Power)
	switch r.Outcome {
	case OutcomeRegression:
		fmt.Fprintf(ew, "REGRESSION: %d metric(s) regressed (%s)\n", r.Regressions, tested)
	case OutcomeInconclusive:
		fmt.Fprintf(ew, "INCONCLUSIVE: no regression shown, but the evidence cannot rule one out (%s):\n", tested)
		for _, why := range r.Reasons {
			fmt.Fprintf(ew, "  - %s\n", why)
		}
	default:
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

func interval(m MetricVerdict) string {
	if m.CI == nil {
		return "-"
	}
	return fmt.Sprintf("[%s, %s]", pct(m.CI.Lo), pct(m.CI.Hi))
}

func mdeText(m MetricVerdict) string { return cmp.Or(m.MDEText(), "-") }

func noiseText(m MetricVerdict) string {
	if m.NoiseCV == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f%% %s", 100**m.NoiseCV, m.NoiseSource)
}

func pText(p *float64) string {
	if p == nil || math.IsNaN(*p) {
		return "-"
	}
	return fmt.Sprintf("%.3g", *p)
}

func withinText(m MetricVerdict) string {
	switch {
	case m.WithinP != nil:
		return "p=" + pText(m.WithinP)
	case m.WithinCI != nil:
		return fmt.Sprintf("[%s, %s]", pct(m.WithinCI.Lo), pct(m.WithinCI.Hi))
	}
	return "-"
}

func num(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
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
