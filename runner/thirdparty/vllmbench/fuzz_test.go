package vllmbench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/servebench/servebench/runner/results"
)

// FuzzParse: no file, however broken, panics the vllm bench importer; a
// result it accepts becomes a summary that can be written (no NaN or
// infinity in it).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"completed":0,"duration":0}`,
		`{"completed":1,"duration":1e-300,"request_rate":"inf","max_concurrency":null,"mean_ttft_ms":NaN,"p99_ttft_ms":Infinity}`,
		`{"completed":3,"duration":2,"request_rate":-1,"burstiness":0}` + "\n" + `{"completed":1}`,
		`{"completed":"x","duration":1}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		// JSON has no NaN or infinity: a figure holding one fails here.
		var buf bytes.Buffer
		if err := results.WriteSummary(&buf, s); err != nil {
			t.Fatalf("accepted, then cannot be written: %v", err)
		}
	})
}
