package metered

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/command"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/launch"
	"github.com/servebench/servebench/runner/thirdparty/vllmbench"
	"github.com/servebench/servebench/runner/topology"
)

// Launch says how a third-party load generator runs.
type Launch struct {
	Binary    string // host binary; "" = on PATH, else its container image
	Image     string // container image; "" = the tool's default
	Tokenizer string // tokenizer for the tool's synthetic data; "" = the served model id
	CPUs      []int  // container cpuset (the explicit --loadgen-cpus)
	RunID     string
}

// Tool is the command name of a third-party load generator
// (guidellm, vllm-bench) and its host binary: --loadgen-binary, else the
// command on PATH, else "" (its container image runs).
func (o Launch) Tool(loadgen string) (tool, bin string) {
	tool = map[string]string{"guidellm": "guidellm", "vllm-bench": "vllm"}[loadgen]
	if o.Binary != "" {
		return tool, o.Binary
	}
	if p, err := exec.LookPath(tool); err == nil {
		return tool, p
	}
	return tool, ""
}

// CommandSpec is the tool a command load generator runs, from the suite's
// command block or --command; an error wrapping command.ErrSpec when none is
// given or it is not a recipe or a valid template.
func CommandSpec(cfg suite.Config) (command.Spec, error) {
	if cfg.Command == nil {
		return command.Spec{}, fmt.Errorf("loadgen command: %w: no command given", command.ErrSpec)
	}
	return command.FromSuite(*cfg.Command)
}

// NewLoadGenerator returns the load generator cfg names (native, guidellm,
// vllm-bench, command) and what closes it; a command that is not a valid
// spec is an error wrapping command.ErrSpec; console takes a tool's output lines. A third-party
// tool runs from its host binary when one is on PATH (or given), else in
// its container image through Docker.
func NewLoadGenerator(ctx context.Context, cfg suite.Config, o Launch, log *slog.Logger, console io.Writer, getenv func(string) string) (orchestrate.LoadGenerator, func(), error) {
	none := func() {}
	switch cfg.Loadgen {
	case "native":
		return orchestrate.NewNative(log), none, nil
	case suite.LoadgenCommand:
		spec, err := CommandSpec(cfg)
		if err != nil {
			return nil, none, err
		}
		lg, err := NewCommand(ctx, spec, launch.Output{Console: console}, log)
		return lg, none, err
	case "guidellm", "vllm-bench":
	default:
		return nil, none, fmt.Errorf("loadgen: unknown load generator %q", cfg.Loadgen)
	}
	tool, bin := o.Tool(cfg.Loadgen)
	out := launch.Output{Console: console, Prefix: cfg.Loadgen}
	var docker engine.DockerAPI
	cleanup := none
	if bin == "" {
		c, err := engine.NewDockerClientFromEnv(getenv)
		if err != nil {
			return nil, none, fmt.Errorf("loadgen %s: no %s on PATH and no Docker: %w", cfg.Loadgen, tool, err)
		}
		docker, cleanup = c, func() { c.Close() }
	}
	labels := map[string]string{"io.servebench.role": "loadgen", "io.servebench.run_id": o.RunID}
	name := "servebench-" + cfg.Loadgen + "-" + strings.ToLower(o.RunID)
	var (
		lg  orchestrate.LoadGenerator
		err error
	)
	if cfg.Loadgen == "guidellm" {
		r := &guidellm.Runner{Docker: docker, Binary: bin, Output: out, Log: log,
			Container: guidellm.ContainerOptions{Name: name, Image: o.Image, CPUs: o.CPUs, Labels: labels}}
		lg, err = NewGuideLLM(ctx, r, o.Tokenizer, log)
	} else {
		image := o.Image
		if image == "" {
			image = cfg.Image // the engine's vLLM image carries vllm bench
		}
		if image == "" && docker != nil {
			image, _ = engine.DefaultImage(runtime.GOARCH)
		}
		r := &vllmbench.Runner{Docker: docker, Binary: bin, Output: out, Log: log,
			Container: vllmbench.ContainerOptions{Name: name, Image: image, CPUs: o.CPUs, Labels: labels}}
		lg, err = NewVLLMBench(ctx, r, o.Tokenizer, log)
	}
	if err != nil {
		cleanup()
		return nil, none, fmt.Errorf("loadgen %s: %w", cfg.Loadgen, err)
	}
	return lg, cleanup, nil
}

