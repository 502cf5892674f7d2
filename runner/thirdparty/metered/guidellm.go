package metered

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/engine"
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
	cells     cellState
}

// NewGuideLLM detects the tool's version (and refuses versions whose CLI it
// does not speak). tokenizer, a Hugging Face id or a local directory, makes
// GuideLLM synthesise its prompts with it; without one GuideLLM reads the
// cell's prompts, calibrated through the engine's /tokenize as the native
// load generator's, from a data file with their token counts, and needs no
// tokenizer (nor Hugging Face) at all.
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

// GuideLLMConfig is the guidellm.Config of one level as a GuideLLM load
// generator with that tokenizer ("" = the cell's prompts from a data
// file) would run it, on the host or in its container: for dry runs.
func GuideLLMConfig(req orchestrate.LoadRequest, proxyURL, dir, tokenizer string, inContainer bool) (guidellm.Config, error) {
	g := &GuideLLM{runner: &guidellm.Runner{}, tokenizer: tokenizer}
	if inContainer {
		g.runner.Docker = containerMarker{}
	}
	return g.Config(req, proxyURL, dir)
}

// containerMarker marks a Runner as running GuideLLM in a container, for
// GuideLLMConfig; Config never calls it.
type containerMarker struct{ engine.DockerAPI }

// Config is the guidellm.Config of one level, given the proxy URL and the
// directory of its report.
func (g *GuideLLM) Config(req orchestrate.LoadRequest, proxyURL, dir string) (guidellm.Config, error) {
	if req.Cell.API == "transcriptions" {
		return g.audioConfig(req, proxyURL, dir)
	}
	w, err := workloadOf(req)
	if err != nil {
		return guidellm.Config{}, err
	}
	c := g.base(req, proxyURL, dir)
	c.IgnoreEOS = true
	if g.tokenizer == "" {
		c.Data = "kind=json_file,path=" + path.Join(filepath.ToSlash(g.root(dir)), promptsFile(req))
	} else {
		c.Tokenizer = g.tokenizer
		c.PromptTokens, c.PromptStdev, c.PromptMin, c.PromptMax = w.Prompt.Mean, w.Prompt.Stdev, w.Prompt.Min, w.Prompt.Max
		c.OutputTokens, c.OutputStdev, c.OutputMin, c.OutputMax = w.Output.Mean, w.Output.Stdev, w.Output.Min, w.Output.Max
	}
	switch req.Cell.API {
	case "chat":
		c.RequestFormat = guidellm.FormatChat
	case "completions":
		c.RequestFormat = guidellm.FormatCompletions
	case "embeddings":
		c.RequestFormat = guidellm.FormatEmbeddings
	default:
		return c, fmt.Errorf("guidellm: api %q: want chat, completions, embeddings or transcriptions", req.Cell.API)
	}
	return c, profileOf(&c, req)
}

// promptsFile names a level's data file of the cell's prompts.
func promptsFile(req orchestrate.LoadRequest) string {
	return "guidellm-prompts-" + safe(req.Level.Name) + ".jsonl"
}

// root is the cell directory as GuideLLM sees it: under /results in its
// container, by its absolute path on the host.
func (g *GuideLLM) root(dir string) string {
	if g.runner != nil && g.runner.Docker != nil {
		return "/results"
	}
	return dir
}

// base is what every level's configuration has: target, limits, report.
// The API key is not among them: the proxy adds it to every request.
func (g *GuideLLM) base(req orchestrate.LoadRequest, proxyURL, dir string) guidellm.Config {
	return guidellm.Config{
		Target: proxyURL, Model: req.Model,
		MaxSeconds: req.Limits.MaxSeconds, MaxRequests: req.Limits.MaxRequests, StopOverSaturated: req.Limits.StopOverSaturated,
		Warmup: req.Limits.WarmupSeconds, Cooldown: req.Limits.CooldownSeconds,
		Seed:       int(req.Seed % (1 << 31)),
		OutputPath: filepath.Join(dir, "guidellm-"+safe(req.Level.Name)+".json"),
		Labels:     map[string]string{"suite": req.Labels.Suite, "cell": req.Cell.ID, "level": req.Level.Name},
	}
}

// audioConfig is a transcription level: GuideLLM's audio backend reads
// the recordings of the cell's audio workload, written once into the cell
// directory (<dir>/audio/) with a data file naming them in its "audio"
// column — as GuideLLM sees them: under /results in its container, by
// their absolute path on the host.
func (g *GuideLLM) audioConfig(req orchestrate.LoadRequest, proxyURL, dir string) (guidellm.Config, error) {
	c := g.base(req, proxyURL, dir)
	c.RequestFormat = guidellm.FormatTranscriptions
	w, err := audio.LookupWorkload(req.Cell.Workload)
	if err != nil {
		return c, err
	}
	clips, err := w.Clips()
	if err != nil {
		return c, err
	}
	data, err := writeAudioData(dir, g.root(dir), clips)
	if err != nil {
		return c, err
	}
	c.Data = "kind=json_file,path=" + data
	return c, profileOf(&c, req)
}

// writeAudioData writes the recordings into <dir>/audio and
// <dir>/guidellm-audio.jsonl, one {"audio": path} row each, paths under
// root; it returns the data file's path under root.
func writeAudioData(dir, root string, clips []audio.Clip) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "audio"), 0o755); err != nil {
		return "", err
	}
	var rows bytes.Buffer
	for _, c := range clips {
		if err := os.WriteFile(filepath.Join(dir, "audio", c.Name), c.Data, 0o644); err != nil {
			return "", err
		}
		line, _ := json.Marshal(map[string]string{"audio": path.Join(filepath.ToSlash(root), "audio", c.Name)})
		rows.Write(append(line, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "guidellm-audio.jsonl"), rows.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path.Join(filepath.ToSlash(root), "guidellm-audio.jsonl"), nil
}

// profileOf sets the level's profile and rates.
func profileOf(c *guidellm.Config, req orchestrate.LoadRequest) error {
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
		return fmt.Errorf("guidellm: profile %q has no GuideLLM equivalent", req.Level.Profile)
	}
	return nil
}

// Run implements orchestrate.LoadGenerator.
func (g *GuideLLM) Run(ctx context.Context, req orchestrate.LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	return runLevel(ctx, req, rec, "guidellm", g.log, &g.cells, func(ctx context.Context, proxyURL, dir string, levelLog io.Writer, container string) (toolRun, error) {
		c, err := g.Config(req, proxyURL, dir)
		if err != nil {
			return toolRun{}, err
		}
		if g.tokenizer == "" && req.Cell.API != "transcriptions" {
			set, _, err := g.cells.prompts(ctx, req)
			if err != nil {
				return toolRun{}, fmt.Errorf("prompts for guidellm: %w", err)
			}
			// GuideLLM ends a benchmark when its data runs out: give it
			// twice what the level is estimated to send.
			data := filepath.Join(dir, promptsFile(req))
			if err := writeGuideLLMData(data, set, max(len(set.Items), 2*g.cells.requests(req))); err != nil {
				return toolRun{}, err
			}
			defer os.Remove(data)
		}
		r := *g.runner
		r.Output = outputs(r.Output, levelLog)
		r.Container.Name = container
		r.Grace = stopGrace
		s, err := r.Run(ctx, c)
		if err != nil {
			return toolRun{}, err
		}
		tr := toolRun{summary: s}
		if f, err := os.Open(s.Source); err == nil {
			claims, err := guidellm.Claims(f)
			f.Close()
			if err == nil && len(claims) == 1 {
				tr.claim = &claims[0]
			}
		}
		return tr, nil
	})
}
