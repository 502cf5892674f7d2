// Package workload says what a benchmark sends: the seed framework's
// catalogue of synthetic workloads (chat, rag, code, ...), key=value specs
// like GuideLLM's --data, JSONL prompt files, and the synthetic prompts
// themselves, sized to an exact token count through the server's /tokenize
// when it has one, else by a documented estimate that the summary flags.
//
// Generation is seeded: the same seed gives the same prompt bodies and output
// lengths, so every level of a benchmark sends the same prompt set. A prefix
// unique to the run keeps a server's prefix cache from carrying over between
// runs. Functions here are safe for concurrent use; a Set is read-only once
// built.
package workload

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
)

// Length is a token count distribution: Mean, or a normal around it with
// Stdev clipped to [Min, Max] when Stdev > 0.
type Length struct {
	Mean, Stdev, Min, Max int
}

func (l Length) sample(r *rand.Rand) int {
	if l.Stdev <= 0 {
		return l.Mean
	}
	v := int(math.Round(float64(l.Mean) + r.NormFloat64()*float64(l.Stdev)))
	lo, hi := l.Min, l.Max
	if lo <= 0 {
		lo = 1
	}
	if hi <= 0 {
		hi = math.MaxInt32
	}
	return min(max(v, lo), hi)
}

// Spec is a synthetic workload.
type Spec struct {
	Name   string
	API    measure.API // the endpoint the workload is meant for
	Prompt Length
	Output Length // Mean 0: embeddings (no output)
	// PrefixTokens > 0 starts every prompt (after the run's prefix) with
	// one of PrefixCount shared prefixes of that many tokens, so requests
	// share a prefix a server may cache; the prompt length includes it.
	PrefixTokens, PrefixCount int
}

func fixed(name string, api measure.API, in, out int) Spec {
	return Spec{Name: name, API: api, Prompt: Length{Mean: in}, Output: Length{Mean: out}}
}

// catalogue is the seed framework's test_configs.
var catalogue = []Spec{
	fixed("chat", measure.APIChat, 512, 512),
	fixed("chat_lite", measure.APIChat, 128, 128),
	fixed("rag", measure.APICompletions, 7680, 512),
	fixed("code", measure.APICompletions, 1024, 1024),
	fixed("summarization", measure.APICompletions, 2048, 256),
	fixed("reasoning", measure.APICompletions, 256, 2048),
	{Name: "chat_var", API: measure.APIChat, Prompt: Length{512, 128, 128, 1024}, Output: Length{512, 128, 256, 1024}},
	{Name: "code_var", API: measure.APICompletions, Prompt: Length{1024, 256, 512, 2048}, Output: Length{1024, 256, 512, 2048}},
	{Name: "summarization_var", API: measure.APICompletions, Prompt: Length{1024, 256, 512, 2048}, Output: Length{256, 64, 128, 512}},
	fixed("context_scaling_1k", measure.APICompletions, 1024, 256),
	fixed("context_scaling_4k", measure.APICompletions, 4096, 256),
	fixed("context_scaling_8k", measure.APICompletions, 8192, 256),
	{Name: "embedding", API: measure.APIEmbeddings, Prompt: Length{Mean: 512}},
}

// Names lists the catalogue's workloads.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, s := range catalogue {
		out[i] = s.Name
	}
	return out
}

// Lookup returns a catalogue workload.
func Lookup(name string) (Spec, error) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("workload %q: not in the catalogue %v", name, Names())
}

