package compare

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/servebench/servebench/runner/analysis"
)

// Verdict is the judgement on one metric.
type Verdict string

// Verdicts.
const (
	Improved  Verdict = "improved"
	Regressed Verdict = "regressed"
	NoChange  Verdict = "no significant change"
	// Inconclusive: the data cannot tell — no run-to-run evidence and a
	// change inside the default noise floor, a test too weak to detect a
	// change of MaxMDE, evidence that disagrees, or a side whose
	// measurement is not of the server (client-bound, invalid).
	Inconclusive Verdict = "inconclusive"
	Untested     Verdict = "not tested" // the data a test needs is absent
)

// Outcome is the judgement on a whole report.
type Outcome string

// Outcomes, in the order they take precedence.
const (
	OutcomeRegression   Outcome = "regression"
	OutcomeInconclusive Outcome = "inconclusive"
	OutcomeNoRegression Outcome = "no regression"
)

// Errors that Report.Err returns, for callers to map to exit codes.
var (
	ErrRegression   = errors.New("regression")
	ErrInconclusive = errors.New("inconclusive")
	// ErrMismatch is returned when two sides differ in hardware or configuration.
	ErrMismatch = errors.New("configurations differ")
)

// DefaultFloorCV is the run-to-run coefficient of variation assumed for
// throughput and medians when neither repeats nor a stored noise floor
// measure it. It is deliberately generous — runs on a shared host drift by
// 4-11% (docs/analysis.md) — so that a change inside it is inconclusive and
// only a change well beyond it, confirmed inside the runs, decides. A p99
// has no default: its run-to-run spread is set by rare host events, and
// without repeats or a floor it is inconclusive.
const DefaultFloorCV = 0.10

// Options tune the judgement. The zero value gets the defaults.
type Options struct {
	// Alpha bounds the probability that a comparison of two samples of the
	// same configuration reports any regression: the false discovery rate
	// of the Benjamini-Hochberg procedure over all of a comparison's tests,
	// which under the A/A null is that probability. Default 0.01.
	Alpha      float64
	MinChange  float64 // smallest relative change that counts; default 0.03
	Power      float64 // power at which minimal detectable effects are stated; default 0.8
	MaxMDE     float64 // a primary metric whose test cannot detect this relative change is inconclusive; default 0.10
	Iterations int     // bootstrap resamples of the within-run tests; default 1000
	Seed       uint64  // bootstrap seed
	Force      bool    // compare even when configurations differ
	// CoreHourPrice, when > 0, adds the price of a million output tokens.
	CoreHourPrice float64
	// Floor is a stored noise floor; nil for none.
	Floor *Floor `json:"-"`
}

func (o Options) norm() Options {
	if o.Alpha <= 0 {
		o.Alpha = 0.01
	}
	if o.MinChange <= 0 {
		o.MinChange = 0.03
	}
	if o.Power <= 0 || o.Power >= 1 {
		o.Power = 0.8
	}
	if o.MaxMDE <= 0 {
		o.MaxMDE = 0.10
	}
	if o.Iterations <= 0 {
		o.Iterations = 1000
	}
	return o
}

// Side is one side of a comparison: one input, or several repeats of the
// same configuration (each repeat a list of cells).
type Side struct {
	Label   string
	Repeats [][]Cell
}

// Report is the outcome of comparing every side against the first.
type Report struct {
	Baseline    string       `json:"baseline"`
	Comparisons []Comparison `json:"comparisons"`
	Outcome     Outcome      `json:"outcome"`
	// Reasons say why the outcome is inconclusive.
	Reasons      []string `json:"reasons,omitempty"`
	Regressions  int      `json:"regressions"`  // metrics judged regressed, over all comparisons
	Inconclusive int      `json:"inconclusive"` // metrics judged inconclusive
	Judged       int      `json:"judged"`       // metrics a test could judge (inconclusive ones included)
	Untested     int      `json:"untested"`     // metrics no test could judge (data missing)
	Options      Options  `json:"options"`
	// FloorUpdates are the run-to-run variances this comparison measured
	// from repeats of judged levels, for Floor.Add.
	FloorUpdates []FloorUpdate `json:"-"`
}

// Err returns nil when nothing regressed and nothing was inconclusive, else
// an error wrapping ErrRegression or ErrInconclusive.
func (r *Report) Err() error {
	switch r.Outcome {
	case OutcomeRegression:
		return fmt.Errorf("%w: %d metric(s) regressed", ErrRegression, r.Regressions)
	case OutcomeInconclusive:
		more := ""
		if len(r.Reasons) > 1 {
			more = fmt.Sprintf(" (and %d more reason(s) in the report)", len(r.Reasons)-1)
		}
		return fmt.Errorf("%w: %s%s", ErrInconclusive, r.Reasons[0], more)
	}
	return nil
}

