package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/report"
	"github.com/servebench/servebench/runner/store"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	output, svgDir, prom, title, root, browser, floor string
	price                                             float64
	pdf                                               bool
	verdicts                                          compare.Options
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
		RunE: func(c *cobra.Command, args []string) error { return runReport(c.Context(), e, args, f) },
	}
	fs := c.Flags()
	fs.StringVar(&f.output, "output", "", "HTML file to write (default RUN/report.html, or report.html for several inputs)")
	fs.StringVar(&f.svgDir, "svg-dir", "", "also write every chart as DIR/<chart>.svg, for slides")
	fs.StringVar(&f.prom, "prometheus", "", "Prometheus or VictoriaMetrics URL that scraped the run: adds engine queue, KV-cache and host CPU by role")
	fs.Float64Var(&f.price, "core-hour-price", 0, "price of one core-hour, for the cost per million output tokens (0: omit)")
	fs.StringVar(&f.title, "title", "", "page title (default: the inputs)")
	fs.StringVar(&f.root, "results", "", "results `DIR` whose last run is reported when no RUN is given (default results, or SERVEBENCH_RESULTS)")
	fs.BoolVar(&f.pdf, "pdf", false, "also print the page to a PDF (the output's name with .pdf) through a headless Chromium")
	fs.StringVar(&f.browser, "browser", "", "headless Chromium `PATH` for --pdf (default: chromium, chromium-browser or google-chrome on PATH)")
	fs.StringVar(&f.floor, "noise-floor", "", "noise-floor `FILE` for the verdicts of an A-vs-B report, as runner compare --noise-floor")
	fs.Float64Var(&f.verdicts.Alpha, "alpha", 0.01, "verdicts of an A-vs-B report: as runner compare --alpha")
	fs.Float64Var(&f.verdicts.MinChange, "min-change", 0.03, "verdicts of an A-vs-B report: as runner compare --min-change")
	fs.Float64Var(&f.verdicts.MaxMDE, "max-mde", 0.10, "verdicts of an A-vs-B report: as runner compare --max-mde")
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
	browser := f.browser
	if f.pdf && browser == "" {
		// Before anything is drawn: a missing browser is known now.
		b, err := report.FindBrowser(exec.LookPath)
		if err != nil {
			return fmt.Errorf("report: --pdf: %w", err)
		}
		browser = b
	}
	loader := compare.Loader{Decoders: resultDecoders}
	o := f.verdicts
	if o.Alpha <= 0 || o.Alpha >= 0.5 || o.MinChange < 0 || o.MaxMDE <= 0 {
		return usagef("report: --alpha must lie in (0, 0.5), --min-change be >= 0 and --max-mde > 0")
	}
	o.Seed, o.CoreHourPrice = 1, *price
	in := report.Input{Title: *title, CoreHourPrice: *price, Generated: time.Now(), Compare: o}
	if f.floor != "" {
		fl, err := compare.ReadFloor(f.floor)
		if err != nil {
			return usagef("report: --noise-floor: %w", err)
		}
		in.Compare.Floor = fl
	}
	sides, err := loader.Sides(inputs)
	if err != nil {
		return usagef("report: %w", err)
	}
	in.Sides = sides
	runs := map[string]bool{}
	for _, s := range sides {
		for _, rep := range s.Repeats {
			in.Cells = append(in.Cells, rep...)
			for _, c := range rep {
				runs[cmp.Or(c.Summary.RunID, c.Path)] = true
			}
		}
	}
	switch {
	case len(runs) > 1:
		// Engine series of several runs would lie end to end on one axis.
		in.Missing = append(in.Missing, report.Missing{Title: "Engine queue, KV-cache and host CPU over the run", Reason: "drawn for one run at a time (runner report RUN)"})
	case *prom != "":
		if start, end, ok := report.RunSpan(in.Cells); ok {
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			in.Timeline, in.Missing = report.Prometheus{URL: *prom}.EngineCharts(qctx, start.Add(-30*time.Second), end.Add(30*time.Second))
			cancel()
		} else {
			in.Missing = append(in.Missing, report.Missing{Title: "Engine queue, KV-cache and host CPU over the run", Reason: "no requests.jsonl to date the run"})
		}
	default:
		charts, ok, err := report.EngineFileCharts(in.Cells)
		switch {
		case err != nil:
			return fmt.Errorf("report: %w", err)
		case ok:
			// The engine's queue and KV cache as runner start sampled them.
			in.Timeline = charts
			in.Missing = append(in.Missing, report.Missing{Title: "Host CPU by role over the run", Reason: "give --prometheus URL of the server that scraped the run"})
		default:
			in.Missing = append(in.Missing, report.Missing{Title: "Engine queue, KV-cache and host CPU over the run", Reason: "give --prometheus URL of the server that scraped the run, or run with runner start's engine sampling"})
		}
	}
	r := report.Build(in)
	out := *output
	if out == "" {
		out = "report.html"
		if st, err := os.Stat(inputs[0]); err == nil && st.IsDir() && len(inputs) == 1 && !strings.Contains(inputs[0], ",") {
			out = filepath.Join(inputs[0], "report.html")
		}
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(out, buf.Bytes(), 0o644); err != nil {
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
	if f.pdf {
		pdf := strings.TrimSuffix(out, filepath.Ext(out)) + ".pdf"
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := report.PrintPDF(pctx, browser, out, pdf); err != nil {
			return fmt.Errorf("report: wrote %s, but --pdf: %w", out, err)
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", pdf)
	}
	return nil
}
