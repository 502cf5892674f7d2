package deploytest

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite "+MonitoringDir+" from the generated rules and boards")

// TestKubernetesMonitoringInSync keeps the kustomize copies of the generated
// rules and boards equal to the originals (make generate-deploy rewrites them).
func TestKubernetesMonitoringInSync(t *testing.T) {
	r := root(t)
	want, err := RenderMonitoring(r)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(r, MonitoringDir)
	if *update {
		if err := WriteTree(dir, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[n]; !ok {
			t.Errorf("%s/%s is missing; run make generate-deploy", MonitoringDir, n)
		} else if !bytes.Equal(g, want[n]) {
			t.Errorf("%s/%s differs from what its sources give; run make generate-deploy", MonitoringDir, n)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("%s/%s has no source any more; run make generate-deploy", MonitoringDir, n)
		}
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(want)), func(n string) bool { return strings.HasPrefix(n, "prometheusrule-") }) {
		t.Errorf("no rule file with groups under %s", RulesDir)
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(want)), func(n string) bool { return strings.HasPrefix(n, "dashboards/") }) {
		t.Errorf("no board under %s", DashboardsDir)
	}
}

func TestPrometheusRuleWrapsGroups(t *testing.T) {
	rules := []byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 5m\n        annotations:\n          summary: \"x: {{ $labels.job }}\"\n")
	obj, ok, err := PrometheusRule("bench_regression", rules)
	if err != nil || !ok {
		t.Fatalf("PrometheusRule: ok=%v err=%v", ok, err)
	}
	want := `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  labels:
    app.kubernetes.io/component: rules
    app.kubernetes.io/part-of: servebench
  name: servebench-bench-regression
spec:
  groups:
    - name: g
      rules:
        - alert: A
          expr: up == 0
          for: 5m
          annotations:
            summary: "x: {{ $labels.job }}"
`
	if string(obj) != want {
		t.Errorf("got\n%s\nwant\n%s", obj, want)
	}
	if _, ok, err := PrometheusRule("t", []byte("rule_files: [a.yml]\ntests: []\n")); ok || err != nil {
		t.Errorf("a promtool test file must be skipped: ok=%v err=%v", ok, err)
	}
	if _, _, err := PrometheusRule("t", []byte("groups: [")); err == nil {
		t.Error("bad YAML must be an error")
	}
}

// podTemplates returns kind/name -> pod template of every workload.
func podTemplates(objs []Object) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		switch o.Kind() {
		case "Deployment", "DaemonSet", "Job", "StatefulSet":
			out[o.Kind()+"/"+o.Name()] = Map(o, "spec", "template")
		case "CronJob":
			out[o.Kind()+"/"+o.Name()] = Map(o, "spec", "jobTemplate", "spec", "template")
		}
	}
	return out
}

func labelsMatch(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func containerPortNames(tmpl map[string]any) []string {
	var out []string
	for _, c := range List(tmpl, "spec", "containers") {
		for _, p := range List(c, "ports") {
			out = append(out, Str(p, "name"))
		}
	}
	return out
}

// checkWorkloads applies the rules every rendered tree must keep.
func checkWorkloads(t *testing.T, objs []Object) {
	t.Helper()
	for _, o := range objs {
		if o.Kind() != "Namespace" && o.Namespace() != "servebench" {
			t.Errorf("%s/%s: namespace %q, want servebench", o.Kind(), o.Name(), o.Namespace())
		}
		if sel := Map(o, "spec", "selector", "matchLabels"); sel != nil && Map(o, "spec", "template") != nil {
			if !labelsMatch(sel, Map(o, "spec", "template", "metadata", "labels")) {
				t.Errorf("%s/%s: selector %v does not match its pod labels", o.Kind(), o.Name(), sel)
			}
		}
	}
	for name, tmpl := range podTemplates(objs) {
		ports := containerPortNames(tmpl)
		for _, c := range List(tmpl, "spec", "containers") {
			cname := name + "/" + Str(c, "name")
			img := Str(c, "image")
			if i := strings.LastIndex(img, ":"); i <= strings.LastIndex(img, "/") || strings.HasSuffix(img, ":latest") {
				t.Errorf("%s: image %q not pinned by tag", cname, img)
			}
			for _, a := range List(c, "args") {
				if s, _ := a.(string); strings.Contains(s, "0.0.0.0") {
					t.Errorf("%s: binds 0.0.0.0 (%s); bind $(POD_IP)", cname, s)
				}
			}
			if Str(c, "resources", "limits", "cpu") == "" || Str(c, "resources", "limits", "memory") == "" {
				t.Errorf("%s: no CPU or memory limit", cname)
			}
			for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
				if p := Get(c, probe, "httpGet", "port"); p != nil {
					if s, ok := p.(string); ok && !slices.Contains(ports, s) {
						t.Errorf("%s: %s probes port %q, which no container declares", cname, probe, s)
					}
				}
			}
		}
	}
}

