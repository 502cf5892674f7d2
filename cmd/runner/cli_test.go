package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/runner/compare/comparetest"
)

// TestInterspersedFlags runs every subcommand twice, flags before and after
// its arguments, and demands the same outcome. Subcommands without
// arguments are run with their flags in both orders. A subcommand without a
// case fails the test.
func TestInterspersedFlags(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run-1")
	writeSynthetic(t, filepath.Join(run, "c1"), comparetest.Bench{Seed: 1, N: 20})
	other := filepath.Join(dir, "run-2")
	writeSynthetic(t, filepath.Join(other, "c1"), comparetest.Bench{Seed: 2, N: 20})
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()

	type tc struct {
		before, after []string
		want          string // in the output of both
	}
	imported := func(d string) string { return filepath.Join(dir, d) }
	fixture, err := filepath.Abs(guidellmFixture)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]tc{
		"import": {[]string{"import", "--results", imported("i1"), fixture}, []string{"import", fixture, "--results", imported("i2")}, "benchmarks ->"},
		"results": {[]string{"results", "--last=false", filepath.Join(run, "c1")},
			[]string{"results", filepath.Join(run, "c1"), "--last=false"}, "c1"},
		"compare": {[]string{"compare", "--json", "--seed", "3", run, other}, []string{"compare", run, other, "--seed", "3", "--json"}, `"comparisons"`},
		"report": {[]string{"report", "--output", filepath.Join(dir, "r1.html"), run},
			[]string{"report", run, "--output", filepath.Join(dir, "r2.html")}, "charts"},
		"backfill": {[]string{"backfill", "--at", "2026-11-02T10:00:00Z", "--openmetrics", filepath.Join(dir, "b1.om"), run},
			[]string{"backfill", run, "--openmetrics", filepath.Join(dir, "b2.om"), "--at", "2026-11-02T10:00:00Z"}, "wrote"},
		"rank":        {[]string{"rank", "--json", "--slo", "ttft_p99<=10s", run}, []string{"rank", run, "--slo", "ttft_p99<=10s", "--json"}, ""},
		"healthcheck": {[]string{"healthcheck", "--timeout", "5s", ok.URL}, []string{"healthcheck", ok.URL, "--timeout", "5s"}, ""},
		"show":        {[]string{"show", "--log-level", "warn", "smoke"}, []string{"show", "smoke", "--log-level", "warn"}, "suite smoke"},
		"suites":      {[]string{"--log-format", "json", "suites"}, []string{"suites", "--log-format", "json"}, "smoke"},
		"start": {[]string{"start", "--dry-run", "--suite", "smoke", "--cores", "2"},
			[]string{"start", "--suite", "smoke", "--cores", "2", "--dry-run"}, "Qwen3-0.6B_chat_lite_2c"},
		"bench": {[]string{"bench", "--target", "http://127.0.0.1:1", "--profile", "nope"},
			[]string{"bench", "--profile", "nope", "--target", "http://127.0.0.1:1"}, ""},
		"doctor": {[]string{"doctor", "--no-docker"}, []string{"doctor", "--no-docker"}, "cpu topology"},
	}
	for _, c := range newRoot(&env{}).Commands() {
		name := c.Name()
		if name == "completion" || name == "help" {
			continue // added by cobra at run time
		}
		if _, ok := cases[name]; !ok {
			t.Errorf("subcommand %s has no interspersed-flags case", name)
		}
	}
	t.Chdir(dir)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code1, out1, err1 := runCLI(t, nil, c.before...)
			code2, out2, err2 := runCLI(t, nil, c.after...)
			if code1 != code2 {
				t.Fatalf("exit %d with flags first, %d with flags last:\n%s\n%s", code1, code2, err1, err2)
			}
			if !strings.Contains(out1, c.want) || !strings.Contains(out2, c.want) {
				t.Errorf("output lacks %q:\n%s\n--\n%s", c.want, out1, out2)
			}
			if strings.Contains(err1+err2, "unexpected argument") {
				t.Errorf("a flag was taken as an argument:\n%s\n%s", err1, err2)
			}
		})
	}
	// import's flag after the file decided where it went, and nothing went
	// to the default directory.
	for _, d := range []string{"i1", "i2"} {
		if m, _ := filepath.Glob(filepath.Join(dir, d, "import", "*", "*", "summary.json")); len(m) != 1 {
			t.Errorf("import into %s: %v", d, m)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
		t.Error("import wrote into the default results directory")
	}
}

