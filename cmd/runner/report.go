package main

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/report"
	"github.com/servebench/servebench/runner/store"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	report.Job
	root string
	pdf  bool
}

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report [flags] [RUN|CELL|FILE...]",
		Short: "write a self-contained HTML report (inline SVG charts) of a run, or of A against B; --pdf prints it",
		Long: `Without inputs it reports the last run under --results.

Draws one HTML page that needs no network to view: scaling with cores,
throughput-latency curves, latency CDFs and percentiles per level, throughput,
requests in flight and TTFT over each run, and, with --prometheus, engine
queue, KV-cache use and host CPU by role over the run.

Two or more inputs make an A-vs-B document: each input is a side (join the
repeats of one configuration with commas, as runner compare takes them); the
page starts with what is compared and the verdicts of runner compare, then
overlays the sides' TTFT, ITL, TPOT and E2E distributions on common axes and
draws every run over time from its own start.

--pdf prints the same page to a PDF beside the HTML file with a headless
Chromium (chromium, chromium-browser or google-chrome on PATH, or --browser).`,
		Example: `  runner report
  runner report --svg-dir slides/ results/smoke/RUN_A
  runner report --pdf results/smoke/RUN_A results/smoke/RUN_B
  runner report --output ab.html a1,a2,a3 b1,b2,b3
  runner report --prometheus http://127.0.0.1:9090 results/scaling/RUN_B`,
		RunE: func(c *cobra.Command, args []string) error { return runReport(c.Context(), e, args, &f) },
	}
	fs := c.Flags()
	fs.StringVar(&f.Output, "output", "", "HTML file to write (default RUN/report.html, or report.html for several inputs)")
	fs.StringVar(&f.SVGDir, "svg-dir", "", "also write every chart as DIR/<chart>.svg, for slides")
	fs.StringVar(&f.Prometheus, "prometheus", "", "Prometheus or VictoriaMetrics URL that scraped the run: adds engine queue, KV-cache and host CPU by role")
	fs.Float64Var(&f.CoreHourPrice, "core-hour-price", 0, "price of one core-hour, for the cost per million output tokens (0: omit)")
	fs.StringVar(&f.Title, "title", "", "page title (default: the inputs)")
	fs.StringVar(&f.root, "results", "", "results `DIR` whose last run is reported when no RUN is given (default results, or SERVEBENCH_RESULTS)")
	fs.BoolVar(&f.pdf, "pdf", false, "also print the page to a PDF (the output's name with .pdf) through a headless Chromium")
	fs.StringVar(&f.Browser, "browser", "", "headless Chromium `PATH` for --pdf (default: chromium, chromium-browser or google-chrome on PATH)")
	fs.StringVar(&f.NoiseFloor, "noise-floor", "", "noise-floor `FILE` for the verdicts of an A-vs-B report, as runner compare --noise-floor")
	fs.Float64Var(&f.Verdicts.Alpha, "alpha", 0.01, "verdicts of an A-vs-B report: as runner compare --alpha")
	fs.Float64Var(&f.Verdicts.MinChange, "min-change", 0.03, "verdicts of an A-vs-B report: as runner compare --min-change")
	fs.Float64Var(&f.Verdicts.MaxMDE, "max-mde", 0.10, "verdicts of an A-vs-B report: as runner compare --max-mde")
	return c
}

func runReport(ctx context.Context, e *env, inputs []string, f *reportFlags) error {
	if len(inputs) == 0 {
		last, err := store.New(resultsRoot(f.root, e.getenv), nil).Last()
		if err != nil {
			return usagef("report: give a run directory, or run one first: %w", err)
		}
		inputs = []string{last}
	}
	f.Inputs, f.Loader = inputs, compare.Loader{Decoders: resultDecoders}
	in, err := f.Input()
	if err != nil {
		return cli.Usage(err)
	}
	if f.pdf && f.Browser == "" {
		// Before anything is drawn: a missing browser is known now.
		b, err := report.FindBrowser(exec.LookPath)
		if err != nil {
			return fmt.Errorf("report: --pdf: %w", err)
		}
		f.Browser = b
	}
	if !f.pdf {
		f.Browser = ""
	}
	return f.Write(ctx, in, e.stdout)
}
