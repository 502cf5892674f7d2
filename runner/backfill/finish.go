package backfill

import (
	"fmt"
	"time"

	"github.com/servebench/servebench/runner/compare"
)

// manifestTimeKeys are the manifest fields, in order of preference, that can
// date a whole cell when its per-request records are gone.
var manifestTimeKeys = []string{"finished_at", "finished", "ended_at", "end_time", "end"}

// FinishTimes dates each level of a cell: the end of its last request from
// requests.jsonl, else the level's own end as its source states it
// (ended_at in summary.json: an imported GuideLLM benchmark's end_time),
// else the manifest's finish time for every level, else fallback (the zero
// time means none). A level left undated is an error
// naming it.
func FinishTimes(c compare.Cell, fallback time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for lv, recs := range c.ByLevel() {
		var end time.Time
		for _, r := range recs {
			if r.End.After(end) {
				end = r.End
			}
		}
		if !end.IsZero() {
			out[lv] = end
		}
	}
	whole := fallback
	for _, k := range manifestTimeKeys {
		if s, ok := c.Manifest[k].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				whole = t
				break
			}
		}
	}
	for _, b := range c.Summary.Benchmarks {
		if _, ok := out[b.Level]; ok {
			continue
		}
		if b.EndedAt != nil && !b.EndedAt.IsZero() {
			out[b.Level] = *b.EndedAt
			continue
		}
		if whole.IsZero() {
			return nil, fmt.Errorf("%s: level %s has no finish time (no requests.jsonl records, no finished_at in manifest.json); give one", c.Path, b.Level)
		}
		out[b.Level] = whole
	}
	return out, nil
}
