package main

import (
	"github.com/spf13/cobra"

	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/store"
)

func init() { register(newResultsCmd) }

func newResultsCmd(e *env) *cobra.Command {
	var last, list bool
	var root string
	c := &cobra.Command{
		Use:   "results [--last | --list | PATH]",
		Short: "show a run's results as a table (--last, a run or cell directory, or summary.json)",
		Example: `  runner results --last
  runner results --list
  runner results results/smoke/20260101-120000-abcd`,
		RunE: func(_ *cobra.Command, args []string) error { return runResults(e, args, last, list, root) },
	}
	c.Flags().BoolVar(&last, "last", false, "the last run started (default when no PATH is given)")
	c.Flags().BoolVar(&list, "list", false, "list the runs under the results directory")
	c.Flags().StringVar(&root, "results", "", "results `DIR` (default results, or SERVEBENCH_RESULTS)")
	return c
}

func runResults(e *env, args []string, last, list bool, root string) error {
	st := store.New(resultsRoot(root, e.getenv), nil)
	if list && (last || len(args) > 0) {
		return usagef("results: --list takes no PATH and no --last")
	}
	if list {
		runs, err := st.Runs()
		if err != nil {
			return err
		}
		return orchestrate.WriteRunList(e.stdout, runs)
	}
	if len(args) > 1 {
		return usagef("results: give at most one PATH")
	}
	path := ""
	if len(args) == 1 {
		path = args[0]
	}
	if path == "" || last {
		p, err := st.Last()
		if err != nil {
			return usagef("results: %v (run a suite first, or give a PATH)", err)
		}
		path = p
	}
	return orchestrate.WriteTable(e.stdout, path)
}