// Comparison is the baseline against one other side.
type Comparison struct {
	A         string           `json:"a"`
	B         string           `json:"b"`
	Cells     []CellComparison `json:"cells"`
	Unmatched []string         `json:"unmatched,omitempty"` // cells or levels on one side only
}

// CellComparison covers one cell present on both sides.
type CellComparison struct {
	Cell       string            `json:"cell"`
	Mismatches []string          `json:"mismatches,omitempty"` // configuration differences accepted by Force
	Levels     []LevelComparison `json:"levels"`
}

// LevelComparison covers one load level.
type LevelComparison struct {
	Level string `json:"level"`
	// Runs is how many runs of the level each side had.
	RunsA int `json:"runs_a"`
	RunsB int `json:"runs_b"`
	// Inconclusive, when set, says why the level as a whole cannot be
	// judged (a client-bound or invalid side).
	Inconclusive string          `json:"inconclusive,omitempty"`
	InvalidA     []string        `json:"invalid_a,omitempty"`
	InvalidB     []string        `json:"invalid_b,omitempty"`
	Metrics      []MetricVerdict `json:"metrics"`
	CostA        *Cost           `json:"cost_a,omitempty"`
	CostB        *Cost           `json:"cost_b,omitempty"`
	Spread       []SpreadRow     `json:"repeatability,omitempty"`
	Warnings     []string        `json:"warnings,omitempty"`
}

// SpreadRow is the run-to-run variation of one metric on one side.
type SpreadRow struct {
	Side   string          `json:"side"` // "a" or "b"
	Metric string          `json:"metric"`
	Spread analysis.Spread `json:"spread"`
}

// MetricVerdict is the judgement on one metric at one level.
type MetricVerdict struct {
	Metric string `json:"metric"`
	Unit   string `json:"unit"`
	Better string `json:"better"` // "higher" or "lower"
	// Primary metrics (throughput and medians) make the whole comparison
	// inconclusive when they are; a tail that is only adds a note.
	Primary bool `json:"primary"`
	// A and B are the sides' geometric means over runs (the figures the
	// run-level test compares); Change is B/A-1.
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	Change float64 `json:"change"` // NaN when A is 0
	Test   string  `json:"test"`   // the run-level test, "" when none could run
	// P is the run-level test's two-sided p-value, PAdjusted the
	// Benjamini-Hochberg adjusted one that decides.
	P         *float64           `json:"p,omitempty"`
	PAdjusted *float64           `json:"p_adjusted,omitempty"`
	CI        *analysis.Interval `json:"ci,omitempty"` // of the relative change, at 1-Alpha
	// MDE is the minimal detectable relative change at Alpha and Power;
	// for the success rate (Unit "ratio") a difference in points of the rate.
	MDE *float64 `json:"mde,omitempty"`
	// Noise is the run-to-run variation the test assumed and where it
	// came from: the repeats, a stored noise floor, or the default floor.
	NoiseCV     *float64 `json:"noise_cv,omitempty"`
	NoiseSource string   `json:"noise_source,omitempty"` // repeats, floor, repeats+floor or default
	NoiseDF     *float64 `json:"noise_df,omitempty"`     // absent for the default floor, an assumption
	// The within-run test on the pooled per-request samples: it supports
	// or contradicts the run-level verdict, never decides it alone.
	WithinTest string             `json:"within_test,omitempty"`
	WithinP    *float64           `json:"within_p,omitempty"`
	WithinCI   *analysis.Interval `json:"within_ci,omitempty"`
	Verdict    Verdict            `json:"verdict"`
	Note       string             `json:"note,omitempty"`

	assumed bool    // the noise is the default floor, not measured
	within  int     // -1, 0, +1: direction the within-run test found significant
	pSig    float64 // raw p-value entering the BH family (NaN: not in it)
	bar     float64 // smallest change that counts
}

// Compare judges every side against sides[0].
func Compare(sides []Side, o Options) (*Report, error) {
	if len(sides) < 2 {
		return nil, errors.New("compare needs at least two inputs")
	}
	o = o.norm()
	rep := &Report{Baseline: sides[0].Label, Options: o}
	for _, other := range sides[1:] {
		c, updates, err := compareSides(sides[0], other, o)
		if err != nil {
			return nil, err
		}
		decideComparison(&c, o)
		rep.FloorUpdates = append(rep.FloorUpdates, updates...)
		rep.Comparisons = append(rep.Comparisons, c)
	}
	rep.tally()
	return rep, nil
}

