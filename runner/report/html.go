package report

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/servebench/servebench/internal/atomicfile"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"svg":          func(s string) template.HTML { return template.HTML(s) }, // drawn here, escaped at build
	"time":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct":          func(v float64) string { return fmt.Sprintf("%g%%", 100*v) },
	"outcomeClass": func(o any) string { return strings.ReplaceAll(fmt.Sprint(o), " ", "-") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="servebench">
<title>{{.Title}}</title>
<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; padding: 0 1.5em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
figure { margin: 1.5em 0; width: 100%; } figure svg { display: block; width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.5em; text-align: right; } th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
.missing li, .warnings li { color: #7a4b00; }
nav a { margin-right: 1em; }
.outcome { padding: 0.8em 1em; font-size: 1.15em; font-weight: bold; border-radius: 4px; }
.outcome ul { font-size: 0.85em; font-weight: normal; margin: 0.4em 0 0 0; }
.outcome-regression { background: #f6d5c8; border-left: 8px solid #D55E00; }
.outcome-inconclusive { background: #fbeccb; border-left: 8px solid #E69F00; }
.outcome-no-regression { background: #d2ecdf; border-left: 8px solid #009E73; }
.outcome-none { background: #eee; border-left: 8px solid #777; }
tr.regressed td { background: #f6d5c8; } tr.improved td { background: #d2ecdf; } tr.inconclusive td { background: #fbeccb; }
tr.not-tested td { color: #777; }
td.verdict { text-align: left; max-width: 30em; }
.swatch { display: inline-block; width: 1.6em; height: 0.8em; vertical-align: middle; margin-right: 0.4em; }
.level-note { color: #7a4b00; font-weight: bold; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  figure, table, .outcome { break-inside: avoid; }
  h2 { break-before: auto; break-after: avoid; }
  nav { display: none; }
}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Generated {{time .Generated}} by servebench. Every chart is inline SVG; this file needs no network.</p>
{{with .Versus}}<section id="verdicts">
<table class="sides"><caption>What is compared</caption>
<tr><th>side</th><th>inputs</th><th>runs</th><th>configuration</th></tr>
{{range .Sides}}<tr><td><span class="swatch" style="background: {{.Colour}}"></span>{{.Letter}}</td><td>{{.Label}}</td><td>{{.Runs}}</td><td>{{.Describe}}</td></tr>
{{end}}</table>
{{if .Err}}<div class="outcome outcome-none">Not compared: {{.Err}}</div>
{{else}}<div class="outcome outcome-{{outcomeClass .Outcome}}">Outcome: {{.Outcome}}{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>
<p>Verdicts of <code>runner compare</code> (docs/analysis.md): per-run figures tested against their run-to-run variance, alpha {{.Options.Alpha}} over each comparison, changes under {{pct .Options.MinChange}} not counted, minimal detectable effects (MDE) at {{pct .Options.Power}} power.</p>
{{range .Tables}}<table class="verdicts"><caption>{{.Caption}}</caption>
{{if .Note}}<tr><td colspan="{{len .Header}}" class="level-note">Inconclusive: {{.Note}}</td></tr>{{end}}
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr class="{{.Class}}">{{range $i, $c := .Cells}}<td{{if eq $i 8}} class="verdict"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}
</section>{{end}}
<nav>{{if .Versus}}<a href="#verdicts">Verdicts</a>{{end}}{{range .Sections}}<a href="#{{.ID}}">{{.Name}}</a>{{end}}<a href="#tables">Figures</a></nav>
{{range .Sections}}
<section id="{{.ID}}">
<h2>{{.Name}}</h2>
{{range .Charts}}<figure id="fig-{{.ID}}">{{svg .SVG}}<figcaption>{{.Title}} (<code>{{.ID}}.svg</code>)</figcaption></figure>
{{end}}
</section>
{{end}}
{{if .Missing}}<section id="missing"><h2>Not drawn</h2><ul class="missing">
{{range .Missing}}<li><b>{{.Title}}</b>: {{.Reason}}</li>
{{end}}</ul></section>{{end}}
<section id="tables"><h2>Figures per level</h2>
{{range .Tables}}<table><caption>{{.Caption}}</caption>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
{{if .Cross}}<h3 id="cross-validation">Cross-validation: one configuration, several load generators</h3>
{{range .Cross}}<table><caption>{{.Caption}}</caption>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}<p>Why columns may differ:</p><ul>{{range .CrossNotes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Repeatability}}<h3 id="repeatability">Repeatability</h3>
<p>Grades: CV below 1% excellent, 1–3% good, 3–5% acceptable, above 5% poor.</p>
{{range .Repeatability}}<table><caption>{{.Caption}}</caption>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}
{{if .Warnings}}<h3>Warnings</h3><ul class="warnings">{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
</body>
</html>
`))

type section struct {
	ID, Name string
	Charts   []Chart
}

// WriteHTML writes the report as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	var secs []section
	for _, name := range []string{SecVersus, SecRuns, SecScaling, SecSweep, SecLatency, SecTimeline} {
		s := section{ID: slug(name), Name: name}
		for _, c := range r.Charts {
			if c.Section == name {
				s.Charts = append(s.Charts, c)
			}
		}
		if len(s.Charts) > 0 {
			secs = append(secs, s)
		}
	}
	return page.Execute(w, struct {
		*Report
		Sections []section
	}{r, secs})
}

// WriteSVGs writes every chart to dir/<id>.svg and returns the paths.
func (r *Report) WriteSVGs(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range r.Charts {
		p := filepath.Join(dir, c.ID+".svg")
		doc := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + c.SVG + "\n"
		if err := atomicfile.WriteFile(p, []byte(doc), 0o644); err != nil {
			return out, fmt.Errorf("chart %s: %w", c.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}
