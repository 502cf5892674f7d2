// Package rank picks, from the cells of a suite run, the configurations that
// meet a stated service-level objective and orders them.
//
// A configuration is a cell's model, workload, cores and instance layout
// (contention variant, allocation, tensor parallelism); the repetitions of
// runner start --repeat are one configuration, each figure the median over
// them. For each configuration the best level is the one with the highest
// output tokens/s among its valid levels whose figures meet every objective
// (an absent figure meets none). Beside it: tokens/s per core, the price of a
// million output tokens at a core-hour price, and the scaling efficiency of
// that SLO-bound throughput per core against the smallest core count of the
// same model, workload and layout. Invalid levels never count; how many were
// left out, and why a configuration met nothing, is said.
//
// Rank is pure; WriteText renders a Result.
package rank

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
)

// Objective bounds one latency percentile: Metric at most Max.
type Objective struct {
	Metric string        `json:"metric"` // ttft_p99, itl_p50, tpot_p95, e2e_p90...
	Max    time.Duration `json:"max"`
}

func (o Objective) String() string { return o.Metric + "<=" + o.Max.String() }

var objectiveRE = regexp.MustCompile(`^\s*(ttft|itl|tpot|e2e)_(p50|p90|p95|p99|p999)\s*<=\s*(\S+)\s*$`)

// ParseObjective reads "ttft_p99<=1s": a latency (ttft, itl, tpot, e2e), a
// percentile (p50, p90, p95, p99, p999) and a Go duration.
func ParseObjective(s string) (Objective, error) {
	m := objectiveRE.FindStringSubmatch(s)
	if m == nil {
		return Objective{}, fmt.Errorf("objective %q: want METRIC<=DURATION, METRIC one of ttft, itl, tpot, e2e with _p50, _p90, _p95, _p99 or _p999 (e.g. ttft_p99<=1s)", s)
	}
	d, err := time.ParseDuration(m[3])
	if err != nil || d <= 0 {
		return Objective{}, fmt.Errorf("objective %q: %q is not a positive duration (e.g. 100ms, 1.5s)", s, m[3])
	}
	return Objective{Metric: m[1] + "_" + m[2], Max: d}, nil
}

// value returns the objective's figure of b in milliseconds; ok is false
// when the figure is absent (an empty distribution, too few samples).
func (o Objective) value(b results.Benchmark) (float64, bool) {
	name, pct, _ := strings.Cut(o.Metric, "_")
	d := map[string]results.Dist{"ttft": b.TTFT, "itl": b.ITL, "tpot": b.TPOT, "e2e": b.E2E}[name]
	// A percentile withheld for too few samples is absent like an empty
	// distribution's.
	return map[string]results.Figure{"p50": d.P50, "p90": d.P90, "p95": d.P95, "p99": d.P99, "p999": d.P999}[pct].Get()
}

// Orders a Result can be ranked by.
const (
	ByPerCore    = "per-core"   // output tokens/s per core: the cost of a token
	ByThroughput = "throughput" // output tokens/s
)

// Options configure a ranking.
type Options struct {
	SLO           []Objective
	CoreHourPrice float64 // > 0 adds the price of a million output tokens
	By            string  // ByPerCore (default) or ByThroughput
}

// ErrNoCells is returned when there is nothing to rank.
var ErrNoCells = errors.New("no cells to rank")

// Row is one configuration.
type Row struct {
	Rank     int    `json:"rank,omitempty"` // 1 = best; 0 when nothing met the SLO
	Cell     string `json:"cell"`
	Model    string `json:"model"`
	Workload string `json:"workload"`
	Cores    int    `json:"cores"`
	Layout   string `json:"layout,omitempty"`
	Runs     int    `json:"runs"`
	// Level is the best level meeting the SLO; "" when none did.
	Level                 string             `json:"level,omitempty"`
	OutputTokensPerSecond *float64           `json:"output_tokens_per_second"`
	PerCore               *float64           `json:"output_tokens_per_second_per_core"`
	PricePerMillion       *float64           `json:"price_per_million_output_tokens"`
	Efficiency            *float64           `json:"scaling_efficiency"` // per core over the smallest core count's: 1 = linear
	Figures               map[string]float64 `json:"figures,omitempty"`  // the objectives' figures at Level, ms
	ValidLevels           int                `json:"valid_levels"`
	InvalidLevels         int                `json:"invalid_levels"`
	Why                   string             `json:"why,omitempty"` // why no level met the SLO
}

