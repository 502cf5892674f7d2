package thirdparty

import (
	"os"
	"strings"
	"testing"
)

func TestSniffAndParseFixtures(t *testing.T) {
	for file, want := range map[string]Format{
		"guidellm/testdata/v0.7.3-sweep.json":    FormatGuideLLM,
		"vllmbench/testdata/appended.jsonl":      FormatVLLMBench,
		"vllmbench/testdata/all-failed-nan.json": FormatVLLMBench,
		"vllmbench/testdata/openai-embeddings-infqps-concurrency8-all-MiniLM-L6-v2-20260722-050102.json": FormatVLLMBench,
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Sniff(b)
		if err != nil || got != want {
			t.Errorf("Sniff(%s) = %q, %v; want %q", file, got, err, want)
		}
		s, f, err := Parse(strings.NewReader(string(b)))
		if err != nil || f != want || len(s.Benchmarks) == 0 || s.Loadgen != string(want) {
			t.Errorf("Parse(%s): format %q err %v", file, f, err)
		}
	}
}

func TestSniffServebenchAndErrors(t *testing.T) {
	s, f, err := Parse(strings.NewReader(`{"schema_version":1,"loadgen":"native","benchmarks":[{"profile":"constant","level":"constant-4","target_rate":4}]}`))
	if err != nil || f != FormatServebench || s.Benchmarks[0].TargetRate != 4 {
		t.Errorf("servebench summary: %v %q %+v", err, f, s)
	}
	_, _, err = Parse(strings.NewReader(`{"benchmarks":[{"args":{},"run_stats":{}}]}`))
	if err == nil || !strings.Contains(err.Error(), "legacy pre-v0.4 schema") {
		t.Errorf("legacy GuideLLM: %v", err)
	}
	for doc, want := range map[string]string{
		"":                     "results file: not a JSON object",
		"prompt,output\n1,2\n": "results file: not a JSON object",
		`{"foo":1,"bar":2}`:    "results file: unrecognised top-level keys bar, foo (want",
	} {
		if _, err := Sniff([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Sniff(%q) = %v, want prefix %q", doc, err, want)
		}
	}
}
