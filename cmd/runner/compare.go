package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/runner/compare"
)

func init() { register(newCompareCmd) }

// resultDecoders read third-party result files (GuideLLM, vllm bench serve);
// import.go adds them.
var resultDecoders []compare.Decoder

// compareFlags are runner compare's flags.
type compareFlags struct {
	o                                        compare.Options
	asJSON, failUntested, cross, updateFloor bool
	floor                                    string
}

func newCompareCmd(e *env) *cobra.Command {
	var f compareFlags
	c := &cobra.Command{
		Use:   "compare [flags] BASELINE OTHER [OTHER...]",
		Short: "compare runs, cells or result files with statistics; exit 3 on a regression, 5 when inconclusive",
		Long: `Each input is a run directory, a cell directory, a summary.json, or a GuideLLM
or vllm bench serve result file. Join repeats of one configuration with commas
(a1,a2,a3); the repetitions of runner start --repeat count as repeats too.
Every OTHER is judged against BASELINE on per-run figures, with the
run-to-run variance from the repeats and --noise-floor; without either, a
change inside the default floor is inconclusive (docs/analysis.md).

Exit 0: no regression; 3: a regression; 5: inconclusive (too little
evidence, or a client-bound or invalid side); 2: bad input.`,
		Example: `  runner compare results/smoke/RUN_A results/smoke/RUN_B
  runner compare --min-change 0.05 a1,a2,a3 b1,b2,b3
  runner compare --noise-floor floor.json --update-noise-floor BASELINE_RUN NEW_RUN
  runner compare --cross guidellm.json vllm-bench.json results/smoke/RUN_A`,
		RunE: func(_ *cobra.Command, args []string) error { return runCompare(e, args, &f) },
	}
	fs, o := c.Flags(), &f.o
	fs.BoolVar(&f.asJSON, "json", false, "print the verdicts as JSON")
	fs.BoolVar(&f.failUntested, "fail-untested", false, "exit 2 when any metric could not be tested (data missing), so CI cannot pass on nothing")
	fs.BoolVar(&f.cross, "cross", false, "cross-validation: one table of the same metrics per load generator, no verdicts")
	fs.BoolVar(&o.Force, "force", false, "compare even when hardware or configuration differ")
	fs.Float64Var(&o.Alpha, "alpha", 0.01, "probability of calling a regression between two samples of one configuration, per comparison (Benjamini-Hochberg over its tests)")
	fs.Float64Var(&o.MinChange, "min-change", 0.03, "smallest relative change that counts (0.03 = 3%)")
	fs.Float64Var(&o.Power, "power", 0.8, "power at which the minimal detectable effect (MDE) of each metric is stated")
	fs.Float64Var(&o.MaxMDE, "max-mde", 0.10, "a throughput or median metric whose test could not detect a change this large (0.10 = 10%) is inconclusive")
	fs.StringVar(&f.floor, "noise-floor", "", "noise-floor `FILE`: run-to-run variance of each configuration on this host, from earlier repeats (a missing file is empty)")
	fs.BoolVar(&f.updateFloor, "update-noise-floor", false, "add this comparison's repeats to --noise-floor FILE")
	fs.IntVar(&o.Iterations, "iterations", 1000, "bootstrap resamples")
	fs.Uint64Var(&o.Seed, "seed", 1, "bootstrap seed (same seed, same intervals)")
	fs.Float64Var(&o.CoreHourPrice, "core-hour-price", 0, "price of one core-hour, for the cost per million output tokens (0: omit)")
	return c
}

func runCompare(e *env, args []string, f *compareFlags) error {
	o := f.o
	if len(args) < 2 {
		return usagef("compare: give at least two inputs (see runner compare -h)")
	}
	if err := o.Check(); err != nil {
		return usagef("compare: %w", err)
	}
	if f.updateFloor && f.floor == "" {
		return usagef("compare: --update-noise-floor needs --noise-floor FILE")
	}
	if f.floor != "" {
		fl, err := compare.ReadFloor(f.floor)
		if err != nil {
			return usagef("compare: --noise-floor: %w", err)
		}
		o.Floor = fl
	}
	sides, err := compare.Loader{Decoders: resultDecoders}.Sides(args)
	if err != nil {
		return usagef("compare: %w", err)
	}
	if f.cross {
		tables, err := compare.CrossSides(sides, o.Force)
		if err != nil {
			return usagef("compare: %w", err)
		}
		if f.asJSON {
			return compare.WriteJSON(e.stdout, tables)
		}
		return compare.WriteCrossText(e.stdout, tables)
	}
	rep, err := compare.Compare(sides, o)
	if err != nil {
		return usagef("compare: %w", err)
	}
	if f.asJSON {
		err = compare.WriteJSON(e.stdout, rep)
	} else {
		err = compare.WriteText(e.stdout, rep)
	}
	if err != nil {
		return err
	}
	if f.updateFloor {
		n := o.Floor.Add(time.Now(), rep.FloorUpdates...)
		if err := o.Floor.Write(f.floor); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		fmt.Fprintf(e.stderr, "compare: %d run-to-run measurement(s) added to the noise floor %s\n", n, f.floor)
	}
	switch err := rep.Err(); {
	case errors.Is(err, compare.ErrRegression):
		return exitError{code: exitRegression, err: fmt.Errorf("compare: %w", err)}
	case errors.Is(err, compare.ErrInconclusive):
		return exitError{code: exitInconclusive, err: fmt.Errorf("compare: %w", err)}
	}
	if f.failUntested && rep.Untested > 0 {
		return usagef("compare: %d metric(s) could not be tested (--fail-untested)", rep.Untested)
	}
	return nil
}
