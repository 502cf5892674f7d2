package vllmbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// Runner runs `vllm bench serve`, on the host or in the vLLM image, and
// reads the result file.
type Runner struct {
	// Docker, when set, runs the benchmark in Container.Image; otherwise
	// Binary ("" = vllm on PATH) runs on the host.
	Docker    engine.DockerAPI
	Container ContainerOptions
	Binary    string
	Output    launch.Output
	// Grace is how long an interrupted run may take to exit before it is
	// killed (launch's default when zero).
	Grace time.Duration
	Log   *slog.Logger
}

// Version detects the vLLM version (vllm --version).
func (r *Runner) Version(ctx context.Context) (string, error) {
	var v string
	var err error
	if r.Docker != nil {
		v, err = launch.ContainerVersion(ctx, r.Docker, launch.Container{
			Name: r.Container.Name + "-version", Image: r.Container.Image, Entrypoint: []string{"vllm"}, Cmd: []string{"--version"}})
	} else {
		bin := r.Binary
		if bin == "" {
			bin = "vllm"
		}
		v, err = launch.HostVersion(ctx, bin, "--version")
	}
	if err != nil {
		return "", fmt.Errorf("vllm version: %w", err)
	}
	return v, nil
}

// Run runs one benchmark to completion, streaming its output, then parses
// ResultDir/ResultFile.
func (r *Runner) Run(ctx context.Context, c Config) (*results.Summary, error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := filepath.Join(c.ResultDir, c.ResultFile)
	if err := os.MkdirAll(c.ResultDir, 0o755); err != nil {
		return nil, fmt.Errorf("vllm bench: result dir: %w", err)
	}
	var err error
	if r.Docker != nil {
		var ct launch.Container
		if ct, err = Container(r.Container, c); err != nil {
			return nil, err
		}
		ct.Grace = r.Grace
		log.Info("running vllm bench serve", "container", ct.String())
		err = launch.RunContainer(ctx, r.Docker, ct, r.Output, log)
	} else {
		var h launch.Host
		if h, err = Host(r.Binary, c); err != nil {
			return nil, err
		}
		h.Grace = r.Grace
		log.Info("running vllm bench serve", "command", h.String())
		err = launch.RunHost(ctx, h, r.Output)
	}
	if err != nil {
		return nil, fmt.Errorf("vllm bench: %w", err)
	}
	f, err := os.Open(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("vllm bench exited 0 but wrote no result at %s", out)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		return nil, err
	}
	s.Source = out
	return s, nil
}
