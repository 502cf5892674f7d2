package orchestrate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

// Report is suite-summary.json: the cross-cell figures a suite reports.
// Cross-cell figures come from valid levels only: an invalid level is
// counted and its reasons kept, never averaged into a speedup or a loss. A
// figure that cannot be computed is null (results.Figure), and the row says
// why.
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
	// Notes say what the tables could not show, e.g. a model × workload
	// without a single valid level.
	Notes []string `json:"notes,omitempty"`
}

// ReportSchemaVersion is the version of suite-summary.json: 2 writes
// absent figures as null and takes cross-cell figures from valid levels.
const ReportSchemaVersion = 2

// CellHeadline is one cell's best figures over its valid levels.
type CellHeadline struct {
	Cell                      string         `json:"cell"`
	Cores                     int            `json:"cores"`
	Levels                    int            `json:"levels"`
	ValidLevels               int            `json:"valid_levels"`
	MaxRequestsPerSecond      results.Figure `json:"max_requests_per_second"`
	MaxOutputTokensPerSecond  results.Figure `json:"max_output_tokens_per_second"`
	MaxRate                   float64        `json:"max_rate,omitempty"` // saturation rate found by a finds_max level
	AllValid                  bool           `json:"all_valid"`
	OutputTokensPerSecondCore results.Figure `json:"output_tokens_per_second_per_core,omitzero"`
	// InvalidReasons are the invalid levels' reasons, each prefixed with
	// its level.
	InvalidReasons []string `json:"invalid_reasons,omitempty"`
}

// ScalingRow is one core count of one model × workload. Its throughput is
// the best of the cell's valid levels; speedup and efficiency are against
// the smallest core count that has one (BaseCores). An efficiency above
// linear is not a result: it leaves both null and says so in Anomaly.
type ScalingRow struct {
	Model                     string         `json:"model"`
	Workload                  string         `json:"workload"`
	Cores                     int            `json:"cores"`
	Levels                    int            `json:"levels"`
	ValidLevels               int            `json:"valid_levels"`
	MaxRequestsPerSecond      results.Figure `json:"max_requests_per_second"`
	MaxOutputTokensPerSecond  results.Figure `json:"max_output_tokens_per_second"`
	OutputTokensPerSecondCore results.Figure `json:"output_tokens_per_second_per_core"`
	BaseCores                 int            `json:"base_cores,omitempty"`
	Speedup                   results.Figure `json:"speedup"`    // throughput over the base core count's
	Efficiency                results.Figure `json:"efficiency"` // speedup over the core ratio: 1 = linear
	// Anomaly explains a speedup left null because it is not believable
	// (above linear), with the raw figures.
	Anomaly string `json:"anomaly,omitempty"`
	// Invalid explains a row without valid throughput: no valid level,
	// with the levels' reasons.
	Invalid string `json:"invalid,omitempty"`
}

// ContentionRow compares one level of a contention variant with the same
// level run isolated. The loss and increase are computed only when both
// levels are valid; Invalid says which was not.
type ContentionRow struct {
	Model                 string         `json:"model"`
	Workload              string         `json:"workload"`
	Cores                 int            `json:"cores"`
	Variant               string         `json:"variant"`
	Level                 string         `json:"level"`
	OutputTokensPerSecond results.Figure `json:"output_tokens_per_second"`
	BaselineTokensPerSec  results.Figure `json:"baseline_output_tokens_per_second"`
	ThroughputLoss        results.Figure `json:"throughput_loss"` // 1 - variant/baseline; negative = a gain
	TTFTP50Ms             results.Figure `json:"ttft_p50_ms"`
	BaselineTTFTP50Ms     results.Figure `json:"baseline_ttft_p50_ms"`
	TTFTIncrease          results.Figure `json:"ttft_p50_increase"` // variant/baseline - 1
	Invalid               string         `json:"invalid,omitempty"`
}

// superlinear is how far above linear an efficiency may be before it is an
// anomaly rather than a result: a few percent is run-to-run noise (or a
// cache effect), 8.5 is a broken level.
const superlinear = 1.10

// BuildReport computes the suite summary from the cells' summaries (cells
// that did not run are absent). Scaling rows appear when the suite reports
// "scaling", contention rows when it reports "contention".
func BuildReport(p *suite.Plan, sums []*results.Summary) Report {
	rep := Report{SchemaVersion: ReportSchemaVersion, Suite: p.Config.Suite.Name, Cells: []CellHeadline{}}
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
		var notes []string
		rep.Scaling, notes = scaling(sums, cells)
		rep.Notes = append(rep.Notes, notes...)
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
		h.AllValid = h.AllValid && b.Valid
		if !b.Valid {
			h.InvalidReasons = append(h.InvalidReasons, b.Level+": "+reasonsOf(b))
			continue
		}
		h.ValidLevels++
		h.MaxRequestsPerSecond = results.MaxOf(h.MaxRequestsPerSecond, b.RequestsPerSecond)
		h.MaxOutputTokensPerSecond = results.MaxOf(h.MaxOutputTokensPerSecond, b.OutputTokensPerSecond)
	}
	if s.Saturation != nil {
		h.MaxRate = s.Saturation.Rate
	}
	if s.Cores > 0 {
		h.OutputTokensPerSecondCore = h.MaxOutputTokensPerSecond.Scale(1 / float64(s.Cores))
	}
	return h
}

