package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty"
)

func init() {
	register(newImportCmd)
	// compare, report and backfill read third-party files directly too.
	resultDecoders = append(resultDecoders, thirdparty.Decode)
}

type importFlags struct {
	root, output string
	o            thirdparty.ImportOptions
}

func newImportCmd(e *env) *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:   "import [--results DIR | --output summary.json] FILE...",
		Short: "import GuideLLM and vllm bench serve result files into the results store",
		Long: `FILE is a GuideLLM JSON report (v0.4 to v0.7) or a vllm bench serve
--save-result file (JSON or JSON Lines). The numbers are the source's,
normalised to servebench's summary shape; the source file is kept beside it.`,
		Example: `  runner import --results results benchmarks.json
  runner import vllm-bench.json --cores 16 --workload chat
  runner import --output summary.json benchmarks.json`,
		RunE: func(_ *cobra.Command, args []string) error { return runImport(e, args, f) },
	}
	fs := c.Flags()
	fs.StringVar(&f.root, "results", "", "results `DIR` to import into, as <DIR>/<suite>/<run>/<cell>/ (default results, or SERVEBENCH_RESULTS)")
	fs.StringVar(&f.output, "output", "", "write the normalised summary.json here instead of into the store (one FILE only)")
	fs.StringVar(&f.o.Suite, "suite", "import", "suite the imported runs belong to (their history series carry it)")
	fs.StringVar(&f.o.Workload, "workload", "", "workload name to record (the files do not say; default custom)")
	fs.IntVar(&f.o.Cores, "cores", 0, "engine cores the server had (the files do not say; enables tokens/s per core)")
	return c
}

func runImport(e *env, files []string, fl importFlags) error {
	if len(files) == 0 {
		return usagef("import: give at least one result file")
	}
	if fl.output != "" && (len(files) != 1 || fl.root != "") {
		return usagef("import: --output takes exactly one FILE and no --results")
	}
	if err := fl.o.Validate(); err != nil {
		return usagef("import: --suite, --cores: %w", err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return usagef("import: %w", err)
		}
		s, f, err := thirdparty.Import(path, data, fl.o)
		if err != nil {
			return usagef("import: %w", err)
		}
		dest := fl.output
		if dest != "" {
			err = results.WriteSummaryFile(dest, s)
		} else {
			dest, err = thirdparty.Store(resultsRoot(fl.root, e.getenv), s, f, path, data)
		}
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		fmt.Fprintf(e.stdout, "%s (%s): %d benchmarks -> %s\n", path, f, len(s.Benchmarks), dest)
	}
	return nil
}
