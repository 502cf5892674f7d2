package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/metered"
	"github.com/servebench/servebench/runner/thirdparty/vllmbench"
)

// thirdPartyCommands renders, for --dry-run, the exact command a
// third-party load generator runs at each level of a cell. The metering
// proxy's port is chosen at run time; a fraction level's rate is known only
// once the cell's maximum has been measured.
func thirdPartyCommands(cfg suite.Config, c suite.Cell, model string, lo loadgenOptions) []string {
	_, bin := lo.thirdPartyTool(cfg.Loadgen)
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
		var line string
		var err error
		switch cfg.Loadgen {
		case "guidellm":
			var gc guidellm.Config
			if gc, err = metered.GuideLLMConfig(req, proxy, dir, lo.tokenizer, bin == ""); err == nil {
				line, err = render(func() (fmt.Stringer, error) {
					if bin != "" {
						return guidellm.Host(bin, gc)
					}
					return guidellm.Container(guidellm.ContainerOptions{Name: "servebench-guidellm", Image: lo.image, CPUs: lo.cpus}, gc)
				})
			}
		case "vllm-bench":
			var vc vllmbench.Config
			if vc, err = (&metered.VLLMBench{}).Config(req, proxy, dir); err == nil {
				if lo.tokenizer != "" {
					vc.Tokenizer = lo.tokenizer
				}
				image := lo.image
				if image == "" {
					image = cfg.Image
				}
				line, err = render(func() (fmt.Stringer, error) {
					if bin != "" {
						return vllmbench.Host(bin, vc)
					}
					return vllmbench.Container(vllmbench.ContainerOptions{Name: "servebench-vllm-bench", Image: orDefault(image, "<the vLLM image>"), CPUs: lo.cpus}, vc)
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
