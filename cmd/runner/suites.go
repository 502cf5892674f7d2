package main

import (
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

func runSuites(e *env) error { return suite.WriteCatalogue(e.stdout) }

func runShow(e *env, args []string) error {
	if len(args) != 1 {
		return usagef("show: give one suite name or file")
	}
	s, err := suite.Lookup(args[0])
	if err != nil {
		return cli.Usage(err)
	}
	return cli.Usage(suite.Describe(e.stdout, s))
}
