package orchestrate

import (
	"sort"
	"strconv"
	"strings"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

// AudioRow is one speech-to-text cell's report (suites listing "audio" in
// reports): the highest concurrency whose level kept its p95 end-to-end
// latency within the target (a level valid but for the p99's sample count,
// with the samples a p95 needs), the real-time factors there, the
// best throughput in audio and files, and the transcripts' error rates over
// every level. A figure with nothing behind it is null.
type AudioRow struct {
	Model            string  `json:"model"`
	Workload         string  `json:"workload"`
	Cores            int     `json:"cores"`
	P95TargetSeconds float64 `json:"p95_target_seconds"`
	// MaxConcurrency is the streams of the highest synchronous (1) or
	// concurrent level that was valid and met the target; Level names it.
	MaxConcurrency *int     `json:"max_concurrency"`
	Level          string   `json:"level,omitempty"`
	E2EP95Seconds  *float64 `json:"e2e_p95_seconds"` // at that level
	RTFP50         *float64 `json:"rtf_p50"`
	RTFP95         *float64 `json:"rtf_p95"`
	// Best over the cell's levels, and the level it came from.
	AudioHoursPerHour *float64 `json:"audio_hours_per_hour"`
	FilesPerHour      *float64 `json:"files_per_hour"`
	BestLevel         string   `json:"best_level,omitempty"`
	WER               *float64 `json:"wer"`
	CER               *float64 `json:"cer"`
	Scored            int      `json:"scored"`
}

// audioReport builds one row per cell whose levels carry audio figures.
func audioReport(p *suite.Plan, sums []*results.Summary) []AudioRow {
	target := p.Config.Suite.P95Target()
	var out []AudioRow
	for _, s := range sums {
		row := AudioRow{Model: s.Model, Workload: s.Workload, Cores: s.Cores, P95TargetSeconds: target}
		var edits [4]int
		any := false
		for _, b := range s.Benchmarks {
			a := b.Audio
			if a == nil {
				continue
			}
			any = true
			row.Scored += a.Scored
			edits[0], edits[1], edits[2], edits[3] = edits[0]+a.WordEdits, edits[1]+a.Words, edits[2]+a.CharEdits, edits[3]+a.Chars
			if a.AudioHoursPerHour != nil && (row.AudioHoursPerHour == nil || *a.AudioHoursPerHour > *row.AudioHoursPerHour) {
				row.AudioHoursPerHour, row.FilesPerHour, row.BestLevel = a.AudioHoursPerHour, a.FilesPerHour, b.Level
			}
			streams, closed := concurrency(b)
			e2e95, ok := b.E2E.P95.Get()
			if !closed || !p95Usable(b) || !ok || e2e95/1000 > target {
				continue
			}
			if row.MaxConcurrency == nil || streams > *row.MaxConcurrency {
				p95 := e2e95 / 1000
				row.MaxConcurrency, row.Level, row.E2EP95Seconds = &streams, b.Level, &p95
				row.RTFP50, row.RTFP95 = nil, nil
				if v, ok := a.RTF.P50.Get(); ok {
					row.RTFP50 = &v
				}
				if v, ok := a.RTF.P95.Get(); ok {
					row.RTFP95 = &v
				}
			}
		}
		if !any {
			continue
		}
		if edits[1] > 0 {
			w := float64(edits[0]) / float64(edits[1])
			row.WER = &w
		}
		if edits[3] > 0 {
			c := float64(edits[2]) / float64(edits[3])
			row.CER = &c
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		if out[i].Workload != out[j].Workload {
			return out[i].Workload < out[j].Workload
		}
		return out[i].Cores < out[j].Cores
	})
	return out
}

// p95Usable reports whether a level's p95 end-to-end latency can be
// trusted: enough samples for a 95th percentile (analysis.MinSamplesFor),
// and the level valid but for the p99's sample count, which this report
// does not use.
func p95Usable(b results.Benchmark) bool {
	if b.E2E.Count < analysis.MinSamplesFor(0.95) {
		return false
	}
	for _, r := range b.InvalidReasons {
		if !strings.HasPrefix(r, "too few samples") {
			return false
		}
	}
	return true
}

// concurrency is a closed-loop level's stream count (synchronous is 1).
func concurrency(b results.Benchmark) (int, bool) {
	switch b.Profile {
	case "synchronous":
		return 1, true
	case "concurrent":
		if b.TargetRate > 0 {
			return int(b.TargetRate), true
		}
		if i := strings.LastIndexByte(b.Level, '-'); i >= 0 {
			n, err := strconv.Atoi(b.Level[i+1:])
			return n, err == nil
		}
	}
	return 0, false
}
