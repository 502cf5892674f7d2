package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"strings"

	"github.com/docker/docker/client"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/launch"
	"github.com/servebench/servebench/runner/thirdparty/metered"
	"github.com/servebench/servebench/runner/thirdparty/vllmbench"
	"github.com/servebench/servebench/runner/topology"
)

// newSimDriver is the in-process engine simulator with its defaults.
func newSimDriver(log *slog.Logger) (engine.Driver, func(), error) {
	return engine.NewSim(simulator.DefaultConfig(), loadgen.NewClient(), log), func() {}, nil
}

// newDockerClient is a Docker Engine API client configured the way the
// docker CLI is: DOCKER_HOST (unix://, tcp://, ssh://), DOCKER_CERT_PATH and
// DOCKER_API_VERSION, read through getenv.
func newDockerClient(getenv func(string) string) (*client.Client, error) {
	opts, err := engine.DockerClientOptions(getenv)
	if err != nil {
		return nil, err
	}
	return engine.NewDockerClient(opts...)
}

// loadgenOptions say how a third-party load generator runs.
type loadgenOptions struct {
	binary    string // host binary; "" = on PATH, else its container image
	image     string // container image; "" = the tool's default
	tokenizer string // tokenizer for the tool's synthetic data; "" = the served model id
	cpus      []int  // container cpuset (the explicit --loadgen-cpus)
	runID     string
	// enginePort is --engine-port, for the dry run's container specs.
	enginePort int
}

// thirdPartyTool is the command name of a third-party load generator
// (guidellm, vllm-bench) and its host binary: --loadgen-binary, else the
// command on PATH, else "" (its container image runs).
func (o loadgenOptions) thirdPartyTool(loadgen string) (tool, bin string) {
	tool = map[string]string{"guidellm": "guidellm", "vllm-bench": "vllm"}[loadgen]
	if o.binary != "" {
		return tool, o.binary
	}
	if p, err := exec.LookPath(tool); err == nil {
		return tool, p
	}
	return tool, ""
}

// newLoadGenerator returns the configured load generator. A third-party
// tool runs from its host binary when one is on PATH (or given), else in
// its container image through Docker.
func newLoadGenerator(ctx context.Context, cfg suite.Config, o loadgenOptions, log *slog.Logger, console io.Writer, getenv func(string) string) (orchestrate.LoadGenerator, func(), error) {
	none := func() {}
	switch cfg.Loadgen {
	case "native":
		return orchestrate.NewNative(log), none, nil
	case "guidellm", "vllm-bench":
	default:
		return nil, none, usagef("loadgen: unknown load generator %q", cfg.Loadgen)
	}
	tool, bin := o.thirdPartyTool(cfg.Loadgen)
	out := launch.Output{Console: console, Prefix: cfg.Loadgen}
	var docker engine.DockerAPI
	cleanup := none
	if bin == "" {
		c, err := newDockerClient(getenv)
		if err != nil {
			return nil, none, fmt.Errorf("loadgen %s: no %s on PATH and no Docker: %w", cfg.Loadgen, tool, err)
		}
		docker, cleanup = c, func() { c.Close() }
	}
	labels := map[string]string{"io.servebench.role": "loadgen", "io.servebench.run_id": o.runID}
	name := "servebench-" + cfg.Loadgen + "-" + strings.ToLower(o.runID)
	var (
		lg  orchestrate.LoadGenerator
		err error
	)
	if cfg.Loadgen == "guidellm" {
		r := &guidellm.Runner{Docker: docker, Binary: bin, Output: out, Log: log,
			Container: guidellm.ContainerOptions{Name: name, Image: o.image, CPUs: o.cpus, Labels: labels}}
		lg, err = metered.NewGuideLLM(ctx, r, o.tokenizer, log)
	} else {
		image := o.image
		if image == "" {
			image = cfg.Image // the engine's vLLM image carries vllm bench
		}
		if image == "" && docker != nil {
			image, _ = engine.DefaultImage(runtime.GOARCH)
		}
		r := &vllmbench.Runner{Docker: docker, Binary: bin, Output: out, Log: log,
			Container: vllmbench.ContainerOptions{Name: name, Image: image, CPUs: o.cpus, Labels: labels}}
		lg, err = metered.NewVLLMBench(ctx, r, o.tokenizer, log)
	}
	if err != nil {
		cleanup()
		return nil, none, fmt.Errorf("loadgen %s: %w", cfg.Loadgen, err)
	}
	return lg, cleanup, nil
}

// describeLoad says, for --dry-run, what runs the load.
func describeLoad(name, api string, o loadgenOptions) string {
	switch name {
	case "native":
		return fmt.Sprintf("native load generator in-process (%s API, streaming, latency from the scheduled send)", api)
	case "guidellm", "vllm-bench":
		where := "its container image"
		if _, bin := o.thirdPartyTool(name); bin != "" {
			where = bin
		}
		pin := ""
		if len(o.cpus) > 0 {
			pin = ", pinned to cpus " + topology.FormatList(o.cpus)
		}
		return fmt.Sprintf("%s from %s through the metering proxy (%s API)%s", name, where, api, pin)
	}
	return name
}
