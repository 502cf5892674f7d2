package orchestrate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

// Report is suite-summary.json: the cross-cell figures a suite reports.
type Report struct {
	SchemaVersion int             `json:"schema_version"`
	Suite         string          `json:"suite"`
	RunID         string          `json:"run_id,omitempty"`
	Cells         []CellHeadline  `json:"cells"`
	Scaling       []ScalingRow    `json:"scaling,omitempty"`
	Contention    []ContentionRow `json:"contention,omitempty"`
	// Repeatability grades run-to-run variation per level of each cell the
	// run repeated (runner start --repeat).
	Repeatability []RepeatRow `json:"repeatability,omitempty"`
	// Audio is the speech-to-text report (suites listing "audio").
	Audio []AudioRow `json:"audio,omitempty"`
}

// CellHeadline is one cell's best figures over its levels.
type CellHeadline struct {
	Cell                      string  `json:"cell"`
	Cores                     int     `json:"cores"`
	Levels                    int     `json:"levels"`
	MaxRequestsPerSecond      float64 `json:"max_requests_per_second"`
	MaxOutputTokensPerSecond  float64 `json:"max_output_tokens_per_second"`
	MaxRate                   float64 `json:"max_rate,omitempty"` // saturation rate found by a finds_max level
	AllValid                  bool    `json:"all_valid"`
	OutputTokensPerSecondCore float64 `json:"output_tokens_per_second_per_core,omitempty"`
}

// ScalingRow is one core count of one model × workload.
type ScalingRow struct {
	Model                     string  `json:"model"`
	Workload                  string  `json:"workload"`
	Cores                     int     `json:"cores"`
	MaxRequestsPerSecond      float64 `json:"max_requests_per_second"`
	MaxOutputTokensPerSecond  float64 `json:"max_output_tokens_per_second"`
	OutputTokensPerSecondCore float64 `json:"output_tokens_per_second_per_core"`
	Speedup                   float64 `json:"speedup"`    // throughput over the smallest core count's
	Efficiency                float64 `json:"efficiency"` // speedup over the core ratio: 1 = linear
}

// ContentionRow compares one level of a contention variant with the same
// level run isolated.
type ContentionRow struct {
	Model                 string  `json:"model"`
	Workload              string  `json:"workload"`
	Cores                 int     `json:"cores"`
	Variant               string  `json:"variant"`
	Level                 string  `json:"level"`
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	BaselineTokensPerSec  float64 `json:"baseline_output_tokens_per_second"`
	ThroughputLoss        float64 `json:"throughput_loss"` // 1 - variant/baseline; negative = a gain
	TTFTP50Ms             float64 `json:"ttft_p50_ms"`
	BaselineTTFTP50Ms     float64 `json:"baseline_ttft_p50_ms"`
	TTFTIncrease          float64 `json:"ttft_p50_increase"` // variant/baseline - 1
}

// BuildReport computes the suite summary from the cells' summaries (cells
// that did not run are absent). Scaling rows appear when the suite reports
// "scaling", contention rows when it reports "contention".
func BuildReport(p *suite.Plan, sums []*results.Summary) Report {
	rep := Report{SchemaVersion: 1, Suite: p.Config.Suite.Name, Cells: []CellHeadline{}}
	cells := map[string]suite.Cell{}
	for _, c := range p.Cells {
		cells[c.ID] = c
	}
	for _, s := range sums {
		if s.RunID != "" {
			rep.RunID = s.RunID
		}
		h := headline(s)
		rep.Cells = append(rep.Cells, h)
	}
	reports := map[string]bool{}
	for _, r := range p.Config.Suite.Reports {
		reports[r] = true
	}
	if reports["scaling"] {
		rep.Scaling = scaling(sums, cells)
	}
	if reports["contention"] {
		rep.Contention = contention(sums, cells)
	}
	if reports["audio"] {
		rep.Audio = audioReport(p, sums)
	}
	rep.Repeatability = repeatability(sums, cells)
	return rep
}

