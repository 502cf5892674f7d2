package rank

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText renders a ranking for people: one row per configuration, the
// best first, then those that met nothing with the reason.
func WriteText(w io.Writer, r Result) error {
	var slo []string
	for _, o := range r.Options.SLO {
		slo = append(slo, o.String())
	}
	by := "output tokens/s per core"
	if r.Options.By == ByThroughput {
		by = "output tokens/s"
	}
	head := "no SLO given"
	if len(slo) > 0 {
		head = "SLO " + strings.Join(slo, ", ")
	}
	if _, err := fmt.Fprintf(w, "%s; ranked by %s; valid levels only\n\n", head, by); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cols := []string{"rank", "cell", "model", "workload", "cores", "layout", "runs", "level", "output tok/s", "tok/s per core", "scaling eff."}
	if r.Options.CoreHourPrice > 0 {
		cols = append(cols, fmt.Sprintf("per 1M output tokens at %g/core-hour", r.Options.CoreHourPrice))
	}
	for _, o := range r.Options.SLO {
		cols = append(cols, o.Metric+" ms")
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, row := range r.Rows {
		rank := "—"
		if row.Rank > 0 {
			rank = strconv.Itoa(row.Rank)
		}
		cells := []string{rank, row.Cell, row.Model, row.Workload, strconv.Itoa(row.Cores), dash(row.Layout), strconv.Itoa(row.Runs), dash(row.Level),
			num(row.OutputTokensPerSecond), num(row.PerCore), pct(row.Efficiency)}
		if r.Options.CoreHourPrice > 0 {
			cells = append(cells, num(row.PricePerMillion))
		}
		for _, o := range r.Options.SLO {
			if v, ok := row.Figures[o.Metric]; ok {
				cells = append(cells, strconv.FormatFloat(v, 'g', 4, 64))
			} else {
				cells = append(cells, "—")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, row := range r.Rows {
		if row.Why != "" {
			fmt.Fprintf(w, "%s (%d cores): %s\n", row.Cell, row.Cores, row.Why)
		}
	}
	if len(r.Invalid) > 0 {
		fmt.Fprintf(w, "left out as invalid: %d level(s)\n", len(r.Invalid))
		for _, i := range r.Invalid {
			fmt.Fprintf(w, "  - %s\n", i)
		}
	}
	var err error
	if b := r.Best; b != nil {
		_, err = fmt.Fprintf(w, "best: %s (%s, %d cores%s) at %s: %s output tok/s, %s per core\n", b.Cell, b.Model, b.Cores, layoutText(b.Layout), b.Level,
			num(b.OutputTokensPerSecond), num(b.PerCore))
	} else {
		_, err = fmt.Fprintln(w, "no configuration meets the SLO at a valid level")
	}
	return err
}

func layoutText(l string) string {
	if l == "" {
		return ""
	}
	return ", " + l
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func num(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

func pct(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100**v)
}
