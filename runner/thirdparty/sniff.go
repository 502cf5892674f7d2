// Package thirdparty recognises and reads result files of the load
// generators servebench can import: its own summary.json, GuideLLM reports
// and `vllm bench serve` results. The drivers and parsers for each tool live
// in the guidellm and vllmbench sub-packages; launch runs the tools.
package thirdparty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/pyjson"
	"github.com/servebench/servebench/runner/thirdparty/vllmbench"
)

// Format is the kind of a results file.
type Format string

const (
	FormatServebench Format = "servebench" // summary.json
	FormatGuideLLM   Format = "guidellm"   // guidellm run --output kind=json
	FormatVLLMBench  Format = "vllm-bench" // vllm bench serve --save-result
)

// Sniff tells a results file's format from the top-level keys of its first
// JSON object. It does not validate the rest: Parse does.
func Sniff(b []byte) (Format, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", errors.New("results file: not a JSON object (want summary.json, a GuideLLM JSON report or a vllm bench serve --save-result file)")
	}
	var top map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(pyjson.Clean(trimmed))).Decode(&top); err != nil {
		return "", fmt.Errorf("results file: %w", err)
	}
	has := func(k string) bool { _, ok := top[k]; return ok }
	switch {
	case has("schema_version") && has("benchmarks"):
		return FormatServebench, nil
	case has("benchmarks"):
		return FormatGuideLLM, nil
	case has("completed") && has("duration"):
		return FormatVLLMBench, nil
	}
	keys := slices.Sorted(maps.Keys(top))
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return "", fmt.Errorf("results file: unrecognised top-level keys %s (want summary.json, a GuideLLM JSON report or a vllm bench serve --save-result file)", strings.Join(keys, ", "))
}

// Parse sniffs r's format and reads it into a summary.
func Parse(r io.Reader) (*results.Summary, Format, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("results file: %w", err)
	}
	f, err := Sniff(b)
	if err != nil {
		return nil, "", err
	}
	var s *results.Summary
	switch f {
	case FormatServebench:
		s = new(results.Summary)
		if err = json.Unmarshal(b, s); err != nil {
			err = fmt.Errorf("summary.json: %w", err)
		}
	case FormatGuideLLM:
		s, err = guidellm.Parse(bytes.NewReader(b))
	case FormatVLLMBench:
		s, err = vllmbench.Parse(bytes.NewReader(b))
	}
	if err != nil {
		return nil, f, err
	}
	return s, f, nil
}