func headline(s *results.Summary) CellHeadline {
	h := CellHeadline{Cell: s.Cell, Cores: s.Cores, Levels: len(s.Benchmarks), AllValid: len(s.Benchmarks) > 0}
	for _, b := range s.Benchmarks {
		h.MaxRequestsPerSecond = max(h.MaxRequestsPerSecond, b.RequestsPerSecond)
		h.MaxOutputTokensPerSecond = max(h.MaxOutputTokensPerSecond, b.OutputTokensPerSecond)
		h.AllValid = h.AllValid && b.Valid
	}
	if s.Saturation != nil {
		h.MaxRate = s.Saturation.Rate
	}
	if s.Cores > 0 {
		h.OutputTokensPerSecondCore = h.MaxOutputTokensPerSecond / float64(s.Cores)
	}
	return h
}

func scaling(sums []*results.Summary, cells map[string]suite.Cell) []ScalingRow {
	type key struct{ model, workload, phase, variant string }
	groups := map[key][]ScalingRow{}
	var order []key
	for _, s := range sums {
		c, ok := cells[s.Cell]
		if !ok || s.Cores == 0 || len(s.Benchmarks) == 0 {
			continue
		}
		h := headline(s)
		k := key{c.Model, c.Workload, c.Phase, c.Variant}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], ScalingRow{Model: c.Model, Workload: c.Workload, Cores: s.Cores,
			MaxRequestsPerSecond: h.MaxRequestsPerSecond, MaxOutputTokensPerSecond: h.MaxOutputTokensPerSecond,
			OutputTokensPerSecondCore: h.OutputTokensPerSecondCore})
	}
	var out []ScalingRow
	for _, k := range order {
		rows := groups[k]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Cores < rows[j].Cores })
		base := rows[0]
		for i := range rows {
			// Output tokens are the measure of generation; embeddings have
			// none, so their requests are.
			switch {
			case base.MaxOutputTokensPerSecond > 0:
				rows[i].Speedup = rows[i].MaxOutputTokensPerSecond / base.MaxOutputTokensPerSecond
			case base.MaxRequestsPerSecond > 0:
				rows[i].Speedup = rows[i].MaxRequestsPerSecond / base.MaxRequestsPerSecond
			default:
				continue
			}
			rows[i].Efficiency = rows[i].Speedup / (float64(rows[i].Cores) / float64(base.Cores))
		}
		out = append(out, rows...)
	}
	return out
}

func contention(sums []*results.Summary, cells map[string]suite.Cell) []ContentionRow {
	type key struct {
		model, workload, phase string
		cores                  int
	}
	baseline := map[key]*results.Summary{}
	for _, s := range sums {
		if c, ok := cells[s.Cell]; ok && c.Variant == suite.VariantIsolated {
			baseline[key{c.Model, c.Workload, c.Phase, c.Cores}] = s
		}
	}
	var out []ContentionRow
	for _, s := range sums {
		c, ok := cells[s.Cell]
		if !ok || c.Variant == "" || c.Variant == suite.VariantIsolated {
			continue
		}
		base := baseline[key{c.Model, c.Workload, c.Phase, c.Cores}]
		if base == nil {
			continue
		}
		for _, b := range s.Benchmarks {
			for _, bb := range base.Benchmarks {
				if bb.Level != b.Level {
					continue
				}
				row := ContentionRow{Model: c.Model, Workload: c.Workload, Cores: c.Cores, Variant: c.Variant, Level: b.Level,
					OutputTokensPerSecond: b.OutputTokensPerSecond, BaselineTokensPerSec: bb.OutputTokensPerSecond,
					TTFTP50Ms: b.TTFT.P50, BaselineTTFTP50Ms: bb.TTFT.P50}
				if bb.OutputTokensPerSecond > 0 {
					row.ThroughputLoss = 1 - b.OutputTokensPerSecond/bb.OutputTokensPerSecond
				}
				if bb.TTFT.P50 > 0 {
					row.TTFTIncrease = b.TTFT.P50/bb.TTFT.P50 - 1
				}
				out = append(out, row)
			}
		}
	}
	return out
}

func readSummary(runDir, cell string) (*results.Summary, error) {
	b, err := os.ReadFile(filepath.Join(runDir, cell, "summary.json"))
	if err != nil {
		return nil, err
	}
	var s results.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