func find(objs []Object, kind, name string) Object {
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	return nil
}

func TestKubernetesOverlaysRender(t *testing.T) {
	r := root(t)
	ruleFiles, boards := 0, 0
	if m, err := RenderMonitoring(r); err == nil {
		for n := range m {
			switch {
			case strings.HasPrefix(n, "prometheusrule-"):
				ruleFiles++
			case strings.HasPrefix(n, "dashboards/"):
				boards++
			}
		}
	}
	for _, tc := range []struct {
		overlay     string
		suite       string
		model       string
		minStartupS int // startup probe budget: CPU model loads take minutes
	}{
		{"sim", "smoke", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", 60},
		{"llm", "concurrent-load", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", 20 * 60},
		{"embedding", "embedding", "sentence-transformers/all-MiniLM-L6-v2", 20 * 60},
	} {
		t.Run(tc.overlay, func(t *testing.T) {
			objs, err := Kustomize(filepath.Join(r, "deploy/kubernetes/overlays", tc.overlay))
			if err != nil {
				t.Fatal(err)
			}
			checkWorkloads(t, objs)
			tmpls := podTemplates(objs)

			vllm := tmpls["Deployment/vllm"]
			if vllm == nil {
				t.Fatal("no Deployment vllm")
			}
			c := Get(vllm, "spec", "containers", 0)
			for _, res := range []string{"cpu", "memory"} {
				req, lim := Str(c, "resources", "requests", res), Str(c, "resources", "limits", res)
				if req == "" || req != lim {
					t.Errorf("vllm: %s request %q != limit %q: not Guaranteed QoS", res, req, lim)
				}
			}
			if _, err := strconv.Atoi(Str(c, "resources", "limits", "cpu")); err != nil {
				t.Errorf("vllm: cpu %q is not a whole number of cores (static CPU manager)", Str(c, "resources", "limits", "cpu"))
			}
			for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
				if Str(c, probe, "httpGet", "path") != "/health" {
					t.Errorf("vllm: %s does not GET /health", probe)
				}
			}
			period, _ := Get(c, "startupProbe", "periodSeconds").(int)
			failures, _ := Get(c, "startupProbe", "failureThreshold").(int)
			if period*failures < tc.minStartupS {
				t.Errorf("vllm: startup probe allows %ds, want >= %ds", period*failures, tc.minStartupS)
			}

			svc := find(objs, "Service", "vllm")
			if svc == nil || !labelsMatch(Map(svc, "spec", "selector"), Map(vllm, "metadata", "labels")) {
				t.Error("Service vllm does not select the vllm pods")
			}
			sm := find(objs, "ServiceMonitor", "vllm")
			if sm == nil || !labelsMatch(Map(sm, "spec", "selector", "matchLabels"), Map(svc, "metadata", "labels")) {
				t.Error("ServiceMonitor vllm does not select Service vllm")
			} else {
				var svcPorts []string
				for _, p := range List(svc, "spec", "ports") {
					svcPorts = append(svcPorts, Str(p, "name"))
				}
				for _, e := range List(sm, "spec", "endpoints") {
					if !slices.Contains(svcPorts, Str(e, "port")) {
						t.Errorf("ServiceMonitor vllm scrapes port %q; the Service has %v", Str(e, "port"), svcPorts)
					}
				}
			}
			for pm, workload := range map[string]string{
				"servebench-exporter": "DaemonSet/servebench-exporter",
				"servebench-runner":   "CronJob/runner-nightly",
			} {
				o := find(objs, "PodMonitor", pm)
				tmpl := tmpls[workload]
				if o == nil || tmpl == nil {
					t.Errorf("missing PodMonitor %s or %s", pm, workload)
					continue
				}
				if !labelsMatch(Map(o, "spec", "selector", "matchLabels"), Map(tmpl, "metadata", "labels")) {
					t.Errorf("PodMonitor %s does not select %s's pods", pm, workload)
				}
				for _, e := range List(o, "spec", "podMetricsEndpoints") {
					if !slices.Contains(containerPortNames(tmpl), Str(e, "port")) {
						t.Errorf("PodMonitor %s scrapes port %q, not declared by %s", pm, Str(e, "port"), workload)
					}
				}
			}

			cj := find(objs, "CronJob", "runner-nightly")
			if cj == nil {
				t.Fatal("no CronJob runner-nightly")
			}
			if f := strings.Fields(Str(cj, "spec", "schedule")); len(f) != 5 {
				t.Errorf("CronJob schedule %q is not 5 fields", Str(cj, "spec", "schedule"))
			}
			if Str(cj, "spec", "concurrencyPolicy") != "Forbid" {
				t.Error("CronJob must not overlap runs (concurrencyPolicy Forbid)")
			}
			if args := List(tmpls["CronJob/runner-nightly"], "spec", "containers", 0, "args"); !slices.Contains(args, any("--suite="+tc.suite)) {
				t.Errorf("CronJob args %v, want --suite=%s", args, tc.suite)
			}

			// The engine and the runner read the served model from one ConfigMap.
			for _, w := range []string{"Deployment/vllm", "CronJob/runner-nightly"} {
				ref := modelRef(tmpls[w])
				cm := find(objs, "ConfigMap", ref)
				if cm == nil || Str(cm, "data", "VLLM_MODEL") != tc.model {
					t.Errorf("%s: VLLM_MODEL from ConfigMap %q, which does not hold %s", w, ref, tc.model)
				}
			}
			if args := List(tmpls["CronJob/runner-nightly"], "spec", "containers", 0, "args"); !slices.Contains(args, any("--models=$(VLLM_MODEL)")) {
				t.Errorf("CronJob args %v: the suite must measure the served model (--models=$(VLLM_MODEL))", args)
			}

			var rules, cms int
			for _, o := range objs {
				switch {
				case o.Kind() == "PrometheusRule":
					rules++
					groups := List(o, "spec", "groups")
					if len(groups) == 0 {
						t.Errorf("PrometheusRule %s has no groups", o.Name())
					}
					for _, g := range groups {
						for _, rule := range List(g, "rules") {
							if Str(rule, "expr") == "" || (Str(rule, "alert") == "") == (Str(rule, "record") == "") {
								t.Errorf("PrometheusRule %s: rule %v needs expr and one of alert/record", o.Name(), rule)
							}
						}
					}
				case o.Kind() == "ConfigMap" && Str(o, "metadata", "labels", "grafana_dashboard") == "1":
					cms++
					for key, v := range Map(o, "data") {
						want, err := os.ReadFile(filepath.Join(r, DashboardsDir, key))
						if err != nil || v != string(want) {
							t.Errorf("ConfigMap %s key %s is not %s/%s", o.Name(), key, DashboardsDir, key)
						}
					}
				}
			}
			if rules != ruleFiles || cms != boards || rules == 0 || cms == 0 {
				t.Errorf("%d PrometheusRules and %d dashboard ConfigMaps, want %d and %d (one per generated file)", rules, cms, ruleFiles, boards)
			}
		})
	}
}

// JobSuites lists the suites that deploy/kubernetes/jobs has a Job for.
func JobSuites(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "deploy/kubernetes/jobs"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "base" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func TestKubernetesJobsRender(t *testing.T) {
	r := root(t)
	suites, err := JobSuites(r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(suites, []string{"concurrent-load", "embedding", "scaling", "smoke"}) {
		t.Errorf("job suites %v", suites)
	}
	base, err := Kustomize(filepath.Join(r, "deploy/kubernetes/base"))
	if err != nil {
		t.Fatal(err)
	}
	pm := find(base, "PodMonitor", "servebench-runner")
	for _, s := range suites {
		t.Run(s, func(t *testing.T) {
			objs, err := Kustomize(filepath.Join(r, "deploy/kubernetes/jobs", s))
			if err != nil {
				t.Fatal(err)
			}
			checkWorkloads(t, objs)
			if len(objs) != 1 || objs[0].Kind() != "Job" || objs[0].Name() != "runner-"+s {
				t.Fatalf("want exactly Job runner-%s, got %d objects", s, len(objs))
			}
			job := objs[0]
			tmpl := Map(job, "spec", "template")
			if args := List(tmpl, "spec", "containers", 0, "args"); !slices.Contains(args, any("--suite="+s)) {
				t.Errorf("args %v lack --suite=%s", args, s)
			}
			if Str(tmpl, "spec", "restartPolicy") != "Never" || fmt.Sprint(Get(job, "spec", "backoffLimit")) != "0" {
				t.Error("a benchmark Job must not retry (restartPolicy Never, backoffLimit 0)")
			}
			if pm == nil || !labelsMatch(Map(pm, "spec", "selector", "matchLabels"), Map(tmpl, "metadata", "labels")) {
				t.Error("the runner PodMonitor does not select this Job's pods")
			}
			if ref := modelRef(tmpl); find(base, "ConfigMap", ref) == nil {
				t.Errorf("VLLM_MODEL from ConfigMap %q, which the base does not create", ref)
			}
			claim := Str(tmpl, "spec", "volumes", 0, "persistentVolumeClaim", "claimName")
			if claim == "" || find(base, "PersistentVolumeClaim", claim) == nil {
				t.Errorf("results claim %q is not created by the base", claim)
			}
		})
	}
}

// modelRef names the ConfigMap a pod template's first container reads
// VLLM_MODEL from ("" when it does not).
func modelRef(tmpl map[string]any) string {
	for _, e := range List(tmpl, "spec", "containers", 0, "env") {
		if Str(e, "name") == "VLLM_MODEL" {
			return Str(e, "valueFrom", "configMapKeyRef", "name")
		}
	}
	return ""
}
