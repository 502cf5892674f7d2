package backfill

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/runner/compare"
)

// Collect reads every result at paths (run or cell directories, summary.json
// files, third-party result files) and returns each benchmark's summary
// stamped with its finish time: from requests.jsonl or manifest.json, from
// a third-party file's own times, else fallback. Every error is about an
// input: unreadable, or undatable without fallback.
func Collect(loader compare.Loader, paths []string, fallback time.Time) ([]recorder.BenchmarkSummary, error) {
	cells, err := loader.LoadAll(paths)
	if err != nil {
		return nil, err
	}
	var all []recorder.BenchmarkSummary
	for _, c := range cells {
		fb := fallback
		if c.Manifest == nil && filepath.Base(c.Path) != "summary.json" {
			// A third-party file read directly: it dates itself.
			if raw, err := os.ReadFile(c.Path); err == nil {
				if _, end, ok := SourceTimes(raw); ok {
					fb = end
				}
			}
		}
		fin, err := FinishTimes(c, fb)
		if err != nil {
			return nil, fmt.Errorf("%w (--at)", err)
		}
		s, err := Summaries(c.Summary, fin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Path, err)
		}
		all = append(all, s...)
	}
	return all, nil
}