// TestErrorLineFirst: a mistyped flag prints one error line naming it, the
// nearest flag and a hint to -h, and never the flag list.
func TestErrorLineFirst(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"bench", "--requests-chunks"}, []string{"runner: unknown flag: --requests-chunks (did you mean --request-chunks?)", "Run 'runner bench -h' for usage."}},
		{[]string{"start", "-suite", "smoke", "-dry-runn"}, []string{"unknown flag: --dry-runn (did you mean --dry-run?)"}},
		{[]string{"strat"}, []string{`unknown command "strat" (did you mean start?)`, "Run 'runner -h' for usage."}},
		{[]string{"compare", "--alpha", "x", "a", "b"}, []string{`invalid argument "x" for "--alpha"`}},
		{[]string{"suites", "extra"}, []string{`unexpected argument "extra"`}},
		{nil, []string{"runner: give a command", "Available Commands:"}},
	} {
		code, out, errOut := runCLI(t, nil, tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.HasPrefix(errOut, "runner: ") || out != "" {
			t.Errorf("%v: the error must come first on stderr, nothing on stdout:\n%s\n%s", tc.args, errOut, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, errOut)
			}
		}
		if len(tc.args) > 0 && strings.Contains(errOut, "Flags:") {
			t.Errorf("%v: the flag list was printed:\n%s", tc.args, errOut)
		}
	}
	// Go-style single-dash long flags still work.
	if code, out, errOut := runCLI(t, nil, "start", "-suite", "smoke", "-dry-run"); code != exitOK || !strings.Contains(out, "suite smoke") {
		t.Errorf("single-dash flags: exit %d: %s", code, errOut)
	}
}

// A dry run of a command load generator it could not run shows the plan
// with the reason and exits as the run would: bad input.
func TestDryRunRefusesAnUnrunnableCommand(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--loadgen", "command", "--command", "nosuchtool", "--dry-run")
	if code != exitUsage || !strings.Contains(out, "cannot build the command") || !strings.Contains(errOut, `no recipe "nosuchtool"`) {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--loadgen", "command", "--command", "vegeta", "--dry-run"); code != exitOK {
		t.Errorf("a recipe: exit %d: %s", code, errOut)
	}
}

// TestHelpHasSynopsisAndExamples: -h of every subcommand prints its
// synopsis and examples on stdout and exits 0.
func TestHelpHasSynopsisAndExamples(t *testing.T) {
	for _, c := range newRoot(&env{}).Commands() {
		code, out, errOut := runCLI(t, nil, c.Name(), "-h")
		if code != exitOK || errOut != "" {
			t.Errorf("%s -h: exit %d, stderr %q", c.Name(), code, errOut)
		}
		if !strings.Contains(out, "Usage:\n  runner "+c.Name()) || !strings.Contains(out, "Examples:\n  runner "+c.Name()) {
			t.Errorf("%s -h lacks a synopsis or examples:\n%s", c.Name(), out)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := runCLI(t, nil, "completion", sh)
		if code != exitOK || !strings.Contains(out, "runner") {
			t.Fatalf("completion %s: exit %d: %s", sh, code, errOut)
		}
		if sh != "bash" {
			continue
		}
		f := filepath.Join(t.TempDir(), "runner.bash")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v: %s", err, b)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "--version")
	if code != exitOK || out != buildinfo.Get().String("runner")+"\n" || errOut != "" {
		t.Errorf("--version: exit %d: %q %q", code, out, errOut)
	}
}

// TestBusyMetricsPort: a busy /metrics port is a usage error naming
// --web.listen-address and the way to a free port, before anything runs.
func TestBusyMetricsPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"start", "--suite", "smoke", "--results", dir, "--web.listen-address", l.Addr().String()},
		{"bench", "--target", "http://127.0.0.1:1", "--model", "m", "--profile", "concurrent", "--rate", "1", "--workload", "chat",
			"--max-requests", "1", "--web.listen-address", l.Addr().String()},
	} {
		code, _, errOut := runCLI(t, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, "--web.listen-address "+l.Addr().String()) || !strings.Contains(errOut, "127.0.0.1:0 for any free port") {
			t.Errorf("%s: exit %d:\n%s", args[0], code, errOut)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(m) > 0 {
		t.Errorf("a run was created: %v", m)
	}
}
