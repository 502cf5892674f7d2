package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/servebench/servebench/alerts"
	"github.com/servebench/servebench/dashboards"
)

var update = flag.Bool("update", false, "rewrite the checked-in generated files (same as make generate)")

const repoRoot = "../.."

// The checked-in generated files are exactly what obsgen writes: this is
// the "make generate leaves no diff" check. -update rewrites them.
func TestGeneratedFilesUpToDate(t *testing.T) {
	if *update {
		var out, errb bytes.Buffer
		if code := run([]string{"-root", repoRoot}, &out, &errb, func(string) string { return "" }); code != 0 {
			t.Fatalf("obsgen exit %d: %s", code, errb.String())
		}
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"-root", dir}, &out, &errb, func(string) string { return "" }); code != 0 {
		t.Fatalf("obsgen exit %d: %s", code, errb.String())
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, path)
		got, _ := os.ReadFile(path)
		want, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil {
			t.Errorf("%s: not checked in (run make generate): %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what obsgen writes (run make generate)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Errorf("obsgen wrote %d files, want at least 15", n)
	}
}

// The environment never leaks into the repository's files: make generate
// with Slack configured writes the same bytes.
func TestGenerateIgnoresEnvironment(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	env := func(k string) string {
		if k == alerts.EnvSlackURL {
			return "https://hooks.slack.com/services/secret"
		}
		return ""
	}
	var out, errb bytes.Buffer
	if run([]string{"-root", a}, &out, &errb, env) != 0 || run([]string{"-root", b}, &out, &errb, func(string) string { return "" }) != 0 {
		t.Fatal(errb.String())
	}
	x, _ := os.ReadFile(filepath.Join(a, alertmanagerYML))
	y, _ := os.ReadFile(filepath.Join(b, alertmanagerYML))
	if !bytes.Equal(x, y) || bytes.Contains(x, []byte("secret")) {
		t.Error("the environment changed the generated alertmanager.yml")
	}
}

// -alertmanager writes a deployment's config from the environment, private
// to its owner, and rejects an incomplete e-mail set-up with exit 2.
func TestAlertmanagerFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "am.yml")
	env := map[string]string{
		alerts.EnvSlackURL: "https://hooks.slack.com/services/T/B/x", alerts.EnvEmailTo: "perf@example.com",
		alerts.EnvEmailFrom: "sb@example.com", alerts.EnvSMTPHost: "smtp.example.com:587",
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-alertmanager", path}, &out, &errb, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "hooks.slack.com") || !strings.Contains(string(b), "smtp.example.com:587") {
		t.Errorf("receivers missing:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	delete(env, alerts.EnvEmailFrom)
	errb.Reset()
	if code := run([]string{"-alertmanager", path}, &out, &errb, func(k string) string { return env[k] }); code != 2 || !strings.Contains(errb.String(), alerts.EnvEmailFrom) {
		t.Errorf("exit %d, stderr %q; want 2 naming %s", code, errb.String(), alerts.EnvEmailFrom)
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"extra"}, &out, &errb, func(string) string { return "" }); code != 2 {
		t.Errorf("exit %d for a stray argument, want 2", code)
	}
}

// The History board marks exactly the regression alerts.
func TestHistoryBoardMarksRegressionAlerts(t *testing.T) {
	re := regexp.MustCompile("^(?:" + dashboards.RegressionAlerts + ")$")
	for _, r := range alerts.Alerting(alerts.DefaultOptions()).Alerts() {
		want := strings.HasSuffix(r.Alert, "Regression")
		if re.MatchString(r.Alert) != want {
			t.Errorf("%s: marked %v, want %v", r.Alert, !want, want)
		}
	}
}

// BenchmarkGenerate renders every generated file (7 boards, 2 rule files,
// the promtool scenarios, prometheus.yml, alertmanager.yml, provisioning and
// docs/metrics.md) in memory.
func BenchmarkGenerate(b *testing.B) {
	var size int
	for b.Loop() {
		files, err := generate()
		if err != nil {
			b.Fatal(err)
		}
		size = 0
		for _, f := range files {
			size += len(f)
		}
	}
	b.ReportMetric(float64(size), "bytes/generate")
}
