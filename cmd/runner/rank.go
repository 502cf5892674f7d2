package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/rank"
	"github.com/servebench/servebench/runner/store"
)

func init() { register(newRankCmd) }

type rankFlags struct {
	slo      []string
	price    float64
	by, root string
	asJSON   bool
}

func newRankCmd(e *env) *cobra.Command {
	var f rankFlags
	c := &cobra.Command{
		Use:   "rank [flags] [RUN...]",
		Short: "rank a suite run's configurations that meet an SLO: tokens/s per core, cost, scaling efficiency; exit 3 when none does",
		Long: `Without inputs it ranks the last run under --results.

For each configuration of the run (model, workload, cores, instance layout;
repetitions together) the best valid level meeting every --slo objective,
its output tokens/s, tokens/s per core, the price of a million output tokens
at --core-hour-price, and the scaling efficiency against the smallest core
count of the same model and layout. Invalid levels never count.

Exit 0: a configuration meets the SLO; 3: none does; 2: bad input.`,
		Example: `  runner rank --slo ttft_p99<=1s --slo itl_p99<=100ms results/scaling/RUN
  runner rank --slo e2e_p95<=5s --core-hour-price 0.05 --by throughput`,
		RunE: func(_ *cobra.Command, args []string) error { return runRank(e, args, f) },
	}
	fs := c.Flags()
	fs.StringArrayVar(&f.slo, "slo", nil, "objective `METRIC<=DURATION`, repeatable: ttft, itl, tpot or e2e with _p50, _p90, _p95, _p99 or _p999 (e.g. ttft_p99<=1s)")
	fs.Float64Var(&f.price, "core-hour-price", 0, "price of one core-hour, for the cost per million output tokens (0: omit)")
	fs.StringVar(&f.by, "by", rank.ByPerCore, "rank by per-core (output tokens/s per core: the cost of a token) or throughput")
	fs.BoolVar(&f.asJSON, "json", false, "print the ranking as JSON")
	fs.StringVar(&f.root, "results", "", "results `DIR` whose last run is ranked when no RUN is given (default results, or SERVEBENCH_RESULTS)")
	return c
}

func runRank(e *env, inputs []string, f rankFlags) error {
	o := rank.Options{CoreHourPrice: f.price, By: f.by}
	if f.price < 0 {
		return usagef("rank: --core-hour-price must be >= 0")
	}
	for _, s := range f.slo {
		obj, err := rank.ParseObjective(s)
		if err != nil {
			return usagef("rank: --slo: %w", err)
		}
		o.SLO = append(o.SLO, obj)
	}
	if len(inputs) == 0 {
		last, err := store.New(resultsRoot(f.root, e.getenv), nil).Last()
		if err != nil {
			return usagef("rank: give a run directory, or run one first: %w", err)
		}
		inputs = []string{last}
	}
	cells, err := compare.Loader{Decoders: resultDecoders}.LoadAll(inputs)
	if err != nil {
		return usagef("rank: %w", err)
	}
	res, err := rank.Rank(cells, o)
	if err != nil {
		return usagef("rank: %w", err)
	}
	if f.asJSON {
		err = compare.WriteJSON(e.stdout, res)
	} else {
		err = rank.WriteText(e.stdout, res)
	}
	if err != nil {
		return err
	}
	if res.Best == nil {
		return exitError{code: exitRegression, err: errors.New("rank: no configuration meets the SLO at a valid level")}
	}
	return nil
}
