// Package command drives any load-generating tool as a servebench load
// generator. A Spec is the tool's command line as a text/template over Vars
// — the metering proxy's URL and the API endpoint behind it, the model, the
// level's rate or concurrency and its sending time, the request bodies
// written as files, the path of the tool's report — run by /bin/sh in the
// level's directory, with the files the tool needs beside it (a wrk Lua
// script, a locustfile) and the parser of its report. Recipes are the
// tested Specs for vegeta, wrk, Apache Bench and Locust (docs/suites.md).
//
// The tool talks to the metering proxy, which times every request with
// servebench's rules (so a level's latencies are servebench's, the same
// whichever tool sent the load) and holds the level to its budget. The
// tool's own report, read by Parse, is a claim the proxy's records are
// checked against (runner/thirdparty/crosscheck).
//
// Everything here is pure except WriteRequests, which writes files; Specs
// and Recipes are values, safe to share.
package command

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Spec is one tool driven through its command line.
type Spec struct {
	// Name is the load generator's name in labels, summaries and logs
	// (vegeta, wrk, ab, locust, or the user's).
	Name string
	// Tool is the program the command runs, looked up on PATH before the
	// first level so that a missing tool is a clear error; "" skips it.
	Tool string
	// Run is the command line template, run with /bin/sh -c in the
	// level's directory. Quote paths with q: {{q .Output}}.
	Run string
	// Version is a shell line printing the tool's version; "" = unknown.
	Version string
	// Report names the parser of the tool's report (vegeta, wrk, ab,
	// locust); "" = the tool's report is not read.
	Report string
	// ReportFile is the template of the path the parser reads; "" =
	// {{.Output}}.
	ReportFile string
	// Profiles are the load profiles the command can drive.
	Profiles []string
	// Files are written into the level's directory before the run: name
	// to content, the content a template over the same Vars.
	Files map[string]string
	// Abandons is set for closed-loop tools that stop with their streams
	// in flight and count none of them: their counts may fall short of
	// the proxy's by the level's concurrency.
	Abandons bool
}

// Vars are what templates see. Rates are req/s, durations seconds.
type Vars struct {
	URL      string // the metering proxy's base URL, http://127.0.0.1:PORT
	Endpoint string // URL + Path
	Path     string // the API path: /v1/chat/completions, /v1/completions, /v1/embeddings
	Model    string // the served model id
	API      string // chat, completions or embeddings
	Profile  string // synchronous, concurrent, throughput, constant, poisson
	Level    string // the level's name, e.g. concurrent-4
	// Rate is the open-loop rate (constant, poisson), 0 for closed loops;
	// Concurrency the streams of a closed loop (1 for synchronous), 0 for
	// open loops.
	Rate        float64
	Concurrency int
	// Duration is how long the tool may send: the level's warmup, window
	// and cooldown. Sends after it are refused by the proxy.
	Duration float64
	Timeout  float64 // the request timeout
	Requests int     // the level's request limit, 0 = none
	// BodyFile holds one request body (the cell's first prompt);
	// BodiesFile every body, one JSON object a line; TargetsFile the same
	// requests as vegeta's JSON targets.
	BodyFile, BodiesFile, TargetsFile string
	Output                            string // where the tool should write its report
	Dir                               string // the level's directory (the command's working directory)
}

// Parsers names the report parsers.
var Parsers = []string{"vegeta", "wrk", "ab", "locust"}

// ErrSpec matches (errors.Is) every error of a spec that cannot run as
// given — bad input, not a failure of the tool.
var ErrSpec = errors.New("invalid command spec")

type specError struct{ error }

func (e specError) Is(target error) bool { return target == ErrSpec }
func (e specError) Unwrap() error        { return e.error }

// Validate checks a spec, naming the field at fault; its errors match
// ErrSpec.
func (s Spec) Validate() error {
	if err := s.validate(); err != nil {
		return specError{err}
	}
	return nil
}

func (s Spec) validate() error {
	if s.Name == "" || strings.ContainsAny(s.Name, " /\\,") {
		return fmt.Errorf("command: name %q: want a plain word (it labels the load generator)", s.Name)
	}
	if strings.TrimSpace(s.Run) == "" {
		return errors.New("command: run: the command line is empty")
	}
	if s.Report != "" && !slices.Contains(Parsers, s.Report) {
		return fmt.Errorf("command: report %q: want one of %s, or none", s.Report, strings.Join(Parsers, ", "))
	}
	for _, p := range s.Profiles {
		if !slices.Contains(allProfiles, p) {
			return fmt.Errorf("command: profiles: %q is not one of %s", p, strings.Join(allProfiles, ", "))
		}
	}
	var probe Vars
	for name, text := range s.templates() {
		if _, err := render(name, text, probe); err != nil {
			return fmt.Errorf("command: %w", err)
		}
	}
	return nil
}