// ParseData reads a key=value spec: prompt_tokens and output_tokens, each
// with optional _stdev, _min and _max, and optionally prefix_tokens and
// prefix_count (shared prefixes). output_tokens may be left out (or 0) for
// embeddings.
func ParseData(s string) (Spec, error) {
	sp := Spec{Name: "custom"}
	fields := map[string]*int{
		"prompt_tokens": &sp.Prompt.Mean, "prompt_tokens_stdev": &sp.Prompt.Stdev, "prompt_tokens_min": &sp.Prompt.Min, "prompt_tokens_max": &sp.Prompt.Max,
		"output_tokens": &sp.Output.Mean, "output_tokens_stdev": &sp.Output.Stdev, "output_tokens_min": &sp.Output.Min, "output_tokens_max": &sp.Output.Max,
		"prefix_tokens": &sp.PrefixTokens, "prefix_count": &sp.PrefixCount,
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Spec{}, fmt.Errorf("data %q: %q is not key=value", s, kv)
		}
		dst, known := fields[k]
		if !known {
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return Spec{}, fmt.Errorf("data: unknown key %q (known: %s)", k, strings.Join(keys, ", "))
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Spec{}, fmt.Errorf("data: %s=%q is not a whole number >= 0", k, v)
		}
		*dst = n
	}
	if sp.Prompt.Mean < 1 {
		return Spec{}, errors.New("data: prompt_tokens must be at least 1")
	}
	if sp.PrefixTokens >= sp.Prompt.Mean {
		return Spec{}, fmt.Errorf("data: prefix_tokens %d leaves nothing of prompt_tokens %d", sp.PrefixTokens, sp.Prompt.Mean)
	}
	for _, l := range []struct {
		name string
		l    Length
	}{{"prompt_tokens", sp.Prompt}, {"output_tokens", sp.Output}} {
		if l.l.Max > 0 && l.l.Min > l.l.Max {
			return Spec{}, fmt.Errorf("data: %s_min %d above %s_max %d", l.name, l.l.Min, l.name, l.l.Max)
		}
	}
	return sp, nil
}

// Item is one prompt of a workload.
type Item struct {
	Prompt       string
	PromptTokens int // calibrated or estimated count; 0 when unknown
	OutputTokens int // max_tokens to ask for; 0 = leave to the server
	// At is the send offset from a trace file (replay), 0 otherwise.
	At time.Duration
}

// Set is a workload's prompts.
type Set struct {
	Items []Item
	// Calibration is "tokenize" (exact counts from the server), "estimate"
	// (no /tokenize: one token per word assumed) or "" (from a file).
	Calibration string
	// Inexact counts prompts that /tokenize could not bring to the exact
	// length within the calibration rounds.
	Inexact int
}

// fileLine is one line of a JSONL workload file.
type fileLine struct {
	Prompt       *string  `json:"prompt"`
	PromptTokens int      `json:"prompt_tokens"`
	OutputTokens int      `json:"output_tokens"`
	Timestamp    *float64 `json:"timestamp"` // seconds, for replay
}

// ReadFile reads a JSONL workload: one object per line with "prompt"
// (required), and optionally "output_tokens", "prompt_tokens" and
// "timestamp" (seconds, ascending; used by the replay profile). Unknown
// fields are errors, so a typo does not silently change the workload.
func ReadFile(r io.Reader) (Set, error) {
	var set Set
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	line, stamped := 0, 0
	for sc.Scan() {
		line++
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var fl fileLine
		dec := json.NewDecoder(strings.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fl); err != nil {
			return Set{}, fmt.Errorf("workload line %d: %w", line, err)
		}
		if fl.Prompt == nil || *fl.Prompt == "" {
			return Set{}, fmt.Errorf("workload line %d: prompt missing or empty", line)
		}
		if fl.OutputTokens < 0 || fl.PromptTokens < 0 {
			return Set{}, fmt.Errorf("workload line %d: negative token count", line)
		}
		it := Item{Prompt: *fl.Prompt, PromptTokens: fl.PromptTokens, OutputTokens: fl.OutputTokens}
		if fl.Timestamp != nil {
			if *fl.Timestamp < 0 || math.IsNaN(*fl.Timestamp) {
				return Set{}, fmt.Errorf("workload line %d: timestamp %v out of range", line, *fl.Timestamp)
			}
			it.At = time.Duration(*fl.Timestamp * 1e9)
			stamped++
			if n := len(set.Items); n > 0 && it.At < set.Items[n-1].At {
				return Set{}, fmt.Errorf("workload line %d: timestamp goes back in time", line)
			}
		}
		set.Items = append(set.Items, it)
	}
	if err := sc.Err(); err != nil {
		return Set{}, fmt.Errorf("workload line %d: %w", line+1, err)
	}
	if len(set.Items) == 0 {
		return Set{}, errors.New("workload file: no prompts")
	}
	if stamped != 0 && stamped != len(set.Items) {
		return Set{}, fmt.Errorf("workload file: %d of %d lines have a timestamp; all or none must", stamped, len(set.Items))
	}
	return set, nil
}

// Trace returns the items' send offsets, nil when they carry none.
func (s Set) Trace() []time.Duration {
	if len(s.Items) == 0 {
		return nil
	}
	out := make([]time.Duration, len(s.Items))
	any := false
	for i, it := range s.Items {
		out[i] = it.At
		any = any || it.At != 0
	}
	if !any {
		return nil
	}
	return out
}
