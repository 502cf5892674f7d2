package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/cli"

	"github.com/servebench/servebench/runner/suite"
)

func init() {
	register(func(e *env) *cobra.Command {
		return &cobra.Command{Use: "suites", Short: "list the built-in suites", Args: cli.NoArgs,
			Example: "  runner suites",
			RunE:    func(*cobra.Command, []string) error { return runSuites(e) }}
	})
	register(func(e *env) *cobra.Command {
		return &cobra.Command{Use: "show SUITE|FILE.yaml", Short: "show a suite: defaults, matrix, levels, what it reports",
			Example: "  runner show scaling\n  runner show my-suite.yaml",
			RunE:    func(_ *cobra.Command, args []string) error { return runShow(e, args) }}
	})
}

func runSuites(e *env) error {
	all, err := suite.Catalogue()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tCELLS\tLEVELS\tREPORTS\tDESCRIPTION")
	for _, s := range all {
		cells, levels := "?", "?"
		if c, err := suite.Resolve(s, suite.Overrides{}, suite.Overrides{}); err == nil {
			if p, err := suite.NewPlan(c); err == nil {
				cells, levels = fmt.Sprint(len(p.Cells)), fmt.Sprint(p.Benchmarks())
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, cells, levels, strings.Join(s.Reports, ","), firstSentence(s.Description))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nRun 'runner show SUITE' for a suite's matrix, 'runner start --suite SUITE --dry-run' for its plan.")
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func runShow(e *env, args []string) error {
	if len(args) != 1 {
		return usagef("show: give one suite name or file")
	}
	s, err := suite.Lookup(args[0])
	if err != nil {
		return cli.Usage(err)
	}
	c, err := suite.Resolve(s, suite.Overrides{}, suite.Overrides{})
	if err != nil {
		return cli.Usage(err)
	}
	p, err := suite.NewPlan(c)
	if err != nil {
		return cli.Usage(err)
	}
	w := e.stdout
	fmt.Fprintf(w, "suite %s (%s)\n%s\n\n", s.Name, s.Source, s.Description)
	fmt.Fprintf(w, "defaults (override with flags or SERVEBENCH_* variables):\n")
	fmt.Fprintf(w, "  models     %s\n  workloads  %s\n  cores      %s\n", strings.Join(c.Models, ", "), strings.Join(c.Workloads, ", "), joinInts(c.Cores))
	fmt.Fprintf(w, "  engine     %s\n  loadgen    %s\n", c.Engine, c.Loadgen)
	fmt.Fprintf(w, "  limits     max %gs and %d requests per level, warmup %gs, cooldown %gs, request timeout %gs\n",
		c.Limits.MaxSeconds, c.Limits.MaxRequests, c.Limits.WarmupSeconds, c.Limits.CooldownSeconds, c.Limits.RequestTimeoutSeconds)
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
			strings.Join(s.Contention.Variants, ", "), s.Contention.NeighbourCores, s.Contention.Instances, orDefault(s.Contention.Balance, "round-robin"))
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
	fmt.Fprintf(w, "matrix: %d cells, %d load levels, %d skipped; at most %s of measurement\n", len(p.Cells), p.Benchmarks(), len(p.Skipped), p.MaxDuration())
	for _, sk := range p.Skipped {
		fmt.Fprintf(w, "  skip %s: %s\n", sk.ID, sk.Skip)
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
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
