package compare

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
)

// Verdict is the judgement on one metric.
type Verdict string

// Verdicts.
const (
	Improved  Verdict = "improved"
	Regressed Verdict = "regressed"
	NoChange  Verdict = "no significant change"
	Untested  Verdict = "not tested"
)

// ErrMismatch is returned when two sides differ in hardware or configuration.
var ErrMismatch = errors.New("configurations differ")

// Options tune the judgement. The zero value gets the defaults.
type Options struct {
	Alpha      float64 // significance level per test; default 0.01
	MinChange  float64 // smallest relative change that counts; default 0.03
	Iterations int     // bootstrap resamples; default 1000
	Seed       uint64  // bootstrap seed
	Force      bool    // compare even when configurations differ
	// CoreHourPrice, when > 0, adds the price of a million output tokens.
	CoreHourPrice float64
}

func (o Options) norm() Options {
	if o.Alpha <= 0 {
		o.Alpha = 0.01
	}
	if o.MinChange <= 0 {
		o.MinChange = 0.03
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
	Regressions int          `json:"regressions"` // metrics judged regressed, over all comparisons
	Judged      int          `json:"judged"`      // metrics a test could judge
	Untested    int          `json:"untested"`    // metrics no test could judge (data missing)
	Options     Options      `json:"options"`
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
	Level    string          `json:"level"`
	Metrics  []MetricVerdict `json:"metrics"`
	CostA    *Cost           `json:"cost_a,omitempty"`
	CostB    *Cost           `json:"cost_b,omitempty"`
	Spread   []SpreadRow     `json:"repeatability,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// SpreadRow is the run-to-run variation of one metric on one side.
type SpreadRow struct {
	Side   string          `json:"side"` // "a" or "b"
	Metric string          `json:"metric"`
	Spread analysis.Spread `json:"spread"`
}

// MetricVerdict is the judgement on one metric at one level.
type MetricVerdict struct {
	Metric  string             `json:"metric"`
	Unit    string             `json:"unit"`
	Better  string             `json:"better"` // "higher" or "lower"
	A       float64            `json:"a"`
	B       float64            `json:"b"`
	Change  float64            `json:"change"` // (B-A)/A; NaN when A is 0
	Test    string             `json:"test"`   // which test judged it, "" when none could
	P       *float64           `json:"p,omitempty"`
	CI      *analysis.Interval `json:"ci,omitempty"` // of the relative change (B-A)/A
	Verdict Verdict            `json:"verdict"`
	Note    string             `json:"note,omitempty"`
}

// Compare judges every side against sides[0].
func Compare(sides []Side, o Options) (*Report, error) {
	if len(sides) < 2 {
		return nil, errors.New("compare needs at least two inputs")
	}
	o = o.norm()
	rep := &Report{Baseline: sides[0].Label, Options: o}
	for _, other := range sides[1:] {
		c, err := compareSides(sides[0], other, o)
		if err != nil {
			return nil, err
		}
		for _, cc := range c.Cells {
			for _, l := range cc.Levels {
				for _, m := range l.Metrics {
					switch m.Verdict {
					case Regressed:
						rep.Regressions++
						rep.Judged++
					case Untested:
						rep.Untested++
					default:
						rep.Judged++
					}
				}
			}
		}
		rep.Comparisons = append(rep.Comparisons, c)
	}
	return rep, nil
}

// singleCell reports whether every repeat of a side is one cell.
func singleCell(s Side) bool {
	for _, r := range s.Repeats {
		if len(r) != 1 {
			return false
		}
	}
	return true
}

// group gathers a side's cells by key across repeats. With anyName, every
// cell is keyed "" so that two single-cell sides pair whatever their names;
// a single cell against a run pairs by name.
func group(s Side, anyName bool) (map[string][]Cell, []string) {
	out := map[string][]Cell{}
	var keys []string
	for _, r := range s.Repeats {
		for _, c := range r {
			k := c.Key
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

func compareSides(a, b Side, o Options) (Comparison, error) {
	cmp := Comparison{A: a.Label, B: b.Label}
	anyName := singleCell(a) && singleCell(b)
	ga, ka := group(a, anyName)
	gb, kb := group(b, anyName)
	for _, k := range ka {
		cb, ok := gb[k]
		if !ok {
			cmp.Unmatched = append(cmp.Unmatched, fmt.Sprintf("cell %s only in %s", k, a.Label))
			continue
		}
		cc, unmatched, err := compareCell(k, ga[k], cb, o)
		if err != nil {
			return cmp, err
		}
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
		return cmp, fmt.Errorf("%s and %s have no cell and load level in common (%s)", a.Label, b.Label, strings.Join(cmp.Unmatched, "; "))
	}
	return cmp, nil
}

func compareCell(key string, ca, cb []Cell, o Options) (CellComparison, []string, error) {
	name := key
	if name == "" {
		name = ca[0].describe()
	}
	cc := CellComparison{Cell: name}
	mm := Mismatches(ca[0], cb[0])
	if len(mm) > 0 && !o.Force {
		return cc, nil, fmt.Errorf("%w: %s vs %s: %s (use --force to compare anyway)", ErrMismatch, ca[0].describe(), cb[0].describe(), strings.Join(mm, "; "))
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
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, lv := range shared {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cc.Levels[i] = compareLevel(lv, la[lv], lb[lv], o)
		}()
	}
	wg.Wait()
	for lv := range lb {
		if _, ok := la[lv]; !ok {
			unmatched = append(unmatched, fmt.Sprintf("level %s of %s only on one side", lv, name))
		}
	}
	sort.Strings(unmatched)
	return cc, unmatched, nil
}

// run is one benchmark of one repeat, with its samples when kept.
type run struct {
	b       results.Benchmark
	samples *Samples
	cores   int
}

// levels gathers each level's runs across the cells of one side, in the
// first cell's order. The same level twice in one summary counts as repeats.
func levels(cells []Cell) (map[string][]run, []string) {
	out := map[string][]run{}
	var order []string
	for _, c := range cells {
		byLevel := c.ByLevel()
		for _, b := range c.Summary.Benchmarks {
			r := run{b: b, cores: c.Summary.Cores}
			if recs, ok := byLevel[b.Level]; ok {
				s := SamplesOf(recs)
				r.samples = &s
			}
			if _, ok := out[b.Level]; !ok {
				order = append(order, b.Level)
			}
			out[b.Level] = append(out[b.Level], r)
		}
	}
	return out, order
}

// metric describes one judged figure.
type metric struct {
	name, unit, better string
	value              func(results.Benchmark) float64
}

var throughputMetrics = []metric{
	{"requests_per_second", "req/s", "higher", func(b results.Benchmark) float64 { return b.RequestsPerSecond }},
	{"output_tokens_per_second", "tok/s", "higher", func(b results.Benchmark) float64 { return b.OutputTokensPerSecond }},
	{"total_tokens_per_second", "tok/s", "higher", func(b results.Benchmark) float64 { return b.TotalTokensPerSecond }},
}

type latency struct {
	name    string
	dist    func(results.Benchmark) results.Dist
	samples func(*Samples) []float64
	// clusters, when set, groups the samples by request (ITL): the median
	// is tested on per-request medians and the p99 by a cluster bootstrap.
	clusters func(*Samples) [][]float64
}

var latencies = []latency{
	{"ttft", func(b results.Benchmark) results.Dist { return b.TTFT }, func(s *Samples) []float64 { return s.TTFT }, nil},
	{"itl", func(b results.Benchmark) results.Dist { return b.ITL }, func(s *Samples) []float64 { return s.ITL },
		func(s *Samples) [][]float64 { return s.ITLByRequest }},
	{"tpot", func(b results.Benchmark) results.Dist { return b.TPOT }, func(s *Samples) []float64 { return s.TPOT }, nil},
	{"e2e", func(b results.Benchmark) results.Dist { return b.E2E }, func(s *Samples) []float64 { return s.E2E }, nil},
}

// maxBootstrapSamples caps the samples a tail bootstrap resamples; larger
// sets (ITL gaps run to 10^5) are thinned by an even stride, keeping order:
// a tail bootstrap costs Iterations x samples per side.
const maxBootstrapSamples = 10000

func compareLevel(level string, ra, rb []run, o Options) LevelComparison {
	j := &judging{o: o, ra: ra, rb: rb, repeats: len(ra) >= 2 && len(rb) >= 2,
		// Intervals at 1-Alpha, so an interval excluding zero is the same
		// evidence as p < Alpha.
		boot: analysis.Bootstrap{Iterations: o.Iterations, Seed: o.Seed, Level: 1 - o.Alpha},
		lc:   LevelComparison{Level: level}}
	for i, m := range throughputMetrics {
		j.lc.Metrics = append(j.lc.Metrics, j.throughput(i, m))
	}
	for _, l := range latencies {
		med, tail := j.latency(l)
		j.lc.Metrics = append(j.lc.Metrics, med, tail)
	}
	j.lc.Metrics = append(j.lc.Metrics, successRate(ra, rb, o), validity(ra, rb))
	j.lc.CostA, j.lc.CostB = costOf(ra, o.CoreHourPrice), costOf(rb, o.CoreHourPrice)
	slices.Sort(j.lc.Warnings)
	return j.lc
}

// judging is one level's comparison in progress.
type judging struct {
	o       Options
	boot    analysis.Bootstrap
	ra, rb  []run
	repeats bool // at least two runs on each side
	lc      LevelComparison
}

// noiseFloor is the larger coefficient of variation of two sides' repeats.
func noiseFloor(va, vb []float64) float64 { return math.Max(nz(analysis.CV(va)), nz(analysis.CV(vb))) }

// overRepeats judges mv by a bootstrap interval of the difference of the
// runs' means; the bar is MinChange or the noise floor, whichever is higher.
func (j *judging) overRepeats(mv *MetricVerdict, va, vb []float64) {
	ci, err := j.boot.DiffCI(va, vb, analysis.MeanStat)
	if err != nil {
		return
	}
	mv.Test = fmt.Sprintf("bootstrap over repeats (%d vs %d)", len(va), len(vb))
	mv.CI = relCI(ci, analysis.Mean(va))
	mv.Verdict = judge(mv.Change, mv.Better, !mv.CI.Contains(0), math.Max(j.o.MinChange, noiseFloor(va, vb)))
}

// throughput judges throughput metric i over repeats, else over time windows.
func (j *judging) throughput(i int, m metric) MetricVerdict {
	va, vb := values(j.ra, m.value), values(j.rb, m.value)
	mv := MetricVerdict{Metric: m.name, Unit: m.unit, Better: m.better, A: analysis.Mean(va), B: analysis.Mean(vb)}
	mv.Change = rel(mv.A, mv.B)
	switch {
	case j.repeats:
		j.lc.Spread = append(j.lc.Spread, SpreadRow{"a", m.name, analysis.Repeatability(va)}, SpreadRow{"b", m.name, analysis.Repeatability(vb)})
		j.overRepeats(&mv, va, vb)
		mv.Note = fmt.Sprintf("noise floor (CV) %.1f%%", 100*noiseFloor(va, vb))
	case len(j.ra) == 1 && len(j.rb) == 1 && j.ra[0].samples != nil && j.rb[0].samples != nil:
		wa, wb := windows(j.ra[0].samples, i), windows(j.rb[0].samples, i)
		if wa == nil || wb == nil {
			return untested(mv, "too few completions for windowed throughput")
		}
		ci, err := j.boot.DiffCI(wa, wb, analysis.MeanStat)
		if err != nil {
			return untested(mv, err.Error())
		}
		mv.Test = fmt.Sprintf("bootstrap over time windows (%d vs %d)", len(wa), len(wb))
		mv.CI = relCI(ci, analysis.Mean(wa))
		mv.Verdict = judge(mv.Change, mv.Better, !mv.CI.Contains(0), j.o.MinChange)
	}
	return untested(mv, "needs requests.jsonl on both sides or two repeats each")
}

// latency judges a latency's median (Mann-Whitney on the samples) and p99
// (bootstrap of the difference), or both over repeats without samples.
func (j *judging) latency(l latency) (med, tail MetricVerdict) {
	pa, pb := pooled(j.ra, l.samples), pooled(j.rb, l.samples)
	p50a := values(j.ra, func(b results.Benchmark) float64 { return l.dist(b).P50 })
	p50b := values(j.rb, func(b results.Benchmark) float64 { return l.dist(b).P50 })
	p99a := values(j.ra, func(b results.Benchmark) float64 { return l.dist(b).P99 })
	p99b := values(j.rb, func(b results.Benchmark) float64 { return l.dist(b).P99 })
	med = MetricVerdict{Metric: l.name + "_p50", Unit: "ms", Better: "lower", A: analysis.Mean(p50a), B: analysis.Mean(p50b)}
	med.Change = rel(med.A, med.B)
	tail = MetricVerdict{Metric: l.name + "_p99", Unit: "ms", Better: "lower", A: analysis.Mean(p99a), B: analysis.Mean(p99b)}
	tail.Change = rel(tail.A, tail.B)
	missing := "needs per-request samples on both sides or two repeats each"
	if med.A == 0 && med.B == 0 {
		missing = "not measured"
	}

	if len(pa) < analysis.MinMannWhitneySamples || len(pb) < analysis.MinMannWhitneySamples {
		if j.repeats {
			j.overRepeats(&med, p50a, p50b)
			j.overRepeats(&tail, p99a, p99b)
		}
		return untested(med, missing), untested(tail, missing)
	}

	var ca, cb [][]float64
	ma, mb, unit := pa, pb, "samples"
	if l.clusters != nil {
		ca, cb = pooledClusters(j.ra, l.clusters), pooledClusters(j.rb, l.clusters)
		ma, mb, unit = medians(ca), medians(cb), "requests' medians"
	}
	enough := len(ma) >= analysis.MinMannWhitneySamples && len(mb) >= analysis.MinMannWhitneySamples
	if mw, err := analysis.MannWhitneyU(mb, ma); err == nil && enough {
		threshold := j.o.MinChange
		if j.repeats {
			threshold = math.Max(threshold, noiseFloor(p50a, p50b))
		}
		med.Test = fmt.Sprintf("mann-whitney U (%d vs %d %s)", len(ma), len(mb), unit)
		med.P = &mw.P
		med.Verdict = judge(med.Change, med.Better, mw.P < j.o.Alpha, threshold)
		// The direction is the samples' (Z > 0: B tends larger), not only
		// the summaries' medians.
		if med.Verdict != NoChange && (mw.Z > 0) != (med.B > med.A) {
			med.Verdict, med.Note = NoChange, "samples and summaries disagree on the direction"
		}
	}

	// A p99 with few samples beyond it is the luck of a few requests, and
	// its bootstrap is unreliable: warn, don't judge.
	few := false
	for side, n := range map[string]int{"a": len(pa), "b": len(pb)} {
		if w := analysis.SampleWarning(side+" "+l.name+" p99", 0.99, n); w != "" {
			j.lc.Warnings = append(j.lc.Warnings, w)
			few = true
		}
	}
	if few {
		return untested(med, missing), untested(tail, fmt.Sprintf("too few samples for p99 (%d vs %d, need %d)", len(pa), len(pb), analysis.MinSamplesFor(0.99)))
	}
	var ci analysis.Interval
	var err error
	var test string
	if l.clusters != nil {
		ci, err = j.boot.ClusteredDiffCI(thinClusters(ca), thinClusters(cb), analysis.QuantileStat(0.99))
		test = fmt.Sprintf("request-cluster bootstrap of p99 difference (%d vs %d requests)", len(ca), len(cb))
	} else {
		ci, err = j.boot.DiffCI(thin(pa), thin(pb), analysis.QuantileStat(0.99))
		test = fmt.Sprintf("bootstrap of p99 difference (%d vs %d samples)", len(pa), len(pb))
	}
	if err == nil {
		tail.Test = test
		tail.CI = relCI(ci, analysis.Quantile(pa, 0.99))
		tail.Verdict = judge(tail.Change, tail.Better, !tail.CI.Contains(0), j.o.MinChange)
	}
	return untested(med, missing), untested(tail, missing)
}

// untested marks a metric no test could judge, with why; a judged metric is
// returned as is.
func untested(mv MetricVerdict, why string) MetricVerdict {
	if mv.Verdict == "" {
		mv.Verdict = Untested
		if mv.Note == "" {
			mv.Note = why
		}
	}
	return mv
}

// judge turns a significance decision on a relative change into a verdict.
func judge(change float64, better string, significant bool, threshold float64) Verdict {
	if !significant || math.IsNaN(change) || math.Abs(change) < threshold {
		return NoChange
	}
	if (change > 0) == (better == "higher") {
		return Improved
	}
	return Regressed
}

func successRate(ra, rb []run, o Options) MetricVerdict {
	var sa, na, sb, nb int
	for _, r := range ra {
		sa += r.b.Requests.Successful
		na += r.b.Requests.Successful + r.b.Requests.Failed + r.b.Requests.Incomplete
	}
	for _, r := range rb {
		sb += r.b.Requests.Successful
		nb += r.b.Requests.Successful + r.b.Requests.Failed + r.b.Requests.Incomplete
	}
	mv := MetricVerdict{Metric: "success_rate", Unit: "ratio", Better: "higher"}
	if na == 0 || nb == 0 {
		mv.Verdict, mv.Note = Untested, "no request counts"
		return mv
	}
	mv.A, mv.B = float64(sa)/float64(na), float64(sb)/float64(nb)
	mv.Change = rel(mv.A, mv.B)
	p := twoProportionP(sa, na, sb, nb)
	mv.P = &p
	mv.Test = fmt.Sprintf("two-proportion z (%d vs %d requests)", na, nb)
	// The rate moves in percentage points; count a change of 1 point or more.
	mv.Verdict = judge(mv.B-mv.A, mv.Better, p < o.Alpha, 0.01)
	return mv
}

// twoProportionP is the two-sided p-value of the pooled two-proportion z-test.
func twoProportionP(s1, n1, s2, n2 int) float64 {
	p1, p2 := float64(s1)/float64(n1), float64(s2)/float64(n2)
	p := float64(s1+s2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 1
	}
	return math.Erfc(math.Abs(p1-p2) / se / math.Sqrt2)
}

func validity(ra, rb []run) MetricVerdict {
	va, vb := allValid(ra), allValid(rb)
	mv := MetricVerdict{Metric: "valid", Unit: "bool", Better: "higher", A: b2f(va), B: b2f(vb), Test: "flag", Verdict: NoChange}
	mv.Change = mv.B - mv.A
	switch {
	case va && !vb:
		mv.Verdict = Regressed
		mv.Note = "b invalid: " + reasons(rb)
	case !va && vb:
		mv.Verdict = Improved
		mv.Note = "a invalid: " + reasons(ra)
	case !va && !vb:
		mv.Note = "both invalid: the other verdicts of this level are not trustworthy"
	}
	return mv
}

func allValid(rs []run) bool {
	for _, r := range rs {
		if !r.b.Valid {
			return false
		}
	}
	return true
}

func reasons(rs []run) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.b.InvalidReasons...)
	}
	if len(out) == 0 {
		return "no reason given"
	}
	return strings.Join(out, "; ")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func values(rs []run, f func(results.Benchmark) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r.b)
	}
	return out
}

func pooled(rs []run, f func(*Samples) []float64) []float64 {
	var out []float64
	for _, r := range rs {
		if r.samples == nil {
			return nil
		}
		out = append(out, f(r.samples)...)
	}
	return out
}

// windows returns the per-window rates of throughput metric i (0 requests,
// 1 output tokens, 2 total tokens), or nil with too few completions: each
// window should hold about ten of them, and at least five windows are needed.
func windows(s *Samples, i int) []float64 {
	n := min(len(s.Done)/10, 30)
	if n < 5 {
		return nil
	}
	req, out, tot := s.Windowed(n)
	return [][]float64{req, out, tot}[i]
}

func pooledClusters(rs []run, f func(*Samples) [][]float64) [][]float64 {
	var out [][]float64
	for _, r := range rs {
		if r.samples == nil {
			return nil
		}
		out = append(out, f(r.samples)...)
	}
	return out
}

func medians(c [][]float64) []float64 {
	out := make([]float64, 0, len(c))
	for _, m := range c {
		out = append(out, analysis.Quantile(m, 0.5))
	}
	return out
}

// maxClusterSamples caps the members a cluster bootstrap resamples. It is
// higher than maxBootstrapSamples because thinning removes whole requests,
// and the requests, not the gaps, are what the interval's width rests on.
const maxClusterSamples = 30000

// thinClusters keeps every k-th cluster so that about maxClusterSamples
// members remain.
func thinClusters(c [][]float64) [][]float64 {
	n := 0
	for _, m := range c {
		n += len(m)
	}
	if n <= maxClusterSamples {
		return c
	}
	step := (n + maxClusterSamples - 1) / maxClusterSamples
	out := make([][]float64, 0, len(c)/step+1)
	for i := 0; i < len(c); i += step {
		out = append(out, c[i])
	}
	return out
}

func thin(x []float64) []float64 {
	if len(x) <= maxBootstrapSamples {
		return x
	}
	step := (len(x) + maxBootstrapSamples - 1) / maxBootstrapSamples
	out := make([]float64, 0, len(x)/step+1)
	for i := 0; i < len(x); i += step {
		out = append(out, x[i])
	}
	return out
}

func rel(a, b float64) float64 {
	if a == 0 {
		if b == 0 {
			return 0
		}
		return math.NaN()
	}
	return (b - a) / a
}

func relCI(ci analysis.Interval, base float64) *analysis.Interval {
	if base == 0 {
		return &ci
	}
	return &analysis.Interval{Point: ci.Point / base, Lo: ci.Lo / base, Hi: ci.Hi / base, Level: ci.Level}
}

func nz(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
