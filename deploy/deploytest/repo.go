package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
)

// RepoRoot walks up from dir to the directory holding go.mod.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// Overlap returns the CPUs two cpusets share.
func Overlap(a, b []int) []int {
	in := map[int]bool{}
	for _, c := range a {
		in[c] = true
	}
	var out []int
	for _, c := range b {
		if in[c] {
			out = append(out, c)
		}
	}
	return out
}
