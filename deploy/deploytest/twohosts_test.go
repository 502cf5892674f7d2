package deploytest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

func TestComposeTwoHosts(t *testing.T) {
	r := root(t)
	c := composeCases()[len(ComposeProfiles)]
	p := c.load(t, nil)

	prom := p.Services["prometheus"]
	cfgFile := containerFile(t, prom, "/etc/prometheus/prometheus.yml")
	if want := filepath.Join(r, "deploy/docker/two-hosts/prometheus.yml"); cfgFile != want {
		t.Fatalf("two-hosts Prometheus reads %s, want %s", cfgFile, want)
	}
	two := readYAML(t, cfgFile)
	gen := readYAML(t, filepath.Join(r, "deploy/prometheus/prometheus.yml"))

	// Same jobs, intervals and Alertmanager as the generated config, so the
	// boards and rules work unchanged.
	jobs := func(cfg map[string]any) []string {
		var out []string
		for _, sc := range List(cfg, "scrape_configs") {
			out = append(out, Str(sc, "job_name"))
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(jobs(two), jobs(gen)) {
		t.Errorf("jobs %v, generated config has %v", jobs(two), jobs(gen))
	}
	for _, k := range []string{"scrape_interval", "evaluation_interval"} {
		if Str(two, "global", k) != Str(gen, "global", k) {
			t.Errorf("global.%s %q, generated config has %q", k, Str(two, "global", k), Str(gen, "global", k))
		}
	}
	if Str(two, "alerting", "alertmanagers", 0, "static_configs", 0, "targets", 0) != Str(gen, "alerting", "alertmanagers", 0, "static_configs", 0, "targets", 0) {
		t.Error("two-hosts config alerts elsewhere than the generated config")
	}
	for _, g := range List(two, "rule_files") {
		if m, _ := filepath.Glob(containerFile(t, prom, g.(string))); len(m) == 0 {
			t.Errorf("rule_files %q matches no mounted file", g)
		}
	}

	// Every file_sd file is mounted and lists host:port targets on the
	// server's documented ports.
	wantPort := map[string]string{"engine": "8000", "exporter": "9465"}
	for _, sc := range List(two, "scrape_configs") {
		for _, fsd := range List(sc, "file_sd_configs") {
			for _, f := range List(fsd, "files") {
				b, err := os.ReadFile(containerFile(t, prom, f.(string)))
				if err != nil {
					t.Errorf("job %s: %v", Str(sc, "job_name"), err)
					continue
				}
				var groups []struct {
					Targets []string          `json:"targets"`
					Labels  map[string]string `json:"labels"`
				}
				if err := json.Unmarshal(b, &groups); err != nil || len(groups) == 0 {
					t.Errorf("%s: want a file_sd target list: %v", f, err)
					continue
				}
				for _, g := range groups {
					for _, tg := range g.Targets {
						if _, port, ok := strings.Cut(tg, ":"); !ok || port != wantPort[Str(sc, "job_name")] {
							t.Errorf("%s: target %q, want host:%s", f, tg, wantPort[Str(sc, "job_name")])
						}
					}
				}
			}
		}
	}

	lg := p.Services["remote-loadgen"]
	if !slices.Contains([]string(lg.Command), "--target=http://192.0.2.10:8000") {
		t.Errorf("remote-loadgen does not measure ENGINE_URL: %v", lg.Command)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := LoadComposeFiles(ctx, r, c.overrides, c.profile, nil); err == nil || !strings.Contains(err.Error(), "ENGINE_URL") {
		t.Errorf("without ENGINE_URL: err %v, want one naming ENGINE_URL", err)
	}
}

// TestE2ETwoHostsPrometheusConfig has promtool check the two-host
// Prometheus config with the container paths laid out in a temp dir.
func TestE2ETwoHostsPrometheusConfig(t *testing.T) {
	promtool := e2e.Require(t, "promtool")
	r := root(t)
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(r, "deploy/docker/two-hosts/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(b), "/etc/prometheus/", dir+"/")
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for sub, src := range map[string]string{"rules": RulesDir, "targets": "deploy/docker/two-hosts/targets"} {
		files, _ := filepath.Glob(filepath.Join(r, src, "*"))
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") || strings.Contains(string(out), " 0 rule files found") {
		t.Errorf("promtool: %s", out)
	}
}
