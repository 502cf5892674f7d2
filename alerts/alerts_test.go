package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/servebench/servebench/internal/e2e"
)

// Every alert carries for, a known severity, summary, description and a
// runbook that exists in docs/runbooks.
func TestAlertsComplete(t *testing.T) {
	o := DefaultOptions()
	alerts := Alerting(o).Alerts()
	if len(alerts) != len(Runbooks) {
		t.Errorf("%d alerts, %d runbooks listed", len(alerts), len(Runbooks))
	}
	for _, r := range alerts {
		if r.For <= 0 {
			t.Errorf("%s: no for", r.Alert)
		}
		if !slices.Contains(Severities, r.Labels["severity"]) {
			t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if r.Annotations[k] == "" {
				t.Errorf("%s: no %s", r.Alert, k)
			}
		}
		file, ok := Runbooks[r.Alert]
		if !ok || !strings.HasSuffix(r.Annotations["runbook_url"], "/docs/runbooks/"+file) {
			t.Errorf("%s: runbook_url %q", r.Alert, r.Annotations["runbook_url"])
		}
		b, err := os.ReadFile(filepath.Join("..", "docs", "runbooks", file))
		if err != nil {
			t.Errorf("%s: %v", r.Alert, err)
		} else if !strings.Contains(string(b), r.Alert) {
			t.Errorf("%s: docs/runbooks/%s does not mention the alert", r.Alert, file)
		}
	}
}

// The promtool scenarios test every alert both firing and silent.
func TestUnitTestsCoverEveryAlert(t *testing.T) {
	firing, silent := map[string]bool{}, map[string]bool{}
	for _, g := range UnitTests("../rules").Tests {
		for _, a := range g.AlertRuleTests {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, r := range Alerting(DefaultOptions()).Alerts() {
		if !firing[r.Alert] || !silent[r.Alert] {
			t.Errorf("%s: firing case %v, silent case %v", r.Alert, firing[r.Alert], silent[r.Alert])
		}
	}
}

// writeRules writes the rule files of o and the unit tests into dir/rules
// and dir/tests and returns the test file's path.
func writeRules(t *testing.T, dir string, o Options) string {
	t.Helper()
	for _, sub := range []string{"rules", "tests"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, f := range Files(o) {
		b, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "rules", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := UnitTests("../rules").YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tests", TestsFile)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func promtool(t *testing.T, bin, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// promtool check rules and promtool test rules pass on the generated files.
func TestPromtoolRules(t *testing.T) {
	t.Parallel()
	bin := e2e.Require(t, "promtool")
	dir := t.TempDir()
	test := writeRules(t, dir, DefaultOptions())
	out, err := promtool(t, bin, dir, "check", "rules", filepath.Join("rules", RecordingFile), filepath.Join("rules", AlertsFile))
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules:\n%s", out)
	}
	out, err = promtool(t, bin, filepath.Dir(test), "test", "rules", filepath.Base(test))
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// The scenarios are sharp: rules with looser thresholds fail them.
func TestPromtoolScenariosCatchLooserRules(t *testing.T) {
	t.Parallel()
	bin := e2e.Require(t, "promtool")
	o := DefaultOptions()
	o.ThroughputDrop = 0.25 // a 20% drop no longer fires
	o.LatencyRise = 0.5     // nor a 40% TTFT rise
	o.MinRuns = 2           // and a halving after two runs does
	dir := t.TempDir()
	test := writeRules(t, dir, o)
	out, err := promtool(t, bin, filepath.Dir(test), "test", "rules", filepath.Base(test))
	if err == nil {
		t.Fatalf("promtool test rules passed with looser rules:\n%s", out)
	}
	for _, name := range []string{AlertThroughputRegression, AlertTTFTRegression} {
		if !strings.Contains(out, "alertname: "+name) {
			t.Errorf("no failure reported for %s:\n%s", name, out)
		}
	}
}

// promtool check config accepts prometheus.yml with the rules beside it.
func TestPromtoolConfig(t *testing.T) {
	bin := e2e.Require(t, "promtool")
	dir := t.TempDir()
	writeRules(t, dir, DefaultOptions())
	b, err := Prometheus(DefaultScrape())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := promtool(t, bin, dir, "check", "config", "prometheus.yml")
	if err != nil || !strings.Contains(out, "2 rule files found") {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// amtool accepts alertmanager.yml with the default webhook and with Slack
// and e-mail configured.
func TestAmtoolCheckConfig(t *testing.T) {
	bin := e2e.Require(t, "amtool")
	full := Receivers{WebhookURL: "https://ci.example.com/hook",
		Slack: &Slack{APIURL: "https://hooks.slack.com/services/T0/B0/x", Channel: "#bench"},
		Email: &Email{To: "perf@example.com", From: "servebench@example.com", Smarthost: "smtp.example.com:587", AuthUsername: "u", AuthPassword: "p"}}
	for name, r := range map[string]Receivers{"default": {WebhookURL: DefaultWebhookURL}, "full": full} {
		t.Run(name, func(t *testing.T) {
			b, err := Alertmanager(r, DefaultTiming())
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "alertmanager.yml")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "check-config", path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Fatalf("amtool check-config: %v\n%s\n%s", err, out, b)
			}
			s := string(b)
			if name == "full" && (strings.Count(s, "slack_configs") != 3 || strings.Count(s, "email_configs") != 2) {
				t.Errorf("slack on critical, warning and run-finished, e-mail on critical and run-finished expected:\n%s", s)
			}
		})
	}
}

func TestReceiversFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, r Receivers)
	}{
		{name: "empty", check: func(t *testing.T, r Receivers) {
			if r.WebhookURL != DefaultWebhookURL || r.Slack != nil || r.Email != nil {
				t.Errorf("%+v", r)
			}
		}},
		{name: "slack", env: map[string]string{EnvSlackURL: "https://hooks.slack.com/services/x", EnvSlackChannel: "#b"}, check: func(t *testing.T, r Receivers) {
			if r.Slack == nil || r.Slack.Channel != "#b" {
				t.Errorf("%+v", r)
			}
		}},
		{name: "email", env: map[string]string{EnvEmailTo: "a@b", EnvEmailFrom: "c@d", EnvSMTPHost: "smtp:25"}, check: func(t *testing.T, r Receivers) {
			if r.Email == nil || r.Email.Smarthost != "smtp:25" {
				t.Errorf("%+v", r)
			}
		}},
		{name: "email without sender", env: map[string]string{EnvEmailTo: "a@b", EnvSMTPHost: "smtp:25"}, wantErr: EnvEmailFrom},
		{name: "bad webhook", env: map[string]string{EnvWebhookURL: "127.0.0.1:5001"}, wantErr: EnvWebhookURL},
		{name: "bad slack", env: map[string]string{EnvSlackURL: "hooks.slack.com"}, wantErr: EnvSlackURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReceiversFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

// vmalert (VictoriaMetrics' rule evaluator, for history kept there) parses
// the same rule files.
func TestVmalertDryRun(t *testing.T) {
	bin := e2e.Require(t, "vmalert")
	dir := t.TempDir()
	writeRules(t, dir, DefaultOptions())
	out, err := exec.Command(bin, "-dryRun", "-rule="+filepath.Join(dir, "rules", "*.yml")).CombinedOutput()
	if err != nil || strings.Contains(string(out), "fatal") {
		t.Fatalf("vmalert -dryRun: %v\n%s", err, out)
	}
}
