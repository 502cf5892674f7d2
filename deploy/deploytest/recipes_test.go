package deploytest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRunnerRegressionExitCode pins the exit codes the CI recipes rely on.
func TestRunnerRegressionExitCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "cmd/runner/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`exitRegression\s*=\s*3\b`).Match(b) {
		t.Error("cmd/runner no longer exits 3 on a regression; deploy/ci and docs rely on it")
	}
	if !regexp.MustCompile(`exitInconclusive\s*=\s*5\b`).Match(b) {
		t.Error("cmd/runner no longer exits 5 when inconclusive; deploy/ci and docs rely on it")
	}
}

func TestCompareBaselineScript(t *testing.T) {
	script := filepath.Join(root(t), "deploy/ci/compare-baseline.sh")
	dir := t.TempDir()
	// A stand-in runner: records its arguments; compare prints JSON and
	// exits $STUB_CODE, report writes its --output.
	stub := filepath.Join(dir, "runner")
	body := `#!/bin/sh
echo "$@" >>"$STUB_LOG"
case "$1" in
compare) echo '{"verdict":"x"}'; exit ${STUB_CODE:-0} ;;
report) while [ $# -gt 0 ]; do [ "$1" = --output ] && echo '<html>' >"$2"; shift; done ;;
esac
`
	if err := os.WriteFile(stub, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "results")
	baselines := filepath.Join(dir, "baseline")
	logf := filepath.Join(dir, "calls.log")
	runScript := func(code string, extra ...string) (int, string) {
		cmd := exec.Command("bash", script, "scaling", results, baselines)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "RUNNER="+stub, "STUB_CODE="+code, "STUB_LOG="+logf)
		cmd.Env = append(cmd.Env, extra...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	mkRun := func(id string, repeats int) string {
		p := filepath.Join(results, "scaling", id)
		for i := 1; i <= max(repeats, 1); i++ {
			c := filepath.Join(p, "cell_r"+string(rune('0'+i)))
			if err := os.MkdirAll(c, 0o755); err != nil {
				t.Fatal(err)
			}
			sum := `{"schema_version": 1, "benchmarks": []}`
			if repeats > 0 {
				sum = `{"schema_version": 1, "repeat_of": "cell", "benchmarks": []}`
			}
			if err := os.WriteFile(filepath.Join(c, "summary.json"), []byte(sum), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(p, "marker"), []byte(id), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	if code, out := runScript("0"); code != 2 {
		t.Fatalf("no run: exit %d, want 2\n%s", code, out)
	}
	mkRun("run-1", 3)
	if code, out := runScript("3"); code != 0 {
		t.Fatalf("first run: exit %d, want 0 (it becomes the baseline)\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(baselines, "scaling", "marker")); string(b) != "run-1" {
		t.Fatalf("baseline not seeded from run-1: %q", b)
	}
	if _, err := os.Stat(logf); err == nil {
		t.Fatal("runner compare called without a baseline")
	}

	newest := mkRun("run-2", 3)
	if code, out := runScript("3"); code != 3 || !strings.Contains(out, "REGRESSION") {
		t.Fatalf("regression: exit %d, want 3\n%s", code, out)
	}
	calls, _ := os.ReadFile(logf)
	floor := filepath.Join(baselines, "scaling.noise-floor.json")
	for _, want := range []string{
		"compare --noise-floor " + floor + " --update-noise-floor --json " + filepath.Join(baselines, "scaling") + " " + newest,
		"report --output report.html " + filepath.Join(baselines, "scaling") + " " + newest,
	} {
		if !strings.Contains(string(calls), want) && !strings.Contains(string(calls), strings.Replace(want, "report --output", "report --pdf --output", 1)) {
			t.Errorf("runner called as\n%s\nwant %q", calls, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "compare.json")); !bytes.Contains(b, []byte(`"verdict"`)) {
		t.Errorf("compare.json = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("no report.html artefact: %v", err)
	}
	if code, _ := runScript("2"); code != 2 {
		t.Errorf("bad input: exit %d, want 2", code)
	}
	// Inconclusive has its own code and is never promoted.
	code, out := runScript("5", "SERVEBENCH_PROMOTE=1")
	if code != 5 || !strings.Contains(out, "INCONCLUSIVE") {
		t.Errorf("inconclusive: exit %d, want 5\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(baselines, "scaling", "marker")); string(b) != "run-1" {
		t.Errorf("an inconclusive run became the baseline: %q", b)
	}
	if code, out := runScript("5", "SERVEBENCH_ALLOW_INCONCLUSIVE=1"); code != 0 || !strings.Contains(out, "INCONCLUSIVE") {
		t.Errorf("inconclusive allowed: exit %d, want 0\n%s", code, out)
	}
	if code, out := runScript("0", "SERVEBENCH_PROMOTE=1"); code != 0 {
		t.Fatalf("no regression: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(baselines, "scaling", "marker")); string(b) != "run-2" {
		t.Errorf("SERVEBENCH_PROMOTE=1 did not make run-2 the baseline: %q", b)
	}
	mkRun("run-3", 0)
	if _, out := runScript("0"); !strings.Contains(out, "no repeats") {
		t.Errorf("a run without repeats is not pointed out:\n%s", out)
	}
}

func TestCIExamples(t *testing.T) {
	r := root(t)
	read := func(p string) map[string]any {
		b, err := os.ReadFile(filepath.Join(r, p))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return m
	}
	checkScript := func(where string, lines []string) {
		t.Helper()
		start := slices.IndexFunc(lines, func(s string) bool { return strings.Contains(s, "runner start --suite") })
		cmp := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "deploy/ci/compare-baseline.sh") })
		if start < 0 || cmp < start {
			t.Errorf("%s: want `runner start --suite` then deploy/ci/compare-baseline.sh, got %q", where, lines)
			return
		}
		if !strings.Contains(lines[start], "--repeat") {
			t.Errorf("%s: %q runs each cell once: the verdict needs repeats (--repeat)", where, lines[start])
		}
		for _, l := range lines {
			if strings.Contains(l, "|| true") || strings.Contains(l, "set +e") {
				t.Errorf("%s: %q would swallow the regression exit code", where, l)
			}
		}
	}

	gh := read("deploy/ci/github-actions.yml")
	job := Map(gh, "jobs", "benchmark")
	if !slices.Contains(List(job, "runs-on"), any("self-hosted")) {
		t.Error("github: the benchmark job must run on a self-hosted runner")
	}
	var runs []string
	var uploadAlways bool
	for _, s := range List(job, "steps") {
		if r := Str(s, "run"); r != "" {
			runs = append(runs, strings.TrimSpace(r))
		}
		if strings.HasPrefix(Str(s, "uses"), "actions/upload-artifact") && Str(s, "if") == "always()" {
			uploadAlways = true
		}
		if Get(s, "continue-on-error") != nil {
			t.Errorf("github: step %v has continue-on-error", s)
		}
	}
	checkScript("github", runs)
	if !uploadAlways {
		t.Error("github: results must be uploaded even when the job fails (if: always())")
	}

	gl := read("deploy/ci/gitlab-ci.yml")
	var script []string
	for _, l := range List(gl, "servebench", "script") {
		script = append(script, l.(string))
	}
	checkScript("gitlab", script)
	if Get(gl, "servebench", "allow_failure") != nil {
		t.Error("gitlab: allow_failure would hide regressions")
	}
	if Str(gl, "servebench", "artifacts", "when") != "always" {
		t.Error("gitlab: artifacts must be kept when the job fails")
	}
	if !slices.Contains(List(gl, "servebench", "tags"), any("servebench")) {
		t.Error("gitlab: the job must be tagged for the benchmark runner")
	}
	if fi, err := os.Stat(filepath.Join(r, "deploy/ci/compare-baseline.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Error("deploy/ci/compare-baseline.sh missing or not executable")
	}
}

// unitFile parses a systemd unit into section -> key -> values.
func unitFile(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			sec = l[1 : len(l)-1]
			out[sec] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || sec == "" {
				t.Fatalf("%s: bad line %q", path, l)
			}
			out[sec][k] = append(out[sec][k], v)
		}
	}
	return out
}

func TestSystemdNightly(t *testing.T) {
	r := root(t)
	dir := filepath.Join(r, "deploy/systemd")
	svc := unitFile(t, filepath.Join(dir, "servebench-nightly.service"))
	timer := unitFile(t, filepath.Join(dir, "servebench-nightly.timer"))

	if got := svc["Service"]["Type"]; !slices.Equal(got, []string{"oneshot"}) {
		t.Errorf("service Type %v, want oneshot", got)
	}
	execStart := strings.Join(svc["Service"]["ExecStart"], " ")
	m := regexp.MustCompile(`--profile (\S+) up .*--exit-code-from (\S+) (\S+)$`).FindStringSubmatch(execStart)
	if m == nil {
		t.Fatalf("ExecStart %q: want `docker compose --profile P up ... --exit-code-from S S`", execStart)
	}
	p := loadCompose(t, m[1], nil)
	if _, ok := p.Services[m[2]]; !ok || m[2] != m[3] {
		t.Errorf("ExecStart runs service %q/%q, not a service of profile %s (%v)", m[2], m[3], m[1], p.ServiceNames())
	}
	if len(timer["Timer"]["OnCalendar"]) != 1 || !slices.Equal(timer["Timer"]["Persistent"], []string{"true"}) {
		t.Errorf("timer: want one OnCalendar and Persistent=true, got %v", timer["Timer"])
	}
	if u := timer["Timer"]["Unit"]; len(u) != 1 || u[0] != "servebench-nightly.service" {
		t.Errorf("timer Unit %v", u)
	}
	if w := timer["Install"]["WantedBy"]; !slices.Equal(w, []string{"timers.target"}) {
		t.Errorf("timer WantedBy %v, want timers.target", w)
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit syntax not verified by systemd")
		return
	}
	out, err := exec.Command(sa, "verify", "--man=no",
		filepath.Join(dir, "servebench-nightly.service"), filepath.Join(dir, "servebench-nightly.timer")).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
