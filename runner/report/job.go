package report

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/runner/compare"
)

// Job is one runner report: the inputs to read, the verdicts' options and
// where the page, the SVG files and the PDF go.
type Job struct {
	Inputs        []string // run or cell directories, result files; a comma joins one side's repeats
	Output        string   // "" = RUN/report.html for one run directory, else report.html
	SVGDir        string   // also every chart as DIR/<chart>.svg
	Prometheus    string   // URL that scraped the run: engine and host charts over time
	Title         string
	CoreHourPrice float64
	Verdicts      compare.Options // of an A-vs-B report
	NoiseFloor    string          // file of the verdicts' noise floor
	Browser       string          // headless Chromium for the PDF; "" = none printed
	Loader        compare.Loader
}

// Input checks the job and reads its inputs; every error it returns is bad
// input, named by its flag.
func (j *Job) Input() (Input, error) {
	o := j.Verdicts
	if j.CoreHourPrice < 0 {
		return Input{}, fmt.Errorf("report: --core-hour-price must be >= 0")
	}
	if o.Alpha <= 0 || o.Alpha >= 0.5 || o.MinChange < 0 || o.MaxMDE <= 0 {
		return Input{}, fmt.Errorf("report: --alpha must lie in (0, 0.5), --min-change be >= 0 and --max-mde > 0")
	}
	o.Seed, o.CoreHourPrice = 1, j.CoreHourPrice
	in := Input{Title: j.Title, CoreHourPrice: j.CoreHourPrice, Generated: time.Now(), Compare: o}
	if j.NoiseFloor != "" {
		fl, err := compare.ReadFloor(j.NoiseFloor)
		if err != nil {
			return Input{}, fmt.Errorf("report: --noise-floor: %w", err)
		}
		in.Compare.Floor = fl
	}
	sides, err := j.Loader.Sides(j.Inputs)
	if err != nil {
		return Input{}, fmt.Errorf("report: %w", err)
	}
	in.Sides = sides
	for _, s := range sides {
		for _, rep := range s.Repeats {
			in.Cells = append(in.Cells, rep...)
		}
	}
	return in, nil
}

// Write draws in's charts (engine charts from Prometheus, or from the
// engine samples runner start wrote), writes the page, the SVG files and
// the PDF, and says what it wrote on w.
func (j *Job) Write(ctx context.Context, in Input, w io.Writer) error {
	runs := map[string]bool{}
	for _, c := range in.Cells {
		runs[cmp.Or(c.Summary.RunID, c.Path)] = true
	}
	const engineCharts = "Engine queue, KV-cache and host CPU over the run"
	switch {
	case len(runs) > 1:
		// Engine series of several runs would lie end to end on one axis.
		in.Missing = append(in.Missing, Missing{Title: engineCharts, Reason: "drawn for one run at a time (runner report RUN)"})
	case j.Prometheus != "":
		if start, end, ok := RunSpan(in.Cells); ok {
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			in.Timeline, in.Missing = Prometheus{URL: j.Prometheus}.EngineCharts(qctx, start.Add(-30*time.Second), end.Add(30*time.Second))
			cancel()
		} else {
			in.Missing = append(in.Missing, Missing{Title: engineCharts, Reason: "no requests.jsonl to date the run"})
		}
	default:
		charts, ok, err := EngineFileCharts(in.Cells)
		switch {
		case err != nil:
			return fmt.Errorf("report: %w", err)
		case ok:
			// The engine's queue and KV cache as runner start sampled them.
			in.Timeline = charts
			in.Missing = append(in.Missing, Missing{Title: "Host CPU by role over the run", Reason: "give --prometheus URL of the server that scraped the run"})
		default:
			in.Missing = append(in.Missing, Missing{Title: engineCharts, Reason: "give --prometheus URL of the server that scraped the run, or run with runner start's engine sampling"})
		}
	}
	r := Build(in)
	out := j.Output
	if out == "" {
		out = "report.html"
		if st, err := os.Stat(j.Inputs[0]); err == nil && st.IsDir() && len(j.Inputs) == 1 && !strings.Contains(j.Inputs[0], ",") {
			out = filepath.Join(j.Inputs[0], "report.html")
		}
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %d charts, %d not drawn\n", out, len(r.Charts), len(r.Missing))
	if j.SVGDir != "" {
		paths, err := r.WriteSVGs(j.SVGDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "wrote %d SVG files to %s\n", len(paths), j.SVGDir)
	}
	if j.Browser != "" {
		pdf := strings.TrimSuffix(out, filepath.Ext(out)) + ".pdf"
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := PrintPDF(pctx, j.Browser, out, pdf); err != nil {
			return fmt.Errorf("report: wrote %s, but --pdf: %w", out, err)
		}
		fmt.Fprintf(w, "wrote %s\n", pdf)
	}
	return nil
}
