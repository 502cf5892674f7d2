package metered

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
)

// GuideLLM runs load levels with `guidellm run`.
type GuideLLM struct {
	runner    *guidellm.Runner
	version   string
	tokenizer string
	log       *slog.Logger
}

// NewGuideLLM detects the tool's version (and refuses versions whose CLI it
// does not speak). tokenizer is passed to GuideLLM's synthetic data ("" =
// the served model id, which needs Hugging Face access).
func NewGuideLLM(ctx context.Context, r *guidellm.Runner, tokenizer string, log *slog.Logger) (*GuideLLM, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v, err := r.Version(ctx)
	if err != nil {
		return nil, err
	}
	return &GuideLLM{runner: r, version: v, tokenizer: tokenizer, log: log}, nil
}

// Name implements orchestrate.LoadGenerator.
func (*GuideLLM) Name() string { return "guidellm" }

// Version implements orchestrate.LoadGenerator.
func (g *GuideLLM) Version() string { return g.version }

// Config is the guidellm.Config of one level, given the proxy URL and the
// directory of its report.
func (g *GuideLLM) Config(req orchestrate.LoadRequest, proxyURL, dir string) (guidellm.Config, error) {
	w, err := workloadOf(req)
	if err != nil {
		return guidellm.Config{}, err
	}
	c := guidellm.Config{
		Target: proxyURL, Model: req.Model, APIKey: req.APIKey, Tokenizer: g.tokenizer,
		PromptTokens: w.Prompt.Mean, PromptStdev: w.Prompt.Stdev, PromptMin: w.Prompt.Min, PromptMax: w.Prompt.Max,
		OutputTokens: w.Output.Mean, OutputStdev: w.Output.Stdev, OutputMin: w.Output.Min, OutputMax: w.Output.Max,
		MaxSeconds: req.Limits.MaxSeconds, MaxRequests: req.Limits.MaxRequests,
		Warmup: req.Limits.WarmupSeconds, Cooldown: req.Limits.CooldownSeconds,
		Seed:       int(req.Seed % (1 << 31)),
		OutputPath: filepath.Join(dir, "guidellm-"+safe(req.Level.Name)+".json"),
		Labels:     map[string]string{"suite": req.Labels.Suite, "cell": req.Cell.ID, "level": req.Level.Name},
	}
	switch req.Cell.API {
	case "chat":
		c.RequestFormat = guidellm.FormatChat
	case "completions":
		c.RequestFormat = guidellm.FormatCompletions
	case "embeddings":
		c.RequestFormat = guidellm.FormatEmbeddings
	default:
		return c, fmt.Errorf("guidellm: api %q: want chat, completions or embeddings", req.Cell.API)
	}
	c.Profile = req.Level.Profile
	switch req.Level.Profile {
	case "synchronous":
	case "throughput":
		if req.Target > 0 {
			c.MaxConcurrency = int(req.Target)
		}
	case "concurrent", "constant", "poisson":
		c.Rates = []float64{req.Target}
	default:
		return c, fmt.Errorf("guidellm: profile %q has no GuideLLM equivalent", req.Level.Profile)
	}
	return c, nil
}

// Run implements orchestrate.LoadGenerator.
func (g *GuideLLM) Run(ctx context.Context, req orchestrate.LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	return runLevel(ctx, req, rec, "guidellm", g.log, func(proxyURL, dir string, levelLog io.Writer, container string) (*results.Summary, error) {
		c, err := g.Config(req, proxyURL, dir)
		if err != nil {
			return nil, err
		}
		r := *g.runner
		r.Output = outputs(r.Output, levelLog)
		r.Container.Name = container
		return r.Run(ctx, c)
	})
}
