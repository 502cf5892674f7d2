package compare

import (
	"path/filepath"
	"testing"
)

// BenchmarkCompareLargeLevel judges one level of 5000 requests x 64 tokens
// per side (315 000 ITL gaps each), files already loaded.
func BenchmarkCompareLargeLevel(b *testing.B) {
	dir := b.TempDir()
	for _, s := range []struct {
		name string
		seed uint64
	}{{"a", 1}, {"b", 2}} {
		if err := writeCellErr(filepath.Join(dir, s.name, "cell"), bench{Seed: s.seed, N: 5000, Conc: 32, Tokens: 64}); err != nil {
			b.Fatal(err)
		}
	}
	var sides []Side
	for _, n := range []string{"a", "b"} {
		cells, err := Loader{}.Load(filepath.Join(dir, n, "cell"))
		if err != nil {
			b.Fatal(err)
		}
		sides = append(sides, Side{Label: n, Repeats: [][]Cell{cells}})
	}
	for b.Loop() {
		if _, err := Compare(sides, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/level")
}
