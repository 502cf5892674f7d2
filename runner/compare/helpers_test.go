package compare

import (
	"testing"

	"github.com/servebench/servebench/runner/compare/comparetest"
)

type bench = comparetest.Bench

func writeCell(t *testing.T, dir string, bs ...bench) string {
	t.Helper()
	if err := comparetest.WriteCell(dir, bs...); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeCellErr(dir string, bs ...bench) error { return comparetest.WriteCell(dir, bs...) }