// Result is a ranking.
type Result struct {
	Options Options `json:"options"`
	Rows    []Row   `json:"rows"` // ranked rows first, then those that met nothing
	Best    *Row    `json:"best"` // nil when no configuration met the SLO
	// Invalid lists the invalid levels left out, with their reasons.
	Invalid []string `json:"invalid,omitempty"`
}

type config struct {
	cell, model, workload, layout string
	cores                         int
}

// layout names a cell's instance layout from its manifest: contention
// variant, allocation and tensor parallelism, those present.
func layout(c compare.Cell) string {
	var parts []string
	if v, ok := store.LookupString(c.Manifest, "variant"); ok {
		parts = append(parts, v)
	}
	if a, ok := store.LookupString(c.Manifest, "placement", "allocation"); ok {
		parts = append(parts, a)
	} else if tp, ok := store.LookupString(c.Manifest, "placement", "tensor_parallel"); ok && tp != "0" && tp != "1" {
		parts = append(parts, "tp"+tp)
	}
	return strings.Join(parts, " ")
}

// Rank ranks the configurations of cells.
func Rank(cells []compare.Cell, o Options) (Result, error) {
	if len(cells) == 0 {
		return Result{}, ErrNoCells
	}
	o.By = cmp.Or(o.By, ByPerCore)
	if o.By != ByPerCore && o.By != ByThroughput {
		return Result{}, fmt.Errorf("rank by %q: want %s or %s", o.By, ByPerCore, ByThroughput)
	}
	res := Result{Options: o}
	groups := map[config][]compare.Cell{}
	var order []config
	for _, c := range cells {
		s := c.Summary
		k := config{cell: cmp.Or(s.RepeatOf, c.Key, s.Cell), model: s.Model, workload: s.Workload, layout: layout(c), cores: s.Cores}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range order {
		row, invalid := best(k, groups[k], o)
		res.Rows = append(res.Rows, row)
		res.Invalid = append(res.Invalid, invalid...)
	}
	efficiency(res.Rows)
	key := func(r Row) float64 {
		if r.Level == "" {
			return math.Inf(-1)
		}
		if o.By == ByThroughput {
			return *r.OutputTokensPerSecond
		}
		return *r.PerCore
	}
	slices.SortStableFunc(res.Rows, func(a, b Row) int {
		return cmp.Or(-cmp.Compare(key(a), key(b)), strings.Compare(a.Model, b.Model), cmp.Compare(a.Cores, b.Cores), strings.Compare(a.Cell, b.Cell))
	})
	for i := range res.Rows {
		if res.Rows[i].Level != "" {
			res.Rows[i].Rank = i + 1
		}
	}
	if len(res.Rows) > 0 && res.Rows[0].Level != "" {
		res.Best = &res.Rows[0]
	}
	return res, nil
}

// level is one load level of a configuration over its repetitions.
type level struct {
	name  string
	runs  []results.Benchmark
	valid bool
}

// best finds a configuration's best level meeting the SLO.
func best(k config, cells []compare.Cell, o Options) (Row, []string) {
	row := Row{Cell: k.cell, Model: k.model, Workload: k.workload, Cores: k.cores, Layout: k.layout, Runs: len(cells)}
	var levels []*level
	byName := map[string]*level{}
	for _, c := range cells {
		for _, b := range c.Summary.Benchmarks {
			l, ok := byName[b.Level]
			if !ok {
				l = &level{name: b.Level, valid: true}
				byName[b.Level] = l
				levels = append(levels, l)
			}
			l.runs = append(l.runs, b)
			l.valid = l.valid && b.Valid
		}
	}
	var invalid, misses []string
	bestTput := -1.0
	for _, l := range levels {
		if !l.valid {
			row.InvalidLevels++
			var why []string
			for _, b := range l.runs {
				why = append(why, b.InvalidReasons...)
			}
			slices.Sort(why)
			invalid = append(invalid, fmt.Sprintf("%s %s: %s", k.cell, l.name, strings.Join(slices.Compact(why), "; ")))
			continue
		}
		row.ValidLevels++
		figs := map[string]float64{}
		meets := true
		for _, obj := range o.SLO {
			v, ok := median(l.runs, obj.value)
			if !ok {
				meets = false
				misses = append(misses, fmt.Sprintf("%s absent at %s", obj.Metric, l.name))
				continue
			}
			figs[obj.Metric] = v
			if limit := float64(obj.Max) / float64(time.Millisecond); v > limit {
				meets = false
				misses = append(misses, fmt.Sprintf("%s %s ms > %s at %s", obj.Metric, strconv.FormatFloat(v, 'g', 4, 64), obj.Max, l.name))
			}
		}
		tput, _ := median(l.runs, func(b results.Benchmark) (float64, bool) { return b.OutputTokensPerSecond.Get() })
		if meets && tput > bestTput {
			bestTput = tput
			row.Level, row.Figures = l.name, figs
		}
	}
	switch {
	case row.Level != "":
		row.OutputTokensPerSecond = ptr(bestTput)
		if c := compare.CostOf(k.cores, bestTput, o.CoreHourPrice); c != nil {
			row.PerCore = ptr(c.OutputTokensPerCore)
			if c.PricePerMillionOutputs > 0 {
				row.PricePerMillion = ptr(c.PricePerMillionOutputs)
			}
		}
		if row.PerCore == nil && o.By == ByPerCore {
			// Unknown cores: no per-core figure, so nothing to rank by.
			row.Level, row.OutputTokensPerSecond = "", nil
			row.Why = "cores unknown: no tokens/s per core (rank --by throughput)"
		}
	case row.ValidLevels == 0:
		row.Why = fmt.Sprintf("no valid level (%d invalid)", row.InvalidLevels)
	default:
		row.Why = "no valid level meets the SLO: " + strings.Join(misses, "; ")
	}
	return row, invalid
}

// median is the median over runs of f's figure, ok when every run has it.
func median(runs []results.Benchmark, f func(results.Benchmark) (float64, bool)) (float64, bool) {
	v := make([]float64, 0, len(runs))
	for _, b := range runs {
		x, ok := f(b)
		if !ok {
			return 0, false
		}
		v = append(v, x)
	}
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2, true
	}
	return v[len(v)/2], true
}

// efficiency sets each row's SLO-bound tokens/s per core over that of the
// smallest core count of its model, workload and layout family.
func efficiency(rows []Row) {
	type family struct{ model, workload, layout string }
	base := map[family]*Row{}
	for i := range rows {
		r := &rows[i]
		if r.PerCore == nil || r.Cores <= 0 {
			continue
		}
		f := family{r.Model, r.Workload, familyLayout(r.Layout)}
		if b, ok := base[f]; !ok || r.Cores < b.Cores {
			base[f] = r
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.PerCore == nil {
			continue
		}
		if b := base[family{r.Model, r.Workload, familyLayout(r.Layout)}]; b != nil && b.Cores < r.Cores {
			r.Efficiency = ptr(*r.PerCore / *b.PerCore)
		} else if b != nil {
			r.Efficiency = ptr(1)
		}
	}
}

// familyLayout drops the core count from an allocation name
// ("16cores-numa0-tp1" -> "numa0-tp1") so that core counts of one layout
// form a family.
func familyLayout(l string) string { return coresRE.ReplaceAllString(l, "") }

var coresRE = regexp.MustCompile(`\b\d+cores-?`)

func ptr(v float64) *float64 { return &v }
