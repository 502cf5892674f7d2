package deploytest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/servebench/servebench/runner/topology"
)

func root(t testing.TB) string {
	t.Helper()
	r, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func loadCompose(t testing.TB, profile string, env map[string]string) *types.Project {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := LoadCompose(ctx, root(t), profile, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// listener is one address a service listens on, as its configuration says.
type listener struct{ host, port string }

// listeners reads the listen addresses out of a service's flags and env:
// --web.listen-address=H:P, --host H / --port P (vLLM, the simulator) and
// Grafana's GF_SERVER_HTTP_ADDR / _PORT.
func listeners(s types.ServiceConfig) []listener {
	var out []listener
	var args []string
	for _, a := range s.Command {
		args = append(args, strings.Fields(a)...)
	}
	flag := func(name string) (string, bool) {
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v, true
			}
			if a == name && i+1 < len(args) {
				return args[i+1], true
			}
		}
		return "", false
	}
	for _, name := range []string{"--web.listen-address", "--listen"} {
		if v, ok := flag(name); ok {
			i := strings.LastIndex(v, ":")
			out = append(out, listener{v[:i], v[i+1:]})
		}
	}
	if h, ok := flag("--host"); ok {
		p, _ := flag("--port")
		out = append(out, listener{h, p})
	}
	if h := s.Environment["GF_SERVER_HTTP_ADDR"]; h != nil {
		p := s.Environment["GF_SERVER_HTTP_PORT"]
		out = append(out, listener{*h, *p})
	}
	return out
}

var wantServices = map[string][]string{
	"sim":         {"alertmanager", "exporter", "grafana", "prometheus", "runner", "vllm-sim"},
	"llm":         {"alertmanager", "exporter", "grafana", "prometheus", "vllm"},
	"embedding":   {"alertmanager", "exporter", "grafana", "prometheus", "vllm-embedding"},
	"single-node": {"alertmanager", "exporter", "grafana", "loadgen", "prometheus", "vllm"},
	"two-hosts":   {"alertmanager", "exporter", "grafana", "prometheus", "remote-loadgen"},
}

// documentedPorts are the only host ports the stack may listen on
// (all services use the host network); docs/deploy.md lists them.
var documentedPorts = []string{"8000", "9464", "9465", "9090", "9093", "3000"}

func TestComposeProfilesParse(t *testing.T) {
	for _, c := range composeCases() {
		t.Run(c.name, func(t *testing.T) {
			p := c.load(t, nil)
			if got := p.ServiceNames(); !slices.Equal(got, wantServices[c.name]) {
				t.Errorf("services %v, want %v", got, wantServices[c.name])
			}
			for _, s := range p.Services {
				if s.NetworkMode != "host" {
					t.Errorf("%s: network_mode %q, want host (loopback binds, no NAT in the timing path)", s.Name, s.NetworkMode)
				}
				if len(s.Ports) > 0 {
					t.Errorf("%s: publishes ports %v; with host networking ports are set by the listen flags", s.Name, s.Ports)
				}
				checkImagePinned(t, s)
				checkMounts(t, root(t), s)
			}
		})
	}
}

func checkImagePinned(t *testing.T, s types.ServiceConfig) {
	t.Helper()
	ref := s.Image
	if i := strings.Index(ref, "@sha256:"); i >= 0 {
		return
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash || strings.HasSuffix(ref, ":latest") {
		t.Errorf("%s: image %q is not pinned by tag", s.Name, ref)
	}
}

// hostPathsAllowed are the absolute host paths outside the repository that a
// service may mount.
var hostPathsAllowed = []string{"/var/run/docker.sock"}

func checkMounts(t *testing.T, root string, s types.ServiceConfig) {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if slices.Contains(hostPathsAllowed, v.Source) {
			if !v.ReadOnly {
				t.Errorf("%s: %s must be mounted read-only", s.Name, v.Source)
			}
			continue
		}
		if !strings.HasPrefix(v.Source, root+string(filepath.Separator)) {
			t.Errorf("%s: bind mount %s is outside the repository", s.Name, v.Source)
			continue
		}
		if _, err := os.Stat(v.Source); err != nil {
			t.Errorf("%s: mounts %s, which is not in the repository: %v", s.Name, v.Source, err)
		}
		if !v.ReadOnly {
			t.Errorf("%s: repository file %s mounted read-write", s.Name, v.Source)
		}
	}
}

var urlInHealthcheck = regexp.MustCompile(`https?://[^'" ]+`)

// composeCase is one way to start the stack: a profile of docker-compose.yml,
// possibly with an override file.
type composeCase struct {
	name      string
	overrides []string
	profile   string
	env       map[string]string
}

func composeCases() []composeCase {
	var out []composeCase
	for _, p := range ComposeProfiles {
		out = append(out, composeCase{name: p, profile: p})
	}
	return append(out, composeCase{name: "two-hosts", overrides: []string{TwoHostsOverride}, profile: "two-hosts",
		env: map[string]string{"ENGINE_URL": "http://192.0.2.10:8000"}})
}

func (c composeCase) load(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	all := map[string]string{}
	for k, v := range c.env {
		all[k] = v
	}
	for k, v := range env {
		all[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := LoadComposeFiles(ctx, root(t), c.overrides, c.profile, all)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComposeHealthchecksAndBinds(t *testing.T) {
	for _, c := range composeCases() {
		t.Run(c.name, func(t *testing.T) {
			def := c.load(t, nil)
			all := c.load(t, map[string]string{"SERVEBENCH_BIND": "0.0.0.0"})
			for _, s := range def.Services {
				ls := listeners(s)
				if len(ls) == 0 {
					t.Errorf("%s: no listen address found in its flags", s.Name)
				}
				for _, l := range ls {
					if l.host != "127.0.0.1" {
						t.Errorf("%s: listens on %s:%s by default, want 127.0.0.1", s.Name, l.host, l.port)
					}
					if !slices.Contains(documentedPorts, l.port) {
						t.Errorf("%s: port %s is not one of the documented ports %v", s.Name, l.port, documentedPorts)
					}
				}
				for _, l := range listeners(all.Services[s.Name]) {
					if l.host != "0.0.0.0" {
						t.Errorf("%s: SERVEBENCH_BIND=0.0.0.0 left a listener on %s", s.Name, l.host)
					}
				}

				h := s.HealthCheck
				if h == nil || h.Disable || len(h.Test) < 2 {
					t.Errorf("%s: no healthcheck", s.Name)
					continue
				}
				if h.Test[0] != "CMD" {
					t.Errorf("%s: healthcheck %q: use the exec form (CMD); scratch images have no shell", s.Name, h.Test[0])
				}
				if h.Interval == nil || h.Timeout == nil || h.Retries == nil {
					t.Errorf("%s: healthcheck lacks interval, timeout or retries", s.Name)
				}
				u := urlInHealthcheck.FindString(strings.Join(h.Test, " "))
				if u == "" {
					t.Errorf("%s: healthcheck %v probes no URL", s.Name, h.Test)
					continue
				}
				pu, err := url.Parse(u)
				if err != nil {
					t.Errorf("%s: healthcheck URL %q: %v", s.Name, u, err)
					continue
				}
				if !slices.ContainsFunc(ls, func(l listener) bool { return l.port == pu.Port() }) {
					t.Errorf("%s: healthcheck probes port %s, but the service listens on %v", s.Name, pu.Port(), ls)
				}
			}
		})
	}
}

func TestComposeServebenchImageProbe(t *testing.T) {
	// Services on the FROM scratch images can only run binaries the image
	// holds; check the healthcheck executable against the Dockerfile's COPYs.
	r := root(t)
	images := map[string]string{
		"servebench/servebench:dev": filepath.Join(r, "deploy/docker/Dockerfile.scratch"),
		"servebench/vllm-sim:dev":   filepath.Join(r, "deploy/vllm-sim/Dockerfile"),
	}
	for _, profile := range ComposeProfiles {
		for _, s := range loadCompose(t, profile, nil).Services {
			df, ok := images[s.Image]
			if !ok || s.HealthCheck == nil || len(s.HealthCheck.Test) < 2 {
				continue
			}
			files, err := DockerfileFiles(df)
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			exe := s.HealthCheck.Test[1]
			if !slices.Contains(files, exe) {
				t.Errorf("%s/%s: healthcheck runs %s, which %s does not put in the image (it has %v)",
					profile, s.Name, exe, filepath.Base(df), files)
			}
			if len(s.Entrypoint) > 0 && !slices.Contains(files, s.Entrypoint[0]) {
				t.Errorf("%s/%s: entrypoint %s is not in the image (%v)", profile, s.Name, s.Entrypoint[0], files)
			}
		}
	}
}

func TestComposeEngineSettings(t *testing.T) {
	for _, tc := range []struct{ profile, service string }{
		{"llm", "vllm"}, {"embedding", "vllm-embedding"}, {"single-node", "vllm"},
	} {
		env := map[string]string{
			"HF_TOKEN":               "hf_test_token",
			"VLLM_CPUS":              "4-11",
			"VLLM_CPU_KVCACHE_SPACE": "12",
			"VLLM_IMAGE":             "example.org/vllm-cpu:v9.9.9",
		}
		s := loadCompose(t, tc.profile, env).Services[tc.service]
		get := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		if s.CPUSet != "4-11" || get("VLLM_CPU_OMP_THREADS_BIND") != "4-11" {
			t.Errorf("%s: cpuset %q, bind %q; want both from VLLM_CPUS", tc.service, s.CPUSet, get("VLLM_CPU_OMP_THREADS_BIND"))
		}
		if get("VLLM_CPU_KVCACHE_SPACE") != "12" || get("HF_TOKEN") != "hf_test_token" || s.Image != env["VLLM_IMAGE"] {
			t.Errorf("%s: environment not taken from the caller: %v image %s", tc.service, s.Environment, s.Image)
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source == "model-cache" && v.Target == "/root/.cache/huggingface"
		}) {
			t.Errorf("%s: no model-cache volume on the Hugging Face cache", tc.service)
		}
		if h := s.HealthCheck; h == nil || h.StartPeriod == nil || time.Duration(*h.StartPeriod) < 10*time.Minute {
			t.Errorf("%s: healthcheck start_period must allow a long CPU model load (>= 10m)", tc.service)
		}

		exp := loadCompose(t, tc.profile, env).Services["exporter"]
		if !slices.Contains([]string(exp.Command), "--cpuset.engine=4-11") {
			t.Errorf("exporter %v: CPU roles do not follow VLLM_CPUS", exp.Command)
		}

		def := loadCompose(t, tc.profile, nil).Services[tc.service]
		if _, err := parseCPUSet(def.CPUSet); err != nil {
			t.Errorf("%s: default cpuset: %v", tc.service, err)
		}
		if v := def.Environment["VLLM_CPU_KVCACHE_SPACE"]; v == nil || *v == "" {
			t.Errorf("%s: no default VLLM_CPU_KVCACHE_SPACE", tc.service)
		}
		if v := def.Environment["HF_TOKEN"]; v != nil && *v != "" {
			t.Errorf("%s: HF_TOKEN has a default value", tc.service)
		}
	}
}

func TestComposeSingleNodeCPUSetsDisjoint(t *testing.T) {
	for _, env := range []map[string]string{
		nil,
		{"VLLM_CPUS": "0-15", "LOADGEN_CPUS": "16-19"},
		{"VLLM_CPUS": "32-63", "LOADGEN_CPUS": "0-3"},
	} {
		p := loadCompose(t, "single-node", env)
		engine, err := parseCPUSet(p.Services["vllm"].CPUSet)
		if err != nil {
			t.Fatalf("vllm: %v", err)
		}
		load, err := parseCPUSet(p.Services["loadgen"].CPUSet)
		if err != nil {
			t.Fatalf("loadgen: %v", err)
		}
		if o := Overlap(engine, load); len(o) > 0 {
			t.Errorf("env %v: engine and load generator share CPUs %v", env, o)
		}
		if env != nil && (p.Services["vllm"].CPUSet != env["VLLM_CPUS"] || p.Services["loadgen"].CPUSet != env["LOADGEN_CPUS"]) {
			t.Errorf("env %v: cpusets not taken from the environment", env)
		}
	}
}

func TestComposeDocumented(t *testing.T) {
	// Every variable the compose file reads is described in docs/deploy.md.
	r := root(t)
	var compose, doc []byte
	for _, f := range []string{"docker-compose.yml", TwoHostsOverride} {
		b, err := os.ReadFile(filepath.Join(r, f))
		if err != nil {
			t.Fatal(err)
		}
		compose = append(compose, b...)
	}
	for _, f := range []string{"docs/deploy.md", "docs/two-hosts.md"} {
		b, err := os.ReadFile(filepath.Join(r, f))
		if err != nil {
			t.Fatal(err)
		}
		doc = append(doc, b...)
	}
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(string(compose), -1) {
		vars[m[1]] = true
	}
	var missing []string
	for v := range vars {
		if !strings.Contains(string(doc), "`"+v+"`") {
			missing = append(missing, v)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/deploy.md and docs/two-hosts.md do not describe %v", missing)
	}
	for _, p := range documentedPorts {
		if !strings.Contains(string(doc), ":"+p) {
			t.Errorf("docs/deploy.md does not list port %s", p)
		}
	}
}

// parseCPUSet reads a compose cpuset with the runner's own parser; an empty
// one is an error here, since every pinned service must name its CPUs.
func parseCPUSet(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("cpuset: empty")
	}
	return topology.ParseList(s)
}
