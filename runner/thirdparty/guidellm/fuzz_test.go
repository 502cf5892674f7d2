package guidellm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/servebench/servebench/runner/results"
)

// FuzzParse: no file, however broken, panics the GuideLLM importer; a
// report it accepts becomes a summary that can be written (no NaN or
// infinity in it) and per-request records that can be stored.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"benchmarks":[]}`,
		`{"metadata":{"version":"0.7.3"},"benchmarks":[{"config":{"strategy":{"type":"concurrent"}}}]}`,
		`{"benchmarks":[{"config":{"strategy":{"type":"constant","rate":NaN}},"metrics":{"time_to_first_token_ms":{"successful":{"mean":Infinity}}}}]}`,
		`{"benchmarks":[{"requests":{"errored":[{"error":"boom","request_start_time":-1e308}]}}]}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := Parse(bytes.NewReader(b)); err == nil {
			// JSON has no NaN or infinity: a figure holding one fails here.
			var buf bytes.Buffer
			if err := results.WriteSummary(&buf, s); err != nil {
				t.Fatalf("accepted, then cannot be written: %v", err)
			}
		}
		if rs, err := Requests(bytes.NewReader(b)); err == nil {
			var buf bytes.Buffer
			w := results.NewRequestWriter(&buf)
			for _, level := range rs {
				for i := range level {
					if err := w.Write(&level[i]); err != nil {
						t.Fatalf("record accepted, then cannot be written: %v", err)
					}
				}
			}
		}
	})
}
