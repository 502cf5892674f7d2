package suite

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteCatalogue prints the built-in suites, one line each: name, cells,
// load levels, reports and the description's first sentence.
func WriteCatalogue(w io.Writer) error {
	all, err := Catalogue()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tCELLS\tLEVELS\tREPORTS\tDESCRIPTION")
	for _, s := range all {
		cells, levels := "?", "?"
		if c, err := Resolve(s, Overrides{}, Overrides{}); err == nil {
			if p, err := NewPlan(c); err == nil {
				cells, levels = fmt.Sprint(len(p.Cells)), fmt.Sprint(p.Benchmarks())
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, cells, levels, strings.Join(s.Reports, ","), firstSentence(s.Description))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nRun 'runner show SUITE' for a suite's matrix, 'runner start --suite SUITE --dry-run' for its plan.")
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// Describe prints a suite for people: its defaults, phases, load levels,
// reports and matrix, with the cells its plan skips and why.
func Describe(w io.Writer, s *Suite) error {
	c, err := Resolve(s, Overrides{}, Overrides{})
	if err != nil {
		return err
	}
	p, err := NewPlan(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "suite %s (%s)\n%s\n\n", s.Name, s.Source, s.Description)
	fmt.Fprintf(w, "defaults (override with flags or SERVEBENCH_* variables):\n")
	fmt.Fprintf(w, "  models     %s\n  workloads  %s\n  cores      %s\n", strings.Join(c.Models, ", "), strings.Join(c.Workloads, ", "), joinInts(c.Cores))
	fmt.Fprintf(w, "  engine     %s\n  loadgen    %s\n", c.Engine, c.Loadgen)
	fmt.Fprintf(w, "  limits     max %gs and %d requests per level, warmup %gs, cooldown %gs, drain %gs, request timeout %gs, stream idle timeout %gs\n",
		c.Limits.MaxSeconds, c.Limits.MaxRequests, c.Limits.WarmupSeconds, c.Limits.CooldownSeconds, c.Limits.DrainTimeoutSeconds,
		c.Limits.RequestTimeoutSeconds, c.Limits.StreamIdleTimeoutSeconds)
	if len(s.Phases) > 0 {
		fmt.Fprintln(w, "phases:")
		for _, ph := range s.Phases {
			wl := "workloads as listed"
			if ph.WorkloadSuffix != "" {
				wl = "the " + ph.WorkloadSuffix + " variant of each workload"
			}
			fmt.Fprintf(w, "  %-11s %s, prefix caching %v\n", ph.Name, wl, ph.PrefixCaching)
		}
	}
	if s.Contention != nil {
		fmt.Fprintf(w, "contention variants: %s (neighbour cores %d, instances %d, balance %s)\n",
			strings.Join(s.Contention.Variants, ", "), s.Contention.NeighbourCores, s.Contention.Instances, cmp.Or(s.Contention.Balance, "round-robin"))
	}
	fmt.Fprintln(w, "load levels, per cell:")
	for _, st := range s.Stages {
		switch {
		case st.FindsMax:
			fmt.Fprintf(w, "  %-11s %s streams; its achieved request rate is the cell's maximum\n", st.Profile, joinFloats(st.Levels))
		case len(st.Fractions) > 0:
			fmt.Fprintf(w, "  %-11s at %s of the maximum rate\n", st.Profile, joinPct(st.Fractions))
		default:
			unit := "req/s"
			if st.Profile == "concurrent" || st.Profile == "throughput" || st.Profile == "synchronous" {
				unit = "streams"
			}
			fmt.Fprintf(w, "  %-11s %s %s\n", st.Profile, joinFloats(st.Levels), unit)
		}
	}
	fmt.Fprintf(w, "reports: %s\n", strings.Join(s.Reports, ", "))
	fmt.Fprintf(w, "matrix: %d cells, %d load levels, %d skipped; %s\n", len(p.Cells), p.Benchmarks(), len(p.Skipped), p.Budget())
	for _, sk := range p.Skipped {
		fmt.Fprintf(w, "  skip %s: %s\n", sk.ID, sk.Skip)
	}
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

func joinPct(v []float64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprintf("%g%%", n*100)
	}
	return strings.Join(s, ",")
}
