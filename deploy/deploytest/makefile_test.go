package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestMakefileTargetsDescribed: `make help` lists only targets with a "##"
// description, so every target needs one; the deploy targets must exist.
func TestMakefileTargetsDescribed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var described []string
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z0-9_-]+):[^=\n]*?(## .+)?$`).FindAllSubmatch(b, -1) {
		if len(m[2]) == 0 {
			t.Errorf("make target %s has no ## description, so make help does not show it", m[1])
			continue
		}
		described = append(described, string(m[1]))
	}
	for _, want := range []string{"build", "test", "bench", "e2e", "generate", "lint", "sim-image", "image", "image-scratch", "generate-deploy", "up", "down", "clean"} {
		if !slices.Contains(described, want) {
			t.Errorf("make help does not describe target %s", want)
		}
	}
}