// tally counts verdicts and sets the outcome.
func (r *Report) tally() {
	for _, c := range r.Comparisons {
		where := ""
		if len(r.Comparisons) > 1 {
			where = c.B + ": "
		}
		for _, cc := range c.Cells {
			for _, l := range cc.Levels {
				if l.Inconclusive != "" {
					r.Reasons = append(r.Reasons, fmt.Sprintf("%s%s %s: %s", where, cc.Cell, l.Level, l.Inconclusive))
				}
				var names []string
				why := ""
				for _, m := range l.Metrics {
					switch m.Verdict {
					case Regressed:
						r.Regressions++
						r.Judged++
					case Untested:
						r.Untested++
					case Inconclusive:
						r.Inconclusive++
						r.Judged++
						if m.Primary && l.Inconclusive == "" {
							names = append(names, m.Metric)
							why = cmp.Or(why, m.Note)
						}
					default:
						r.Judged++
					}
				}
				if len(names) > 0 {
					r.Reasons = append(r.Reasons, fmt.Sprintf("%s%s %s: %s inconclusive: %s", where, cc.Cell, l.Level, strings.Join(names, ", "), why))
				}
			}
		}
	}
	switch {
	case r.Regressions > 0:
		r.Outcome = OutcomeRegression
	case len(r.Reasons) > 0:
		r.Outcome = OutcomeInconclusive
	default:
		r.Outcome = OutcomeNoRegression
	}
}

// baseKey names a cell across repeats: a repetition of runner start
// --repeat is its base cell.
func baseKey(c Cell) string {
	if c.Summary.RepeatOf != "" {
		return c.Summary.RepeatOf
	}
	return c.Key
}

// singleCell reports whether every input of a side is one configuration
// (a cell, or the repetitions of one cell).
func singleCell(s Side) bool {
	for _, r := range s.Repeats {
		keys := map[string]bool{}
		for _, c := range r {
			keys[baseKey(c)] = true
		}
		if len(keys) != 1 {
			return false
		}
	}
	return true
}

// group gathers a side's cells by base key across repeats. With anyName,
// every cell is keyed "" so that two single-configuration sides pair
// whatever their names; a single cell against a run pairs by name.
func group(s Side, anyName bool) (map[string][]Cell, []string) {
	out := map[string][]Cell{}
	var keys []string
	for _, r := range s.Repeats {
		for _, c := range r {
			k := baseKey(c)
			if anyName {
				k = ""
			}
			if _, ok := out[k]; !ok {
				keys = append(keys, k)
			}
			out[k] = append(out[k], c)
		}
	}
	sort.Strings(keys)
	return out, keys
}

func compareSides(a, b Side, o Options) (Comparison, []FloorUpdate, error) {
	cmp := Comparison{A: a.Label, B: b.Label}
	anyName := singleCell(a) && singleCell(b)
	ga, ka := group(a, anyName)
	gb, kb := group(b, anyName)
	var updates []FloorUpdate
	for _, k := range ka {
		cb, ok := gb[k]
		if !ok {
			cmp.Unmatched = append(cmp.Unmatched, fmt.Sprintf("cell %s only in %s", k, a.Label))
			continue
		}
		cc, unmatched, up, err := compareCell(k, ga[k], cb, o)
		if err != nil {
			return cmp, nil, err
		}
		updates = append(updates, up...)
		cmp.Unmatched = append(cmp.Unmatched, unmatched...)
		cmp.Cells = append(cmp.Cells, cc)
	}
	for _, k := range kb {
		if _, ok := ga[k]; !ok {
			cmp.Unmatched = append(cmp.Unmatched, fmt.Sprintf("cell %s only in %s", k, b.Label))
		}
	}
	levels := 0
	for _, c := range cmp.Cells {
		levels += len(c.Levels)
	}
	if levels == 0 {
		// Nothing judged must not read as "no regression" to a CI job.
		return cmp, nil, fmt.Errorf("%s and %s have no cell and load level in common (%s)", a.Label, b.Label, strings.Join(cmp.Unmatched, "; "))
	}
	return cmp, updates, nil
}

