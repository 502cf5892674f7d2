package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/servebench/servebench/runner/engine"
)

type fakeDocker struct {
	engine.DockerAPI // methods doctor does not call
	down             bool
	have             map[string]bool
}

func (f fakeDocker) ServerVersion(context.Context) (types.Version, error) {
	if f.down {
		return types.Version{}, errors.New("connection refused")
	}
	return types.Version{Version: "28.5.2", APIVersion: "1.51", Os: "linux", Arch: "amd64"}, nil
}

func (f fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if f.have[ref] {
		return image.InspectResponse{}, nil
	}
	return image.InspectResponse{}, errors.New("no such image")
}

func TestDoctor(t *testing.T) {
	deps := Deps{
		TopologyRoot: "../topology/testdata/two-node",
		Docker:       func() (engine.DockerAPI, error) { return fakeDocker{have: map[string]bool{engine.SimImage: true}}, nil },
		LookPath: func(n string) (string, error) {
			if n == "guidellm" {
				return "/usr/bin/guidellm", nil
			}
			return "", errors.New("not found")
		},
		Listen: func(addr string) error {
			if strings.HasSuffix(addr, ":8000") {
				return errors.New("address already in use")
			}
			return nil
		},
		Getenv: func(string) string { return "" },
	}
	var lines []string
	for _, c := range Run(context.Background(), deps) {
		lines = append(lines, c.Status+" "+c.What+": "+c.Detail)
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"ok cpu topology: Intel(R) Xeon(R) Platinum 8480+: 64 CPUs, 32 physical cores, 2 NUMA node(s)",
		"ok numa node 1: physical cores 16-31, SMT siblings 48-63, 128.0 GiB memory",
		"ok free cores: largest engine with a disjoint load generator: 30 cores (30cores-numa0-1-tp2, cpus 0-14,16-30)",
		"ok docker: engine 28.5.2 (API 1.51) on linux/amd64",
		"warn image: docker.io/vllm/vllm-openai-cpu:v0.25.1-x86_64 not present (pulled on first use)",
		"ok image: servebench/vllm-sim:dev present",
		"warn port 127.0.0.1:8000: in use (docker engine port): address already in use",
		"ok port 127.0.0.1:9464: free",
		"ok tool guidellm: /usr/bin/guidellm",
		"warn tool vllm: not on PATH: --loadgen vllm-bench runs its container image instead",
		"warn HF_TOKEN: not set",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("doctor lacks %q:\n%s", want, got)
		}
	}
	deps.Docker = func() (engine.DockerAPI, error) { return fakeDocker{down: true}, nil }
	deps.TopologyRoot = "../topology/testdata/one-node"
	checks := Run(context.Background(), deps)
	var fails []string
	for _, c := range checks {
		if c.Status == "fail" {
			fails = append(fails, c.What+": "+c.Detail)
		}
	}
	if len(fails) != 1 || !strings.Contains(fails[0], "docker: engine not reachable") {
		t.Errorf("fails = %v", fails)
	}
}
