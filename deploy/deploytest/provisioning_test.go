package deploytest

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

func readYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

// containerFile maps a path in svc's container to the repository file that
// a bind mount puts there, failing the test when none does.
func containerFile(t *testing.T, svc types.ServiceConfig, p string) string {
	t.Helper()
	h := HostPath(svc, p)
	if h == "" {
		t.Fatalf("%s: nothing is mounted at %s", svc.Name, p)
	}
	return h
}

// TestComposeGrafanaProvisioning follows Grafana's provisioning files through
// the compose mounts to the generated boards and to Prometheus.
func TestComposeGrafanaProvisioning(t *testing.T) {
	r := root(t)
	p := loadCompose(t, "sim", nil)
	g := p.Services["grafana"]

	provs, _ := filepath.Glob(filepath.Join(containerFile(t, g, "/etc/grafana/provisioning/dashboards"), "*.y*ml"))
	if len(provs) == 0 {
		t.Fatal("no dashboard provider file under deploy/grafana/provisioning/dashboards")
	}
	boards, _ := filepath.Glob(filepath.Join(r, DashboardsDir, "*.json"))
	if len(boards) == 0 {
		t.Fatalf("no boards in %s", DashboardsDir)
	}
	var covered []string
	for _, f := range provs {
		for _, prov := range List(readYAML(t, f), "providers") {
			inContainer := Str(prov, "options", "path")
			if Str(prov, "type") != "file" || !path.IsAbs(inContainer) {
				t.Errorf("%s: provider %q: want type file with an absolute options.path", f, Str(prov, "name"))
				continue
			}
			dir := containerFile(t, g, inContainer)
			found, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if len(found) == 0 {
				t.Errorf("%s: provider path %s (%s on the host) holds no board", f, inContainer, dir)
			}
			covered = append(covered, found...)
		}
	}
	for _, b := range boards {
		if !slices.Contains(covered, b) {
			t.Errorf("board %s is not loaded by any provider", b)
		}
	}

	if home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != nil {
		if _, err := os.Stat(containerFile(t, g, *home)); err != nil {
			t.Errorf("Grafana home board %s: %v", *home, err)
		}
	}

	promPort := ""
	for _, l := range listeners(p.Services["prometheus"]) {
		promPort = l.port
	}
	dss, _ := filepath.Glob(filepath.Join(containerFile(t, g, "/etc/grafana/provisioning/datasources"), "*.y*ml"))
	var prom int
	for _, f := range dss {
		for _, ds := range List(readYAML(t, f), "datasources") {
			if Str(ds, "type") != "prometheus" {
				continue
			}
			prom++
			u, err := url.Parse(Str(ds, "url"))
			if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") || u.Port() != promPort {
				t.Errorf("%s: datasource %q url %q; Grafana reaches Prometheus at 127.0.0.1:%s (host network)", f, Str(ds, "name"), Str(ds, "url"), promPort)
			}
			if Str(ds, "uid") == "" {
				t.Errorf("%s: datasource %q has no fixed uid", f, Str(ds, "name"))
			}
		}
	}
	if prom == 0 {
		t.Error("no Prometheus datasource is provisioned")
	}
}

// TestComposePrometheusConfig follows prometheus.yml through the compose
// mounts: its rule files exist, and it scrapes the runner, the exporter and
// the engine and alerts through the Alertmanager of the stack.
func TestComposePrometheusConfig(t *testing.T) {
	r := root(t)
	p := loadCompose(t, "sim", nil)
	prom := p.Services["prometheus"]
	var cfgPath string
	for _, a := range prom.Command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			cfgPath = v
		}
	}
	cfg := readYAML(t, containerFile(t, prom, cfgPath))

	var loaded []string
	for _, g := range List(cfg, "rule_files") {
		glob, _ := g.(string)
		if !path.IsAbs(glob) {
			glob = path.Join(path.Dir(cfgPath), glob)
		}
		m, _ := filepath.Glob(containerFile(t, prom, glob))
		if len(m) == 0 {
			t.Errorf("rule_files %q matches no file in the container", g)
		}
		loaded = append(loaded, m...)
	}
	rules, _ := filepath.Glob(filepath.Join(r, RulesDir, "*.yml"))
	for _, f := range rules {
		b, _ := os.ReadFile(f)
		if _, ok, _ := PrometheusRule("x", b); ok && !slices.Contains(loaded, f) {
			t.Errorf("rule file %s is not loaded by prometheus.yml", f)
		}
	}

	var targets []string
	for _, sc := range List(cfg, "scrape_configs") {
		for _, st := range List(sc, "static_configs") {
			for _, tg := range List(st, "targets") {
				targets = append(targets, tg.(string))
			}
		}
	}
	for _, svc := range []string{"vllm-sim", "runner", "exporter"} {
		for _, l := range listeners(p.Services[svc]) {
			if !slices.Contains(targets, "127.0.0.1:"+l.port) && !slices.Contains(targets, "localhost:"+l.port) {
				t.Errorf("prometheus.yml does not scrape %s at 127.0.0.1:%s (targets %v)", svc, l.port, targets)
			}
		}
	}
	var ams []string
	for _, am := range List(cfg, "alerting", "alertmanagers") {
		for _, st := range List(am, "static_configs") {
			for _, tg := range List(st, "targets") {
				ams = append(ams, tg.(string))
			}
		}
	}
	for _, l := range listeners(p.Services["alertmanager"]) {
		if !slices.Contains(ams, "127.0.0.1:"+l.port) && !slices.Contains(ams, "localhost:"+l.port) {
			t.Errorf("prometheus.yml does not send alerts to Alertmanager at 127.0.0.1:%s (%v)", l.port, ams)
		}
	}

	am := p.Services["alertmanager"]
	for _, a := range am.Command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			if len(List(readYAML(t, containerFile(t, am, v)), "receivers")) == 0 {
				t.Errorf("alertmanager config %s has no receivers", v)
			}
		}
	}
}
