package deploytest

import (
	"encoding/json"
	"path/filepath"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// typedKinds are the API types every rendered object must decode into
// strictly: a misspelt or misplaced field is an error, as kubectl's
// server-side field validation would make it.
var typedKinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"apps/v1/DaemonSet":                       func() any { return &appsv1.DaemonSet{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                        func() any { return &batchv1.CronJob{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/Namespace":                            func() any { return &corev1.Namespace{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

func TestKubernetesSchemas(t *testing.T) {
	r := root(t)
	dirs := []string{"overlays/sim", "overlays/llm", "overlays/embedding"}
	suites, err := JobSuites(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range suites {
		dirs = append(dirs, "jobs/"+s)
	}
	for _, d := range dirs {
		objs, err := Kustomize(filepath.Join(r, "deploy/kubernetes", d))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			key := Str(o, "apiVersion") + "/" + o.Kind()
			mk, ok := typedKinds[key]
			if !ok {
				t.Errorf("%s: %s %s has no schema check", d, key, o.Name())
				continue
			}
			b, err := json.Marshal(map[string]any(o))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(b, mk()); err != nil {
				t.Errorf("%s: %s %s: %v", d, key, o.Name(), err)
			}
		}
	}
}

func TestKubernetesSchemasCatchTypos(t *testing.T) {
	bad := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"x","startupProbe":{"failureTreshold":3}}]}}}}`)
	if err := yaml.UnmarshalStrict(bad, typedKinds["apps/v1/Deployment"]()); err == nil {
		t.Error("a misspelt probe field decoded without error")
	}
}
