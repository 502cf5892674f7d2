package deploytest

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/servebench/servebench/internal/e2e"
)

// Images built for the end-to-end tests: once per test binary, removed by
// TestMain.
var (
	imageMu    sync.Mutex
	imageBuilt = map[string]string{} // what -> tag
	imageTags  []string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for _, tag := range imageTags {
		_ = exec.Command("docker", "rmi", "-f", tag).Run()
	}
	os.Exit(code)
}

// buildImage builds one of the local images once: "servebench" is
// deploy/docker/Dockerfile.scratch prepared as make image-scratch does,
// "vllm-sim" is deploy/vllm-sim/Dockerfile as make sim-image does.
func buildImage(t *testing.T, what string) string {
	t.Helper()
	e2e.RequireDocker(t)
	imageMu.Lock()
	defer imageMu.Unlock()
	if tag, ok := imageBuilt[what]; ok {
		return tag
	}
	r := root(t)
	tag := fmt.Sprintf("servebench/%s:e2e-%d", what, os.Getpid())
	switch what {
	case "servebench":
		ctxDir := t.TempDir()
		run(t, 5*time.Minute, r, "bash", filepath.Join(r, "deploy/docker/scratch-context.sh"), ctxDir)
		run(t, 3*time.Minute, r, "docker", "build", "-q", "-f", filepath.Join(r, "deploy/docker/Dockerfile.scratch"),
			"--build-arg", "TARGETARCH="+runtime.GOARCH, "-t", tag, ctxDir)
	case "vllm-sim":
		e2e.SimImage{Root: r, Tag: tag}.Build(t)
	default:
		t.Fatalf("unknown image %q", what)
	}
	imageBuilt[what], imageTags = tag, append(imageTags, tag)
	return tag
}

func run(t *testing.T, timeout time.Duration, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dockerRun runs the image once on the host network and returns its exit
// code and output.
func dockerRun(t *testing.T, image string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"run", "--rm", "--network", "host", image}, args...)...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("docker run %v: %v\n%s", args, err, out)
	}
	return 0, string(out)
}

func TestE2EScratchImage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	image := buildImage(t, "servebench")
	r := root(t)

	// The image's default command lists the suites; every suite the
	// deploy configs name must be among them.
	code, out := dockerRun(t, image)
	if code != 0 {
		t.Fatalf("runner suites in the image: exit %d\n%s", code, out)
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(out, func(r rune) bool { return !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		words[w] = true
	}
	named, err := JobSuites(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range []string{"sim", "single-node"} {
		for _, s := range loadCompose(t, profile, nil).Services {
			for _, a := range s.Command {
				if v, ok := strings.CutPrefix(a, "--suite="); ok {
					named = append(named, v)
				}
			}
		}
	}
	for _, s := range named {
		if !words[s] {
			t.Errorf("suite %q (named by the deploy configs) is not in `runner suites`:\n%s", s, out)
		}
	}

	// The health probe every servebench service uses, run in the image.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if code, out := dockerRun(t, image, "healthcheck", srv.URL+"/metrics"); code != 0 {
		t.Errorf("healthcheck against a live server: exit %d\n%s", code, out)
	}
	dead := fmt.Sprintf("http://127.0.0.1:%d/metrics", e2e.FreePort(t))
	if code, out := dockerRun(t, image, "healthcheck", "--timeout", "2s", dead); code != 1 {
		t.Errorf("healthcheck against a closed port: exit %d, want 1\n%s", code, out)
	}
}

// TestE2EComposeExporterHealthy starts the compose file's exporter service
// (its entrypoint, command, user, mounts and healthcheck, as compose-go reads
// them) on the scratch image and waits for Docker to call it healthy.
func TestE2EComposeExporterHealthy(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	image := buildImage(t, "servebench")
	port := e2e.FreePort(t)
	p := loadCompose(t, "sim", map[string]string{"SERVEBENCH_IMAGE": image, "EXPORTER_PORT": strconv.Itoa(port)})
	svc := p.Services["exporter"]

	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := startService(ctx, t, cli, svc)

	waitHealthy(ctx, t, cli, id, "exporter", 60*time.Second)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("exporter /metrics: status %d", resp.StatusCode)
	}
}

// volumeDirs maps "service:/target" to the host directory standing in for
// a named volume.
var volumeDirs = map[string]string{}

