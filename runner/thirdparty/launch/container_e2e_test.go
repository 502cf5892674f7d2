package launch

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/engine"
)

// simVersion is the version the test image's binary prints.
const simVersion = "0.0.1-test"

// buildSimImage builds the simulator image: a small, offline image whose
// binary can print a version, fail on a bad flag and serve until stopped,
// which is all a load-generator container has to do.
func buildSimImage(t *testing.T) {
	e2e.SimImage{Root: "../../..", Tag: engine.SimImage,
		LDFlags: "-X github.com/servebench/servebench/internal/buildinfo.version=" + simVersion}.Build(t)
}

func TestE2ERunContainer(t *testing.T) {
	e2e.RequireDocker(t)
	buildSimImage(t)
	cli, err := engine.NewDockerClient(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := func(s string) string { return "servebench-launch-e2e-" + s + "-" + time.Now().Format("150405.000") }

	v, err := ContainerVersion(ctx, cli, Container{Name: name("version"), Image: engine.SimImage, Entrypoint: []string{"/vllm-sim"}, Cmd: []string{"--version"}, CPUs: []int{0}})
	if err != nil || v != simVersion {
		t.Errorf("version %q, %v", v, err)
	}

	var log syncBuf
	err = RunContainer(ctx, cli, Container{Name: name("bad"), Image: engine.SimImage, Cmd: []string{"--bogus"}}, Output{Log: &log, Prefix: "sim"}, nil)
	var exit *ExitError
	if !errors.As(err, &exit) || exit.ExitCode != 2 || !strings.Contains(log.String(), "sim | vllm-sim: unknown flag: --bogus") {
		t.Errorf("bad flag: %v\nlog %q", err, log.String())
	}

	// A long-running tool is stopped and removed when the context ends.
	port := e2e.FreePort(t)
	runCtx, stop := context.WithCancel(ctx)
	time.AfterFunc(1500*time.Millisecond, stop)
	n := name("serve")
	err = RunContainer(runCtx, cli, Container{Name: n, Image: engine.SimImage, Cmd: []string{"--port", itoa(port)}, Grace: time.Second}, Output{Log: &log, Prefix: "serve"}, nil)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	if !strings.Contains(log.String(), "serve | ") {
		t.Errorf("no streamed output: %q", log.String())
	}
	if _, err := cli.ContainerInspect(ctx, n); !client.IsErrNotFound(err) {
		t.Errorf("container %s not removed: %v", n, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
