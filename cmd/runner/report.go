package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/report"
	"github.com/servebench/servebench/runner/store"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	output, svgDir, prom, title, root string
	price                             float64
}

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report [flags] [RUN|CELL|FILE...]",
		Short: "write a self-contained HTML report (inline SVG charts) of a run",
		Long: `Without inputs it reports the last run under --results.

Draws one HTML page that needs no network to view: scaling with cores,
throughput-latency curves, latency CDFs and percentiles per level, rate and
TTFT over the run, and, with --prometheus, engine queue, KV-cache use and host
CPU by role over the run.`,
		Example: `  runner report
  runner report --svg-dir slides/ results/smoke/RUN_A
  runner report --prometheus http://127.0.0.1:9090 results/scaling/RUN_B`,
		RunE: func(c *cobra.Command, args []string) error { return runReport(c.Context(), e, args, f) },
	}
	fs := c.Flags()
	fs.StringVar(&f.output, "output", "", "HTML file to write (default RUN/report.html, or report.html for several inputs)")
	fs.StringVar(&f.svgDir, "svg-dir", "", "also write every chart as DIR/<chart>.svg, for slides")
	fs.StringVar(&f.prom, "prometheus", "", "Prometheus or VictoriaMetrics URL that scraped the run: adds engine queue, KV-cache and host CPU by role")
	fs.Float64Var(&f.price, "core-hour-price", 0, "price of one core-hour, for the cost per million output tokens (0: omit)")
	fs.StringVar(&f.title, "title", "", "page title (default: the inputs)")
	fs.StringVar(&f.root, "results", "", "results `DIR` whose last run is reported when no RUN is given (default results, or SERVEBENCH_RESULTS)")
	return c
}

func runReport(ctx context.Context, e *env, inputs []string, f reportFlags) error {
	output, svgDir, prom, price, title, root := &f.output, &f.svgDir, &f.prom, &f.price, &f.title, &f.root
	if len(inputs) == 0 {
		last, err := store.New(resultsRoot(*root, e.getenv), nil).Last()
		if err != nil {
			return usagef("report: give a run directory, or run one first: %w", err)
		}
		inputs = []string{last}
	}
	if *price < 0 {
		return usagef("report: --core-hour-price must be >= 0")
	}
	loader := compare.Loader{Decoders: resultDecoders}
	in := report.Input{Title: *title, CoreHourPrice: *price, Generated: time.Now()}
	for _, p := range inputs {
		cells, err := loader.Load(p)
		if err != nil {
			return usagef("report: %w", err)
		}
		in.Cells = append(in.Cells, cells...)
	}
	if in.Title == "" {
		in.Title = "servebench report: " + inputs[0]
	}
	if *prom != "" {
		if start, end, ok := report.RunSpan(in.Cells); ok {
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			in.Timeline, in.Missing = report.Prometheus{URL: *prom}.EngineCharts(qctx, start.Add(-30*time.Second), end.Add(30*time.Second))
			cancel()
		} else {
			in.Missing = append(in.Missing, report.Missing{Title: "Engine queue, KV-cache and host CPU over the run", Reason: "no requests.jsonl to date the run"})
		}
	} else if charts, ok, err := report.EngineFileCharts(in.Cells); err != nil {
		return fmt.Errorf("report: %w", err)
	} else if ok {
		// The engine's queue and KV cache as runner start sampled them.
		in.Timeline = charts
		in.Missing = append(in.Missing, report.Missing{Title: "Host CPU by role over the run", Reason: "give --prometheus URL of the server that scraped the run"})
	} else {
		in.Missing = append(in.Missing, report.Missing{Title: "Engine queue, KV-cache and host CPU over the run", Reason: "give --prometheus URL of the server that scraped the run, or run with runner start's engine sampling"})
	}
	r := report.Build(in)
	out := *output
	if out == "" {
		out = "report.html"
		if st, err := os.Stat(inputs[0]); err == nil && st.IsDir() && len(inputs) == 1 {
			out = filepath.Join(inputs[0], "report.html")
		}
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d charts, %d not drawn\n", out, len(r.Charts), len(r.Missing))
	if *svgDir != "" {
		paths, err := r.WriteSVGs(*svgDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %d SVG files to %s\n", len(paths), *svgDir)
	}
	return nil
}
