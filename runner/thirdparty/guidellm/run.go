package guidellm

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

// Runner runs GuideLLM benchmarks, on the host or in a container, and reads
// their reports. A Runner may be reused; runs must not overlap when they
// share a container name.
type Runner struct {
	// Docker, when set, runs GuideLLM in a container (Container options);
	// otherwise Binary ("" = guidellm on PATH) runs on the host.
	Docker    engine.DockerAPI
	Container ContainerOptions
	Binary    string
	Output    launch.Output // live output: console and run log
	// Grace is how long an interrupted run may take to exit before it is
	// killed (launch's default when zero).
	Grace time.Duration
	Log   *slog.Logger
}

// Version detects the GuideLLM version (guidellm --version) and checks that
// Args speaks its CLI.
func (r *Runner) Version(ctx context.Context) (string, error) {
	var v string
	var err error
	if r.Docker != nil {
		img := r.Container.Image
		if img == "" {
			img = DefaultImage
		}
		v, err = launch.ContainerVersion(ctx, r.Docker, launch.Container{
			Name: r.Container.Name + "-version", Image: img, Entrypoint: []string{"guidellm"}, Cmd: []string{"--version"}})
	} else {
		bin := r.Binary
		if bin == "" {
			bin = "guidellm"
		}
		v, err = launch.HostVersion(ctx, bin, "--version")
	}
	if err != nil {
		return "", fmt.Errorf("guidellm version: %w", err)
	}
	return v, CheckVersion(v)
}

// Run runs one `guidellm run` to completion, streaming its output, then
// parses the report it wrote to c.OutputPath. GuideLLM writes its report
// only at the end, so an interrupted run has none: the error says so.
func (r *Runner) Run(ctx context.Context, c Config) (*results.Summary, error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.APIKey != "" && c.ScenarioFile == "" {
		dir, err := writeScenario(c, r.Docker != nil)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		c.ScenarioFile = filepath.Join(dir, "scenario.json")
	}
	var err error
	if r.Docker != nil {
		var ct launch.Container
		if ct, err = Container(r.Container, c); err != nil {
			return nil, err
		}
		ct.Grace = r.Grace
		log.Info("running guidellm", "container", ct.String())
		err = launch.RunContainer(ctx, r.Docker, ct, r.Output, log)
	} else {
		var h launch.Host
		if h, err = Host(r.Binary, c); err != nil {
			return nil, err
		}
		h.Grace = r.Grace
		log.Info("running guidellm", "command", h.String())
		err = launch.RunHost(ctx, h, r.Output)
	}
	if err != nil {
		return nil, fmt.Errorf("guidellm: %w", err)
	}
	f, err := os.Open(c.OutputPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("guidellm exited 0 but wrote no report at %s", c.OutputPath)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		return nil, err
	}
	s.Source = c.OutputPath
	if c.RequestFormat == FormatTranscriptions {
		if err := addAudio(s, c.OutputPath); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// writeScenario writes the scenario file carrying the API key into a new
// private directory, which the caller removes after the run. A container's
// user is not the runner's: there the directory can be entered but not
// listed, and the file read.
func writeScenario(c Config, container bool) (string, error) {
	dir, err := os.MkdirTemp("", "servebench-guidellm-")
	if err != nil {
		return "", fmt.Errorf("guidellm: scenario file: %w", err)
	}
	mode := os.FileMode(0o600)
	if container {
		mode = 0o644
		if err := os.Chmod(dir, 0o711); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("guidellm: scenario file: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.json"), Scenario(c), mode); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("guidellm: scenario file: %w", err)
	}
	return dir, nil
}

// addAudio gives each benchmark of a transcription run its audio figures,
// from the report's request records (the audio seconds GuideLLM decoded).
func addAudio(s *results.Summary, report string) error {
	f, err := os.Open(report)
	if err != nil {
		return err
	}
	defer f.Close()
	per, err := Requests(f)
	if err != nil {
		return err
	}
	for i := range s.Benchmarks {
		if i < len(per) {
			s.Benchmarks[i].Audio = results.AudioOf(per[i], s.Benchmarks[i].DurationSeconds)
		}
	}
	return nil
}