func reasonsOf(b results.Benchmark) string {
	if len(b.InvalidReasons) == 0 {
		return "invalid"
	}
	return strings.Join(b.InvalidReasons, "; ")
}

func scaling(sums []*results.Summary, cells map[string]suite.Cell) ([]ScalingRow, []string) {
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
		row := ScalingRow{Model: c.Model, Workload: c.Workload, Cores: s.Cores, Levels: h.Levels, ValidLevels: h.ValidLevels,
			MaxRequestsPerSecond: h.MaxRequestsPerSecond, MaxOutputTokensPerSecond: h.MaxOutputTokensPerSecond,
			OutputTokensPerSecondCore: h.OutputTokensPerSecondCore}
		if h.ValidLevels == 0 {
			row.Invalid = fmt.Sprintf("no valid level of %d: %s", h.Levels, groupReasons(s.Benchmarks))
		}
		groups[k] = append(groups[k], row)
	}
	var out []ScalingRow
	var notes []string
	for _, k := range order {
		rows := groups[k]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Cores < rows[j].Cores })
		// Output tokens are the measure of generation; embeddings have
		// none, so their requests are. The base is the smallest core count
		// with that figure from a valid level.
		measure := func(r ScalingRow) results.Figure { return r.MaxOutputTokensPerSecond }
		base := -1
		for i, r := range rows {
			if measure(r).Present() {
				base = i
				break
			}
		}
		if base < 0 {
			measure = func(r ScalingRow) results.Figure { return r.MaxRequestsPerSecond }
			for i, r := range rows {
				if measure(r).Present() {
					base = i
					break
				}
			}
		}
		if base < 0 {
			note := fmt.Sprintf("scaling %s %s: no core count has a valid level, so there is no speedup to report", k.model, k.workload)
			if windowsTooShort(sums, cells, k.model, k.workload) {
				note += "; the levels' windows are shorter than one request at these core counts: give them more time (--max-seconds)"
			}
			notes = append(notes, note)
		}
		for i := range rows {
			if base < 0 || !measure(rows[i]).Present() {
				continue
			}
			b := rows[base]
			rows[i].BaseCores = b.Cores
			speedup := results.Ratio(measure(rows[i]), measure(b))
			eff := speedup.Scale(float64(b.Cores) / float64(rows[i].Cores))
			if e, ok := eff.Get(); ok && e > superlinear {
				sp, _ := speedup.Get()
				rows[i].Anomaly = fmt.Sprintf("speedup %.2f on %.3g× the cores is efficiency %.2f, above linear: an anomaly, not a result (check the levels at %d and %d cores)",
					sp, float64(rows[i].Cores)/float64(b.Cores), e, b.Cores, rows[i].Cores)
				continue
			}
			rows[i].Speedup, rows[i].Efficiency = speedup, eff
		}
		out = append(out, rows...)
	}
	return out, notes
}

// groupReasons lists invalid levels' reasons, levels with the same reasons
// together ("poisson-25pct, poisson-50pct: no request measured").
func groupReasons(bs []results.Benchmark) string {
	var order []string
	levels := map[string][]string{}
	for _, b := range bs {
		if b.Valid {
			continue
		}
		r := reasonsOf(b)
		if _, ok := levels[r]; !ok {
			order = append(order, r)
		}
		levels[r] = append(levels[r], b.Level)
	}
	out := make([]string, len(order))
	for i, r := range order {
		out[i] = strings.Join(levels[r], ", ") + ": " + r
	}
	return strings.Join(out, " | ")
}

// windowsTooShort reports whether a level of the model × workload was
// invalid for a window shorter than one request: the usual cause of a
// scaling table without valid levels on a slow engine.
func windowsTooShort(sums []*results.Summary, cells map[string]suite.Cell, model, workload string) bool {
	for _, s := range sums {
		if c, ok := cells[s.Cell]; !ok || c.Model != model || c.Workload != workload {
			continue
		}
		for _, b := range s.Benchmarks {
			for _, r := range b.InvalidReasons {
				if strings.HasPrefix(r, "window shorter than one request") {
					return true
				}
			}
		}
	}
	return false
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
				var bad []string
				if !b.Valid {
					bad = append(bad, c.Variant+" invalid: "+reasonsOf(b))
				}
				if !bb.Valid {
					bad = append(bad, "isolated invalid: "+reasonsOf(bb))
				}
				if len(bad) > 0 {
					row.Invalid = strings.Join(bad, "; ")
				} else {
					if r, ok := results.Ratio(b.OutputTokensPerSecond, bb.OutputTokensPerSecond).Get(); ok {
						row.ThroughputLoss = results.Of(1 - r)
					}
					if r, ok := results.Ratio(b.TTFT.P50, bb.TTFT.P50).Get(); ok {
						row.TTFTIncrease = results.Of(r - 1)
					}
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