var allProfiles = []string{"synchronous", "concurrent", "throughput", "constant", "poisson"}

// Supports reports whether the command can drive a profile (every profile
// when the spec lists none).
func (s Spec) Supports(profile string) bool {
	return len(s.Profiles) == 0 || slices.Contains(s.Profiles, profile)
}

func (s Spec) templates() map[string]string {
	t := map[string]string{"run": s.Run}
	if s.ReportFile != "" {
		t["report file"] = s.ReportFile
	}
	for name, text := range s.Files {
		t["file "+name] = text
	}
	return t
}

// Expanded is a spec rendered for one level.
type Expanded struct {
	Line   string            // the shell command line
	Files  map[string]string // to write into Vars.Dir first
	Report string            // the report's path; "" when the spec reads none
}

// Expand renders the spec's templates for one level.
func Expand(s Spec, v Vars) (Expanded, error) {
	var e Expanded
	var err error
	if e.Line, err = render("run", s.Run, v); err != nil {
		return e, fmt.Errorf("command %s: %w", s.Name, err)
	}
	e.Files = map[string]string{}
	for name, text := range s.Files {
		if e.Files[name], err = render(name, text, v); err != nil {
			return e, fmt.Errorf("command %s: file %s: %w", s.Name, name, err)
		}
	}
	if s.Report != "" {
		e.Report = v.Output
		if s.ReportFile != "" {
			if e.Report, err = render("report file", s.ReportFile, v); err != nil {
				return e, fmt.Errorf("command %s: %w", s.Name, err)
			}
		}
	}
	return e, nil
}

var funcs = template.FuncMap{
	"q":   shellQuote,
	"lua": luaQuote,
	// secs is whole seconds, rounded up, for tools that take no fraction.
	"secs": func(f float64) int { return int(math.Ceil(f - 1e-9)) },
	// per is a rate as whole requests per whole seconds (vegeta's -rate).
	"per": func(r float64) string {
		if r == math.Trunc(r) {
			return strconv.FormatFloat(r, 'f', 0, 64) + "/1s"
		}
		return strconv.FormatFloat(math.Round(r*1000), 'f', 0, 64) + "/1000s"
	},
	"min": func(a, b int) int { return min(a, b) },
}

func render(name, text string, v Vars) (string, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return b.String(), nil
}

// shellQuote single-quotes a word for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// luaQuote is a Lua string literal.
func luaQuote(s string) string {
	b, _ := json.Marshal(s) // JSON escapes are valid Lua escapes for these strings
	return string(b)
}

// WriteRequests writes the level's request files into dir and sets their
// paths in v: the first body alone, every body one a line, and vegeta's
// targets (the endpoint, the body in base64, the JSON content type).
func WriteRequests(dir string, v *Vars, bodies [][]byte) error {
	if len(bodies) == 0 {
		return errors.New("command: no request bodies")
	}
	var all, targets bytes.Buffer
	for _, b := range bodies {
		all.Write(b)
		all.WriteByte('\n')
		t, err := json.Marshal(struct {
			Method string              `json:"method"`
			URL    string              `json:"url"`
			Body   string              `json:"body"`
			Header map[string][]string `json:"header"`
		}{"POST", v.Endpoint, base64.StdEncoding.EncodeToString(b), map[string][]string{"Content-Type": {"application/json"}}})
		if err != nil {
			return err
		}
		targets.Write(t)
		targets.WriteByte('\n')
	}
	v.BodyFile, v.BodiesFile, v.TargetsFile = filepath.Join(dir, RequestFiles[0]), filepath.Join(dir, RequestFiles[1]), filepath.Join(dir, RequestFiles[2])
	for path, data := range map[string][]byte{v.BodyFile: bodies[0], v.BodiesFile: all.Bytes(), v.TargetsFile: targets.Bytes()} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("command: request file: %w", err)
		}
	}
	return nil
}

// RequestFiles are the names WriteRequests writes (the body, the bodies,
// vegeta's targets), for removal after the level (they can be large and
// are rebuilt from the cell's prompts).
var RequestFiles = []string{"body.json", "bodies.jsonl", "targets.jsonl"}
