package suite

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no suite file, however broken, panics the parser or the
// planner; every error names the file; a suite Parse accepts validates
// again and resolves and plans without panicking.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	cat, _ := filepath.Glob("catalogue/*.yaml")
	for _, p := range append(seeds, cat...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"name: a\nstages: [{profile: poisson, levels: [.nan]}]\n",
		"name: a\nstages: [{profile: poisson, levels: [.inf]}]\n",
		"name: a\ncores: [-1]\nstages: [{profile: synchronous}]\n",
		"name: a\nlimits: {max_seconds: 1e400}\nstages: [{profile: synchronous}]\n",
		"name: a\nstages: [{profile: throughput, levels: [4], finds_max: true}, {profile: poisson, fractions: [0.5, 2]}]\n",
		"name: &a a\nmodels: [*a, *a]\nstages: [{profile: synchronous}]\n",
		"--- \n...\n",
		"\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(bytes.NewReader(b), "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed, then invalid: %v", err)
		}
		c, err := Resolve(s, Overrides{}, Overrides{})
		if err != nil {
			return
		}
		if len(c.Models)*len(c.Workloads)*len(c.Cores)*max(len(s.Phases), 1) > 1000 {
			return // a valid but enormous matrix: planning it is slow, not wrong
		}
		if _, err := NewPlan(c); err != nil {
			return
		}
	})
}