// startService creates and starts a container as compose would for svc
// (host network; named volumes are not supported here) and removes it when
// the test ends.
func startService(ctx context.Context, t *testing.T, cli *client.Client, svc types.ServiceConfig) string {
	t.Helper()
	cfg := &container.Config{
		Image:      svc.Image,
		Entrypoint: []string(svc.Entrypoint),
		Cmd:        []string(svc.Command),
		User:       svc.User,
		Labels:     map[string]string{"servebench.test": t.Name()},
	}
	for k, v := range svc.Environment {
		if v != nil {
			cfg.Env = append(cfg.Env, k+"="+*v)
		}
	}
	if h := svc.HealthCheck; h != nil {
		hc := &container.HealthConfig{Test: []string(h.Test), Interval: time.Second, Timeout: 5 * time.Second, Retries: 3}
		if h.Timeout != nil {
			hc.Timeout = time.Duration(*h.Timeout)
		}
		cfg.Healthcheck = hc // a 1 s interval: the test waits for the first passing probe
	}
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(svc.NetworkMode),
		ReadonlyRootfs: svc.ReadOnly,
		SecurityOpt:    svc.SecurityOpt,
		CapAdd:         svc.CapAdd,
		Resources:      container.Resources{CpusetCpus: svc.CPUSet},
	}
	for _, tm := range svc.Tmpfs {
		if host.Tmpfs == nil {
			host.Tmpfs = map[string]string{}
		}
		host.Tmpfs[tm] = ""
	}
	for _, v := range svc.Volumes {
		src := v.Source
		switch v.Type {
		case types.VolumeTypeBind:
		case types.VolumeTypeVolume:
			// A named volume becomes a fresh directory the image's user can write.
			src = filepath.Join(t.TempDir(), v.Source)
			if err := os.Mkdir(src, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(src, 0o777); err != nil {
				t.Fatal(err)
			}
			volumeDirs[svc.Name+":"+v.Target] = src
		default:
			t.Fatalf("%s: volume type %s not supported here", svc.Name, v.Type)
		}
		b := src + ":" + v.Target
		if v.ReadOnly {
			b += ":ro"
		}
		host.Binds = append(host.Binds, b)
	}
	c, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		t.Fatalf("%s: create: %v", svc.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("%s: start: %v", svc.Name, err)
	}
	return c.ID
}

func containerLogs(ctx context.Context, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "40"})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var b strings.Builder
	_, _ = stdcopy.StdCopy(&b, &b, rc)
	return b.String()
}

// waitHealthy polls the container until Docker calls it healthy.
func waitHealthy(ctx context.Context, t *testing.T, cli *client.Client, id, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := cli.ContainerInspect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State.Health != nil && st.State.Health.Status == "healthy" {
			return
		}
		if !st.State.Running || time.Now().After(deadline) {
			t.Fatalf("%s not healthy (running=%v exit=%d, %s)\nlogs:\n%s", name, st.State.Running, st.State.ExitCode,
				lastProbe(st), containerLogs(ctx, cli, id))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func lastProbe(st container.InspectResponse) string {
	if st.State.Health == nil || len(st.State.Health.Log) == 0 {
		return "no probe yet"
	}
	l := st.State.Health.Log[len(st.State.Health.Log)-1]
	return fmt.Sprintf("last probe exit %d: %s", l.ExitCode, strings.TrimSpace(l.Output))
}

// TestE2EComposeSimProfile runs the sim profile's engine and runner as the
// compose file defines them (images, commands, users, read-only root,
// healthchecks): the simulator becomes healthy, the runner's smoke suite
// reports healthy while it runs, exits 0 and leaves its results.
// Prometheus, Alertmanager and Grafana are left out: their images cannot be
// pulled here.
func TestE2EComposeSimProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	sbImage := buildImage(t, "servebench")
	simImage := buildImage(t, "vllm-sim")
	env := map[string]string{
		"SERVEBENCH_IMAGE": sbImage,
		"SIM_IMAGE":        simImage,
		"ENGINE_PORT":      strconv.Itoa(e2e.FreePort(t)),
		"RUNNER_PORT":      strconv.Itoa(e2e.FreePort(t)),
		"SIM_MAX_SECONDS":  "8", // long enough for Docker to see the runner healthy on a loaded machine
		// A simulated 16-core engine finishes the smoke suite's requests
		// inside 8 s levels on any host (on this host's 2 cores one lasts
		// 15 s, and a level without a successful request fails the run).
		"SIM_CORES": "16",
	}
	p := loadCompose(t, "sim", env)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	sim := startService(ctx, t, cli, p.Services["vllm-sim"])
	waitHealthy(ctx, t, cli, sim, "vllm-sim", 60*time.Second)

	runner := startService(ctx, t, cli, p.Services["runner"])
	waitHealthy(ctx, t, cli, runner, "runner", 60*time.Second)
	waitC, errC := cli.ContainerWait(ctx, runner, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			t.Fatalf("runner exited %d\nlogs:\n%s", w.StatusCode, containerLogs(ctx, cli, runner))
		}
	case err := <-errC:
		t.Fatalf("waiting for the runner: %v\nlogs:\n%s", err, containerLogs(ctx, cli, runner))
	}
	results := volumeDirs["runner:/results"]
	summaries, _ := filepath.Glob(filepath.Join(results, "smoke", "*", "*", "summary.json"))
	if len(summaries) == 0 {
		var files []string
		_ = filepath.WalkDir(results, func(p string, d os.DirEntry, err error) error {
			files = append(files, p)
			return nil
		})
		t.Fatalf("no smoke/<run>/<cell>/summary.json under the results volume; found %v\nlogs:\n%s", files, containerLogs(ctx, cli, runner))
	}

	// The way docs/deploy.md reads a run in the results volume.
	out := run(t, time.Minute, root(t), "docker", "run", "--rm", "-v", results+":/results", sbImage, "results", "--results", "/results", "--last")
	if !strings.Contains(out, "smoke") {
		t.Errorf("runner results in the image does not show the smoke run:\n%s", out)
	}
}