func compareCell(key string, ca, cb []Cell, o Options) (CellComparison, []string, []FloorUpdate, error) {
	name := key
	if name == "" {
		name = baseKey(ca[0])
		if name == "" {
			name = ca[0].describe()
		}
	}
	cc := CellComparison{Cell: name}
	mm := Mismatches(ca[0], cb[0])
	if len(mm) > 0 && !o.Force {
		return cc, nil, nil, fmt.Errorf("%w: %s vs %s: %s (use --force to compare anyway)", ErrMismatch, ca[0].describe(), cb[0].describe(), strings.Join(mm, "; "))
	}
	cc.Mismatches = mm
	la, orderA := levels(ca)
	lb, _ := levels(cb)
	var unmatched, shared []string
	for _, lv := range orderA {
		if _, ok := lb[lv]; !ok {
			unmatched = append(unmatched, fmt.Sprintf("level %s of %s only on one side", lv, name))
			continue
		}
		shared = append(shared, lv)
	}
	// Levels are independent and each bootstraps from its own seeded
	// generator, so judging them in parallel changes nothing but the time.
	cc.Levels = make([]LevelComparison, len(shared))
	ups := make([][]FloorUpdate, len(shared))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, lv := range shared {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cc.Levels[i], ups[i] = compareLevel(lv, la[lv], lb[lv], o)
		}()
	}
	wg.Wait()
	var updates []FloorUpdate
	for _, u := range ups {
		updates = append(updates, u...)
	}
	for lv := range lb {
		if _, ok := la[lv]; !ok {
			unmatched = append(unmatched, fmt.Sprintf("level %s of %s only on one side", lv, name))
		}
	}
	sort.Strings(unmatched)
	return cc, unmatched, updates, nil
}

// decideComparison adjusts the p-values of every run-level test of one
// comparison together (Benjamini-Hochberg) and turns the evidence into
// verdicts.
func decideComparison(c *Comparison, o Options) {
	var ps []float64
	var refs []*MetricVerdict
	for i := range c.Cells {
		for j := range c.Cells[i].Levels {
			l := &c.Cells[i].Levels[j]
			for k := range l.Metrics {
				m := &l.Metrics[k]
				if !math.IsNaN(m.pSig) && m.Verdict == "" {
					ps = append(ps, m.pSig)
					refs = append(refs, m)
				}
			}
		}
	}
	adj := analysis.AdjustBH(ps)
	for i, m := range refs {
		m.PAdjusted = ptr(adj[i])
	}
	for i := range c.Cells {
		for j := range c.Cells[i].Levels {
			for k := range c.Cells[i].Levels[j].Metrics {
				decide(&c.Cells[i].Levels[j].Metrics[k], o)
			}
		}
	}
}

// decide turns one metric's evidence into its verdict.
func decide(m *MetricVerdict, o Options) {
	if m.Verdict != "" {
		return
	}
	if m.PAdjusted == nil {
		m.Verdict = Untested
		return
	}
	sig := *m.PAdjusted <= o.Alpha
	dir := 0
	if m.Change > 0 {
		dir = 1
	} else if m.Change < 0 {
		dir = -1
	}
	delta := m.Change
	if m.Unit == "ratio" {
		delta = m.B - m.A // a rate moves in points
	}
	switch {
	case sig && math.Abs(delta) < m.bar:
		m.Verdict = NoChange
		m.note(fmt.Sprintf("significant but under the %.1f%% that counts", 100*m.bar))
	case sig && m.within == -dir:
		m.Verdict = Inconclusive
		m.note("the runs and the per-request samples disagree on the direction")
	case sig && m.assumed && m.within != dir:
		m.Verdict = Inconclusive
		m.note("no repeats or noise floor, and the per-request samples do not confirm the change")
	case sig:
		if (dir > 0) == (m.Better == "higher") {
			m.Verdict = Improved
		} else {
			m.Verdict = Regressed
		}
	case m.assumed:
		m.Verdict = Inconclusive
		m.note(fmt.Sprintf("no repeats or noise floor, and the change is inside the default floor (run-to-run CV %.0f%% assumed)", 100*deref(m.NoiseCV)))
	case m.MDE != nil && *m.MDE > o.MaxMDE && m.Primary:
		m.Verdict = Inconclusive
		m.note(fmt.Sprintf("too little evidence: only a change above %.1f%% would be detected; add repeats or a noise floor", 100**m.MDE))
	default:
		m.Verdict = NoChange
	}
}

func (m *MetricVerdict) note(s string) {
	if m.Note == "" {
		m.Note = s
	} else {
		m.Note += "; " + s
	}
}

// MDEText prints the minimal detectable effect: a relative change in
// percent, or points of a rate; "" when no test could state one.
func (m MetricVerdict) MDEText() string {
	switch {
	case m.MDE == nil:
		return ""
	case m.Unit == "ratio":
		return fmt.Sprintf("%.1f pt", 100**m.MDE)
	}
	return fmt.Sprintf("%.1f%%", 100**m.MDE)
}

func ptr(v float64) *float64 { return &v }

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
