package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/e2e"
)

// buildSimImage builds SimImage as make sim-image does.
func buildSimImage(t *testing.T) { e2e.SimImage{Root: "../..", Tag: SimImage}.Build(t) }

// TestE2EDockerSimContainer runs the simulator image through the docker
// driver against the real dockerd: pinned to CPU 0, ready through the full
// probe, logs on disk, removed on Stop; a second container killed mid-run is
// reported with its exit code and its last log lines.
func TestE2EDockerSimContainer(t *testing.T) {
	e2e.RequireDocker(t)
	buildSimImage(t)
	cli, err := NewDockerClient(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	d, err := NewDocker(DockerConfig{Client: cli, Log: quiet(), StopTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logDir := t.TempDir()
	spec := Spec{
		Name: "e2e-pinned", Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", Image: SimImage, CPUs: []int{0},
		Port: e2e.FreePort(t), LogDir: logDir, ReadyTimeout: time.Minute, ShmSize: 64 << 20,
		ExtraArgs: []string{"--load-time", "300ms", "--slowdown", "0.05"},
		Labels:    map[string]string{contract.ContainerRunIDLabel: "e2e-run"},
	}
	inst, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	id := inst.Info().ContainerID
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), id, containerRemoveForce) })
	if err := inst.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	js, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if js.HostConfig.CpusetCpus != "0" || string(js.HostConfig.NetworkMode) != "host" || js.Config.Labels[contract.ContainerRoleLabel] != "engine" ||
		js.Config.Labels[contract.ContainerRunIDLabel] != "e2e-run" || !js.State.Running {
		t.Errorf("container: cpuset %q network %q labels %v running %v", js.HostConfig.CpusetCpus, js.HostConfig.NetworkMode, js.Config.Labels, js.State.Running)
	}
	// The simulator derives its cores from its affinity mask: the cpuset took.
	metrics := httpGet(t, inst.URL()+"/metrics")
	if !regexp.MustCompile(`(?m)^vllm_sim_cores(\{[^}]*\})? 1$`).MatchString(metrics) {
		t.Errorf("/metrics does not report 1 core:\n%s", grepLines(metrics, "vllm_sim_cores"))
	}
	info := inst.Info()
	if info.EngineVersion == "" || info.ImageID == "" || info.Model != spec.Model {
		t.Errorf("info %+v", info)
	}
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, id); !client.IsErrNotFound(err) {
		t.Errorf("container %s still exists after Stop: %v", id, err)
	}
	log, err := os.ReadFile(info.LogPath)
	if err != nil || !strings.Contains(string(log), "listening") {
		t.Errorf("engine log %s: %v\n%s", info.LogPath, err, log)
	}

	// A container killed mid-run.
	spec.Name, spec.Port = "e2e-killed", e2e.FreePort(t)
	inst2, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	id2 := inst2.Info().ContainerID
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), id2, containerRemoveForce) })
	if err := inst2.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerKill(ctx, id2, "KILL"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-inst2.Died():
		var exit *ExitError
		if !errors.As(err, &exit) || exit.ExitCode != 137 || exit.OOMKilled || len(exit.LastLines) == 0 {
			t.Errorf("died with %v", err)
		}
		t.Logf("reported: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("kill not reported on Died")
	}
	if err := inst2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, id2); !client.IsErrNotFound(err) {
		t.Errorf("killed container %s not removed: %v", id2, err)
	}
}

var containerRemoveForce = container.RemoveOptions{Force: true}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
