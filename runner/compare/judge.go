package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
)

// run is one benchmark of one repeat, with its samples when kept.
type run struct {
	b       results.Benchmark
	samples *Samples
	cores   int
	cell    *Cell
	src     string // names the run in noise-floor records
}

// levels gathers each level's runs across the cells of one side, in the
// first cell's order. The same level twice in one summary counts as repeats.
func levels(cells []Cell) (map[string][]run, []string) {
	out := map[string][]run{}
	var order []string
	for i := range cells {
		c := &cells[i]
		byLevel := c.ByLevel()
		src := cmp.Or(c.Summary.RunID, c.Path) + "/" + c.Key
		for k, b := range c.Summary.Benchmarks {
			r := run{b: b, cores: c.Summary.Cores, cell: c, src: fmt.Sprintf("%s#%d", src, k)}
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

// metric describes one figure judged over runs.
type metric struct {
	name, unit, better string
	primary            bool
	value              func(results.Benchmark) float64
	// count, for a percentile, is the samples it rests on; nil otherwise.
	count func(results.Benchmark) int
	q     float64 // the percentile's quantile, for the sample rule
	// Within-run support, when the per-request samples are kept.
	samples  func(*Samples) []float64
	clusters func(*Samples) [][]float64 // ITL: gaps grouped by request
	window   int                        // throughput: index into Samples.Windowed, -1 none
}

func percentile(name string, get func(results.Benchmark) results.Dist, q float64, primary bool,
	samples func(*Samples) []float64, clusters func(*Samples) [][]float64) metric {
	// An absent figure is NaN here, which runValues refuses.
	val := func(b results.Benchmark) float64 { return get(b).P50.Or(math.NaN()) }
	if q == 0.99 {
		val = func(b results.Benchmark) float64 { return get(b).P99.Or(math.NaN()) }
	}
	return metric{name: name, unit: "ms", better: "lower", primary: primary, value: val, q: q,
		count: func(b results.Benchmark) int { return get(b).Count }, samples: samples, clusters: clusters, window: -1}
}

func ttftOf(b results.Benchmark) results.Dist { return b.TTFT }
func itlOf(b results.Benchmark) results.Dist  { return b.ITL }
func tpotOf(b results.Benchmark) results.Dist { return b.TPOT }
func e2eOf(b results.Benchmark) results.Dist  { return b.E2E }

func ttftS(s *Samples) []float64  { return s.TTFT }
func itlS(s *Samples) []float64   { return s.ITL }
func tpotS(s *Samples) []float64  { return s.TPOT }
func e2eS(s *Samples) []float64   { return s.E2E }
func itlC(s *Samples) [][]float64 { return s.ITLByRequest }

// runMetrics are the figures judged per level, in report order.
var runMetrics = []metric{
	{name: "requests_per_second", unit: "req/s", better: "higher", primary: true, value: func(b results.Benchmark) float64 { return b.RequestsPerSecond.Or(math.NaN()) }, window: 0},
	{name: "output_tokens_per_second", unit: "tok/s", better: "higher", primary: true, value: func(b results.Benchmark) float64 { return b.OutputTokensPerSecond.Or(math.NaN()) }, window: 1},
	{name: "total_tokens_per_second", unit: "tok/s", better: "higher", primary: true, value: func(b results.Benchmark) float64 { return b.TotalTokensPerSecond.Or(math.NaN()) }, window: 2},
	percentile("ttft_p50", ttftOf, 0.5, true, ttftS, nil),
	percentile("ttft_p99", ttftOf, 0.99, false, ttftS, nil),
	percentile("itl_p50", itlOf, 0.5, true, itlS, itlC),
	percentile("itl_p99", itlOf, 0.99, false, itlS, itlC),
	percentile("tpot_p50", tpotOf, 0.5, true, tpotS, nil),
	percentile("tpot_p99", tpotOf, 0.99, false, tpotS, nil),
	percentile("e2e_p50", e2eOf, 0.5, true, e2eS, nil),
	percentile("e2e_p99", e2eOf, 0.99, false, e2eS, nil),
}

// maxBootstrapSamples caps the samples a tail bootstrap resamples; larger
// sets (ITL gaps run to 10^5) are thinned by an even stride, keeping order:
// a tail bootstrap costs Iterations x samples per side.
const maxBootstrapSamples = 10000

// judging is one level's comparison in progress.
type judging struct {
	o      Options
	boot   analysis.Bootstrap
	ra, rb []run
	keyA   FloorKey
	keyB   FloorKey
	seen   map[string]bool // runs of both sides, kept out of the stored floor
	lc     LevelComparison
}

func compareLevel(level string, ra, rb []run, o Options) (LevelComparison, []FloorUpdate) {
	j := &judging{o: o, ra: ra, rb: rb,
		// Intervals at 1-Alpha, so an interval excluding zero is the same
		// evidence as p < Alpha.
		boot: analysis.Bootstrap{Iterations: o.Iterations, Seed: o.Seed, Level: 1 - o.Alpha},
		keyA: keyOf(ra[0]), keyB: keyOf(rb[0]), seen: map[string]bool{},
		lc: LevelComparison{Level: level, RunsA: len(ra), RunsB: len(rb)}}
	for _, r := range append(slices.Clone(ra), rb...) {
		j.seen[r.src] = true
	}
	clientA, otherA := invalidity(ra)
	clientB, otherB := invalidity(rb)
	j.lc.InvalidA, j.lc.InvalidB = append(clientA, otherA...), append(clientB, otherB...)
	for _, m := range runMetrics {
		j.lc.Metrics = append(j.lc.Metrics, j.runMetric(m))
	}
	j.lc.Metrics = append(j.lc.Metrics, successRate(ra, rb, o))
	switch {
	case len(clientA)+len(clientB) > 0:
		j.lc.Inconclusive = "client-bound: the load generator, not the server, limited " + sides(clientA, clientB)
		j.setAll("client-bound side: measures the load generator, not the server", false)
	case len(otherA)+len(otherB) > 0:
		j.lc.Inconclusive = "invalid measurement on " + sides(otherA, otherB)
		j.setAll("invalid side", true)
	}
	j.lc.CostA, j.lc.CostB = costOf(ra, o.CoreHourPrice), costOf(rb, o.CoreHourPrice)
	slices.Sort(j.lc.Warnings)
	j.lc.Warnings = slices.Compact(j.lc.Warnings)
	if j.lc.Inconclusive != "" {
		return j.lc, nil
	}
	return j.lc, j.floorUpdates()
}

// sides names which side was at fault and why.
func sides(a, b []string) string {
	var out []string
	if len(a) > 0 {
		out = append(out, "A ("+strings.Join(a, "; ")+")")
	}
	if len(b) > 0 {
		out = append(out, "B ("+strings.Join(b, "; ")+")")
	}
	return strings.Join(out, " and ")
}

// setAll makes every metric of the level inconclusive, except the success
// rate when keepSuccess: failures are the server's whatever else went wrong.
func (j *judging) setAll(why string, keepSuccess bool) {
	for i := range j.lc.Metrics {
		m := &j.lc.Metrics[i]
		if keepSuccess && m.Metric == "success_rate" {
			continue
		}
		if m.Verdict == Untested {
			continue
		}
		m.Verdict, m.Note, m.pSig = Inconclusive, why, math.NaN()
	}
}

// runValues returns each run's figure, or why the metric cannot be tested.
func runValues(rs []run, m metric) ([]float64, string) {
	out := make([]float64, len(rs))
	for i, r := range rs {
		v := m.value(r.b)
		if m.count != nil && m.count(r.b) == 0 || !(v > 0) || math.IsInf(v, 0) {
			return nil, "absent in some run"
		}
		out[i] = v
	}
	return out, ""
}

func geomean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += math.Log(v)
	}
	return math.Exp(s / float64(len(x)))
}

func (j *judging) runMetric(m metric) MetricVerdict {
	mv := MetricVerdict{Metric: m.name, Unit: m.unit, Better: m.better, Primary: m.primary, pSig: math.NaN(), bar: j.o.MinChange, Change: math.NaN()}
	va, why := runValues(j.ra, m)
	vb, whyB := runValues(j.rb, m)
	if va == nil || vb == nil {
		// An absent figure is not compared: the side that has it shows
		// it, the other shows none (null, —), never 0.
		mv.A, mv.B = math.NaN(), math.NaN()
		mv.Verdict = Untested
		switch {
		case va == nil && vb == nil:
			mv.Note = "not measured"
		case va == nil:
			mv.B, mv.Note = geomean(vb), "a: "+why+": not compared"
		default:
			mv.A, mv.Note = geomean(va), "b: "+whyB+": not compared"
		}
		return mv
	}
	mv.A, mv.B = geomean(va), geomean(vb)
	mv.Change = mv.B/mv.A - 1
	if len(va) >= 2 || len(vb) >= 2 {
		if len(va) >= 2 {
			j.lc.Spread = append(j.lc.Spread, SpreadRow{"a", m.name, analysis.Repeatability(va)})
		}
		if len(vb) >= 2 {
			j.lc.Spread = append(j.lc.Spread, SpreadRow{"b", m.name, analysis.Repeatability(vb)})
		}
	}
	if m.q > 0.5 {
		// A p99 with few samples beyond it is the luck of a few requests:
		// warn, don't judge.
		fewest := math.MaxInt
		for _, r := range append(slices.Clone(j.ra), j.rb...) {
			fewest = min(fewest, m.count(r.b))
		}
		if need := analysis.MinSamplesFor(m.q); fewest < need {
			j.lc.Warnings = append(j.lc.Warnings, analysis.SampleWarning(m.name, m.q, fewest)+" (fewest in one run)")
			mv.Verdict, mv.Note = Untested, fmt.Sprintf("too few samples for p99 (fewest %d in one run, need %d)", fewest, need)
			return mv
		}
	}
	prior, source := j.prior(m, va, vb)
	if source == "default" && m.q > 0.5 {
		mv.Verdict, mv.Note = Inconclusive, "a p99's run-to-run spread needs repeats or a noise floor"
		return mv
	}
	rt, err := analysis.TestRuns(va, vb, prior, j.o.Alpha, j.o.Power)
	if err != nil {
		mv.Verdict, mv.Note = Untested, err.Error()
		return mv
	}
	df := "known variance"
	if !math.IsInf(rt.DF, 1) {
		df = fmt.Sprintf("%g df", rt.DF)
	}
	mv.Test = fmt.Sprintf("t test on log run values (%d vs %d runs, %s)", rt.NA, rt.NB, df)
	mv.P, mv.pSig = ptr(rt.P), rt.P
	mv.CI = &rt.CI
	mv.MDE = ptr(rt.MDE)
	mv.NoiseCV, mv.NoiseSource = ptr(rt.Variance.CV()), source
	if !prior.Assumed() {
		mv.NoiseDF = ptr(rt.DF)
	}
	mv.assumed = prior.Assumed()
	j.within(&mv, m)
	return mv
}

// prior is the run-to-run variance a metric's test starts from: the stored
// noise floor for this configuration and host (unless this comparison's own
// repeats show it stale), or, with neither repeats nor a floor, the default.
func (j *judging) prior(m metric, va, vb []float64) (analysis.Variance, string) {
	la, _ := analysis.LogVariance(va)
	lb, _ := analysis.LogVariance(vb)
	own := analysis.Pool(la, lb)
	var floor analysis.Variance
	if j.o.Floor != nil {
		floor = j.o.Floor.Variance(j.keyA, m.name, j.seen)
	}
	if floor.DF > 0 && own.DF > 0 && analysis.VarianceRatioP(own, floor) < 0.01 {
		j.lc.Warnings = append(j.lc.Warnings, fmt.Sprintf("%s: the stored noise floor (CV %.2f%%) is stale: these runs vary more (CV %.2f%%); it is not used",
			m.name, 100*floor.CV(), 100*own.CV()))
		floor = analysis.Variance{}
	}
	switch {
	case own.DF == 0 && floor.DF == 0:
		v := analysis.VarianceOfCV(DefaultFloorCV)
		// The default floor is host drift only; a figure of one run also
		// moves with the requests it happened to sample, which repeats
		// would have measured. Add that part, from the samples.
		if sa, ok := j.samplingVar(j.ra, m); ok {
			if sb, ok := j.samplingVar(j.rb, m); ok {
				na, nb := float64(len(j.ra)), float64(len(j.rb))
				v.Var += (sa/(na*na) + sb/(nb*nb)) / (1/na + 1/nb)
			}
		}
		return v, "default"
	case floor.DF == 0:
		return floor, "repeats"
	case own.DF == 0:
		return floor, "floor"
	}
	return floor, "repeats+floor"
}

// samplingVar sums, over a side's runs, the variance of ln(figure) that
// sampling alone gives each run: a bootstrap of the run's samples for a
// percentile (of its requests for ITL), the spread of equal time windows for
// throughput. ok is false when some run kept no samples.
func (j *judging) samplingVar(rs []run, m metric) (float64, bool) {
	boot := analysis.Bootstrap{Iterations: 200, Seed: j.o.Seed}
	total := 0.0
	for _, r := range rs {
		if r.samples == nil {
			return 0, false
		}
		var v float64
		var err error
		switch {
		case m.window >= 0:
			w := windows(r.samples, m.window)
			mean := analysis.Mean(w)
			if w == nil || !(mean > 0) {
				return 0, false
			}
			sd := analysis.StdDev(w)
			v = sd * sd / (float64(len(w)) * mean * mean)
		case m.clusters != nil:
			v, err = boot.ClusteredLogVar(thinClusters(m.clusters(r.samples)), analysis.QuantileStat(m.q))
		default:
			v, err = boot.LogVar(thin(m.samples(r.samples)), analysis.QuantileStat(m.q))
		}
		if err != nil || math.IsNaN(v) {
			return 0, false
		}
		total += v
	}
	return total, true
}

// within runs the within-run test of m on the pooled per-request samples,
// when both sides kept them: Mann-Whitney for a median (ITL on each
// request's median gap), a bootstrap of the difference for a p99 (ITL
// resampling whole requests), equal time windows for throughput of single
// runs.
func (j *judging) within(mv *MetricVerdict, m metric) {
	switch {
	case m.window >= 0:
		if len(j.ra) != 1 || len(j.rb) != 1 || j.ra[0].samples == nil || j.rb[0].samples == nil {
			return
		}
		wa, wb := windows(j.ra[0].samples, m.window), windows(j.rb[0].samples, m.window)
		if wa == nil || wb == nil {
			return
		}
		ci, err := j.boot.DiffCI(wa, wb, analysis.MeanStat)
		if err != nil {
			return
		}
		mv.WithinTest = fmt.Sprintf("bootstrap over time windows (%d vs %d)", len(wa), len(wb))
		mv.setWithin(relCI(ci, analysis.Mean(wa)))
	case m.q == 0.5:
		pa, pb := pooled(j.ra, m.samples), pooled(j.rb, m.samples)
		ma, mb, unit := pa, pb, "samples"
		if m.clusters != nil {
			ma, mb, unit = medians(pooledClusters(j.ra, m.clusters)), medians(pooledClusters(j.rb, m.clusters)), "requests' medians"
		}
		if len(ma) < analysis.MinMannWhitneySamples || len(mb) < analysis.MinMannWhitneySamples {
			return
		}
		mw, err := analysis.MannWhitneyU(mb, ma)
		if err != nil {
			return
		}
		mv.WithinTest = fmt.Sprintf("mann-whitney U (%d vs %d %s)", len(ma), len(mb), unit)
		mv.WithinP = ptr(mw.P)
		if mw.P < j.o.Alpha {
			mv.within = 1
			if mw.Z < 0 {
				mv.within = -1
			}
		}
	default:
		pa, pb := pooled(j.ra, m.samples), pooled(j.rb, m.samples)
		if len(pa) < analysis.MinSamplesFor(m.q) || len(pb) < analysis.MinSamplesFor(m.q) {
			return
		}
		var ci analysis.Interval
		var err error
		if m.clusters != nil {
			ca, cb := pooledClusters(j.ra, m.clusters), pooledClusters(j.rb, m.clusters)
			ci, err = j.boot.ClusteredDiffCI(thinClusters(ca), thinClusters(cb), analysis.QuantileStat(m.q))
			mv.WithinTest = fmt.Sprintf("request-cluster bootstrap of the p99 difference (%d vs %d requests)", len(ca), len(cb))
		} else {
			ci, err = j.boot.DiffCI(thin(pa), thin(pb), analysis.QuantileStat(m.q))
			mv.WithinTest = fmt.Sprintf("bootstrap of the p99 difference (%d vs %d samples)", len(pa), len(pb))
		}
		if err != nil {
			mv.WithinTest = ""
			return
		}
		mv.setWithin(relCI(ci, analysis.Quantile(pa, m.q)))
	}
}

func (mv *MetricVerdict) setWithin(ci *analysis.Interval) {
	mv.WithinCI = ci
	switch {
	case ci.Lo > 0:
		mv.within = 1
	case ci.Hi < 0:
		mv.within = -1
	}
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
	mv := MetricVerdict{Metric: "success_rate", Unit: "ratio", Better: "higher", pSig: math.NaN(), bar: 0.01}
	if na == 0 || nb == 0 {
		mv.Verdict, mv.Note = Untested, "no request counts"
		return mv
	}
	mv.A, mv.B = float64(sa)/float64(na), float64(sb)/float64(nb)
	mv.Change = rel(mv.A, mv.B)
	p := twoProportionP(sa, na, sb, nb)
	mv.P, mv.pSig = ptr(p), p
	// Failures are events counted one by one, binomial within a run; the
	// change must be at least one percentage point.
	mv.Test = fmt.Sprintf("two-proportion z (%d vs %d requests)", na, nb)
	mv.MDE = ptr(successMDE(sa, na, nb, o.Alpha, o.Power))
	return mv
}

// successMDE is the smallest drop of the success rate, in points, from a
// baseline of sa successes in na requests to a side of nb requests, that
// the two-proportion z test detects with the given power at alpha
// (two-sided): d = z[1-alpha/2]·sqrt(p̄q̄(1/na+1/nb)) + z[power]·sqrt(pq/na +
// p'q'/nb) with p' = p-d and p̄ their pooled rate (Fleiss), solved by
// iteration. The baseline rate is taken as (sa+1)/(na+2), so that a side
// without a single failure still states what it could have seen.
func successMDE(sa, na, nb int, alpha, power float64) float64 {
	p := float64(sa+1) / float64(na+2)
	za := analysis.StudentQuantile(1-alpha/2, math.Inf(1))
	zb := analysis.StudentQuantile(power, math.Inf(1))
	fa, fb := float64(na), float64(nb)
	d := 0.0
	for range 50 {
		q := math.Max(p-d, 0)
		pool := (fa*p + fb*q) / (fa + fb)
		next := za*math.Sqrt(pool*(1-pool)*(1/fa+1/fb)) + zb*math.Sqrt(p*(1-p)/fa+q*(1-q)/fb)
		if next = math.Min(next, p); math.Abs(next-d) < 1e-9 {
			return next
		}
		d = next
	}
	return d
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

// floorUpdates are the run-to-run variances of this level's repeats, side
// by side, for the stored noise floor.
func (j *judging) floorUpdates() []FloorUpdate {
	var out []FloorUpdate
	for _, side := range []struct {
		rs  []run
		key FloorKey
	}{{j.ra, j.keyA}, {j.rb, j.keyB}} {
		if len(side.rs) < 2 {
			continue
		}
		srcs := make([]string, len(side.rs))
		for i, r := range side.rs {
			srcs[i] = r.src
		}
		slices.Sort(srcs)
		for _, m := range runMetrics {
			v, _ := runValues(side.rs, m)
			if v == nil {
				continue
			}
			lv, err := analysis.LogVariance(v)
			if err != nil || lv.DF == 0 {
				continue
			}
			out = append(out, FloorUpdate{Key: side.key, Metric: m.name, Source: strings.Join(srcs, ","), Variance: lv})
		}
	}
	return out
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
