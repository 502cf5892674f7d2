package metered

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"sync"

	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/workload"
)

// cellState is what a third-party load generator keeps from one level of a
// cell to the next: the cell's prompts, built once (calibrated through the
// engine's /tokenize, as the native load generator's), and what a stream
// completed per second at the cell's last closed-loop level, from which
// the next closed-loop level's request count is estimated. Safe for
// concurrent use; levels run one at a time anyway.
type cellState struct {
	mu        sync.Mutex
	cell      string
	set       *workload.Set
	perStream float64 // completions per second per stream, 0 = not measured yet
}

func (c *cellState) enter(cell string) {
	if c.cell != cell {
		c.cell, c.set, c.perStream = cell, nil, 0
	}
}

// prompts returns the cell's prompts and the native load generator's
// configuration of the level, whose request bodies the tools send.
func (c *cellState) prompts(ctx context.Context, req orchestrate.LoadRequest) (*workload.Set, loadgen.Config, error) {
	cfg, err := orchestrate.NewNative(nil).Config(req, req.URLs[0], req.Target)
	if err != nil {
		return nil, cfg, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enter(req.Cell.ID)
	if c.set == nil {
		pc := cfg
		pc.PromptPool = loadgen.DefaultPromptPool
		if c.set, err = loadgen.PreparePrompts(ctx, pc); err != nil {
			return nil, cfg, err
		}
	}
	cfg.Prompts = c.set
	return c.set, cfg, nil
}

// closedLoop profiles hold a number of streams, not a rate.
func closedLoop(profile string) bool {
	return profile == "synchronous" || profile == "concurrent" || profile == "throughput"
}

// streams is a closed-loop level's concurrency.
func streams(req orchestrate.LoadRequest) int {
	if req.Level.Profile == "synchronous" {
		return 1
	}
	return max(1, int(req.Target))
}

// DefaultStreamRate is the completions per second a stream is assumed to
// make at a cell's first closed-loop level, before one was measured.
const DefaultStreamRate = 1.0

// requests estimates how many requests a level sends in its sending span:
// an open loop, its rate over the span; a closed loop, its streams times
// what a stream completed per second at the cell's last closed-loop level
// (DefaultStreamRate at the first), over the span. A level bounded by a
// count sends that count; one with neither bound, 200 (vLLM's CPU CI).
func (c *cellState) requests(req orchestrate.LoadRequest) int {
	if req.Limits.MaxRequests > 0 {
		return req.Limits.MaxRequests
	}
	span := req.Budget.Send().Seconds()
	if span <= 0 {
		return 200
	}
	if !closedLoop(req.Level.Profile) {
		return max(1, int(math.Floor(req.Target*span)))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enter(req.Cell.ID)
	rate := c.perStream
	if rate <= 0 {
		rate = DefaultStreamRate
	}
	n := streams(req)
	return n + int(math.Ceil(float64(n)*rate*span))
}

// observe keeps what a closed-loop level's streams completed per second,
// from the proxy's view of it.
func (c *cellState) observe(req orchestrate.LoadRequest, view results.Benchmark) {
	if !closedLoop(req.Level.Profile) || view.DurationSeconds <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enter(req.Cell.ID)
	if rps, ok := view.RequestsPerSecond.Get(); ok && rps > 0 {
		c.perStream = rps / float64(streams(req))
	}
}

// writeGuideLLMData writes n rows of the cell's prompts (repeated in order
// when the level needs more than the set holds) as the JSON Lines GuideLLM
// reads with kind=json_file: prompt, prompt_tokens_count and
// output_tokens_count columns, so that it needs no tokenizer and asks for
// the exact output lengths.
func writeGuideLLMData(path string, set *workload.Set, n int) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		it := set.Items[i%len(set.Items)]
		row := struct {
			Prompt string `json:"prompt"`
			In     int    `json:"prompt_tokens_count,omitempty"`
			Out    int    `json:"output_tokens_count,omitempty"`
		}{it.Prompt, it.PromptTokens, it.OutputTokens}
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