// Describe says, for a dry run, what runs the load.
func Describe(name, api string, o Launch) string {
	switch name {
	case "native":
		return fmt.Sprintf("native load generator in-process (%s API, streaming, latency from the scheduled send)", api)
	case "guidellm", "vllm-bench":
		where := "its container image"
		if _, bin := o.Tool(name); bin != "" {
			where = bin
		}
		pin := ""
		if len(o.CPUs) > 0 {
			pin = ", pinned to cpus " + topology.FormatList(o.CPUs)
		}
		return fmt.Sprintf("%s from %s through the metering proxy (%s API)%s", name, where, api, pin)
	case suite.LoadgenCommand:
		return fmt.Sprintf("a command through the metering proxy (%s API), measured by the proxy", api)
	}
	return name
}

// Commands renders, for a dry run, the exact command a
// third-party load generator runs at each level of a cell. The metering
// proxy's port is chosen at run time; a fraction level's rate is known only
// once the cell's maximum has been measured.
func Commands(cfg suite.Config, c suite.Cell, model string, lo Launch) []string {
	_, bin := lo.Tool(cfg.Loadgen)
	const proxy = "http://127.0.0.1:PROXY_PORT"
	root, err := filepath.Abs(cfg.Results)
	if err != nil {
		root = "/results"
	}
	dir := filepath.Join(root, cfg.Suite.Name, "RUN_ID", c.ID)
	var out []string
	for _, l := range c.Levels {
		target := l.Value
		note := ""
		if l.Fraction > 0 {
			target = 1
			note = fmt.Sprintf("  (rate shown as 1: the run uses %g%% of the maximum found)", l.Fraction*100)
		}
		req := orchestrate.LoadRequest{Cell: c, Level: l, Target: target, URLs: []string{"engine"}, Model: model,
			Limits: cfg.Limits, Labels: measure.BenchmarkLabels{Suite: cfg.Suite.Name, Level: l.Name}}
		req.Budget, _ = orchestrate.LevelBudget(cfg.Limits) // a bad limit was refused when the plan was made
		var line string
		var err error
		switch cfg.Loadgen {
		case suite.LoadgenCommand:
			var spec command.Spec
			if spec, err = CommandSpec(cfg); err == nil {
				line, err = CommandLine(spec, req, proxy, dir)
			}
		case "guidellm":
			var gc guidellm.Config
			if gc, err = GuideLLMConfig(req, proxy, dir, lo.Tokenizer, bin == ""); err == nil {
				line, err = render(func() (fmt.Stringer, error) {
					if bin != "" {
						return guidellm.Host(bin, gc)
					}
					return guidellm.Container(guidellm.ContainerOptions{Name: "servebench-guidellm", Image: lo.Image, CPUs: lo.CPUs}, gc)
				})
			}
		case "vllm-bench":
			var vc vllmbench.Config
			if vc, err = (&VLLMBench{}).Config(req, proxy, dir); err == nil {
				if lo.Tokenizer != "" {
					vc.Tokenizer = lo.Tokenizer
				}
				image := lo.Image
				if image == "" {
					image = cfg.Image
				}
				line, err = render(func() (fmt.Stringer, error) {
					if bin != "" {
						return vllmbench.Host(bin, vc)
					}
					return vllmbench.Container(vllmbench.ContainerOptions{Name: "servebench-vllm-bench", Image: cmp.Or(image, "<the vLLM image>"), CPUs: lo.CPUs}, vc)
				})
			}
		}
		if err != nil {
			line = "cannot build the command: " + err.Error()
		}
		out = append(out, fmt.Sprintf("%s: %s%s", l.Name, line, note))
	}
	return out
}

func render[T fmt.Stringer](build func() (T, error)) (string, error) {
	v, err := build()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(v.String()), nil
}
