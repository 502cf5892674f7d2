package metered

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/vllmbench"
)

// VLLMBench runs load levels with `vllm bench serve`.
type VLLMBench struct {
	runner    *vllmbench.Runner
	version   string
	tokenizer string
	log       *slog.Logger
	cells     cellState
}

// NewVLLMBench detects the vLLM version. tokenizer is passed as --tokenizer
// ("" = the model's root from /v1/models).
func NewVLLMBench(ctx context.Context, r *vllmbench.Runner, tokenizer string, log *slog.Logger) (*VLLMBench, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v, err := r.Version(ctx)
	if err != nil {
		return nil, err
	}
	return &VLLMBench{runner: r, version: v, tokenizer: tokenizer, log: log}, nil
}

// Name implements orchestrate.LoadGenerator.
func (*VLLMBench) Name() string { return "vllm-bench" }

// Version implements orchestrate.LoadGenerator.
func (v *VLLMBench) Version() string { return v.version }

// Config is the vllmbench.Config of one level. vllm bench serve has no
// duration limit: it sends a fixed number of requests, estimated to fill
// the level's sending span (cellState.requests) — and the level's budget
// stops it whatever it has left. It gets no API key (the proxy adds it)
// and no initial test request. A variable-length workload becomes a
// uniform range of the same spread.
func (v *VLLMBench) Config(req orchestrate.LoadRequest, proxyURL, dir string) (vllmbench.Config, error) {
	w, err := workloadOf(req)
	if err != nil {
		return vllmbench.Config{}, err
	}
	c := vllmbench.Config{
		BaseURL: proxyURL, Model: req.Model, Tokenizer: v.tokenizer,
		API: vllmbench.API(req.Cell.API), InputLen: w.Prompt.Mean, OutputLen: w.Output.Mean,
		NumPrompts: v.cells.requests(req), Seed: int(req.Seed % (1 << 31)), IgnoreEOS: true, SkipReadyCheck: true,
		ResultDir: dir, ResultFile: "vllm-bench-" + safe(req.Level.Name) + ".json",
		Metadata: map[string]string{"suite": req.Labels.Suite, "cell": req.Cell.ID, "level": req.Level.Name},
	}
	if w.Prompt.Stdev > 0 && w.Prompt.Mean > 0 {
		// A uniform on [L(1-r), L(1+r)] has the stdev L·r/√3.
		c.RangeRatio = math.Min(1, math.Round(float64(w.Prompt.Stdev)*math.Sqrt(3)/float64(w.Prompt.Mean)*100)/100)
	}
	switch req.Level.Profile {
	case "synchronous":
		c.MaxConcurrency = 1
	case "concurrent":
		c.MaxConcurrency = int(req.Target)
	case "throughput":
		c.MaxConcurrency = int(req.Target) // 0 = unbounded
	case "constant":
		c.RequestRate, c.Burstiness = req.Target, math.Inf(1)
	case "poisson":
		c.RequestRate = req.Target
	default:
		return c, fmt.Errorf("vllm bench: profile %q has no vllm bench serve equivalent", req.Level.Profile)
	}
	return c, nil
}

// Run implements orchestrate.LoadGenerator.
func (v *VLLMBench) Run(ctx context.Context, req orchestrate.LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	return runLevel(ctx, req, rec, "vllm-bench", v.log, &v.cells, func(ctx context.Context, proxyURL, dir string, levelLog io.Writer, container string) (toolRun, error) {
		c, err := v.Config(req, proxyURL, dir)
		if err != nil {
			return toolRun{}, err
		}
		r := *v.runner
		r.Output = outputs(r.Output, levelLog)
		r.Container.Name = container
		r.Grace = stopGrace
		s, err := r.Run(ctx, c)
		if err != nil {
			return toolRun{}, err
		}
		tr := toolRun{summary: s}
		if rs, err := readResults(s.Source); err == nil && len(rs) == 1 {
			claim := rs[0].Claim()
			tr.claim = &claim
			if d := rs[0].Duration; d != nil && closedLoop(req.Level.Profile) && req.Budget.Bounded() && *d < 0.9*req.Budget.Send().Seconds() {
				tr.note = fmt.Sprintf("vllm-bench sent its %d prompts (an estimate for a closed loop) in %.3gs of the level's %v sending span: its figures cover that time",
					c.NumPrompts, *d, req.Budget.Send())
			}
		}
		return tr, nil
	})
}

// readResults reads a vllm bench serve result file.
func readResults(path string) ([]vllmbench.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return vllmbench.ReadResults(f)
}
