package calibrate

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
)

var (
	comparisons = flag.Int("comparisons", 0, "comparisons per scenario for TestCalibrationTable (0: the quick check CI runs)")
	hostCV      = flag.Float64("host-cv", 0, "run-to-run host drift of the modelled runs (0: the model's default)")
	quiet       = flag.Bool("quiet", false, "model a quiet host: drift only, no hiccups from other tenants")
	only        = flag.String("only", "", "run only the scenarios whose name contains this")
	simRuns     = flag.String("simulator-runs", "", "directory of real simulator runs (simruns.sh) for TestModelsBesideSimulatorRuns")
)

// simulator is what eight real runs of the simulator gave (simruns.sh,
// docs/analysis.md): per level and figure, the median over the runs and the
// standard deviation of the runs' logarithms.
var simulator = map[string]map[string][2]float64{
	"concurrent-2": {"requests/s": {2.444, 0.0641}, "output tok/s": {79.33, 0.0667}, "TTFT p50": {120, 0.1091}, "ITL p50": {20.36, 0.0171},
		"TPOT p50": {22.07, 0.0654}, "E2E p50": {799.5, 0.0456}, "ITL p99": {70.67, 0.1273}},
	"concurrent-8": {"requests/s": {6.444, 0.0632}, "output tok/s": {203.3, 0.0460}, "TTFT p50": {499.6, 0.0385}, "ITL p50": {22.15, 0.0151},
		"TPOT p50": {24.53, 0.0606}, "E2E p50": {1230, 0.0466}, "ITL p99": {75.65, 0.3680}},
}

var figures = []struct {
	name string
	get  func(results.Benchmark) results.Figure
}{
	{"requests/s", func(b results.Benchmark) results.Figure { return b.RequestsPerSecond }},
	{"output tok/s", func(b results.Benchmark) results.Figure { return b.OutputTokensPerSecond }},
	{"TTFT p50", func(b results.Benchmark) results.Figure { return b.TTFT.P50 }},
	{"ITL p50", func(b results.Benchmark) results.Figure { return b.ITL.P50 }},
	{"TPOT p50", func(b results.Benchmark) results.Figure { return b.TPOT.P50 }},
	{"E2E p50", func(b results.Benchmark) results.Figure { return b.E2E.P50 }},
	{"ITL p99", func(b results.Benchmark) results.Figure { return b.ITL.P99 }},
}

// model is Default as the flags -host-cv and -quiet change it.
func model() Model {
	m := Default()
	if *hostCV > 0 {
		m.HostCV = *hostCV
	}
	if *quiet {
		m.HiccupRate = 0
	}
	return m
}

// TestModelMatchesTheSimulator: sets of eight modelled runs of the default
// model land on the real simulator's figures (medians within 10%, ITL p99
// within 15%) and spread between runs as it did (the median over sets of the
// runs' log standard deviation within a factor of two of the real one). It
// prints the comparison docs/analysis.md shows.
func TestModelMatchesTheSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("models 80 runs")
	}
	got := modelled(t, model())
	var tab strings.Builder
	fmt.Fprintln(&tab, "| level | figure | simulator: median | model: median | simulator: run-to-run log sd | model: log sd, median of sets [range] |")
	fmt.Fprintln(&tab, "|---|---|---|---|---|---|")
	for _, level := range []string{"concurrent-2", "concurrent-8"} {
		for _, f := range figures {
			g, want := got[level][f.name], simulator[level][f.name]
			fmt.Fprintf(&tab, "| %s | %s | %.4g | %.4g | %.1f%% | %.1f%% [%.1f, %.1f] |\n", level, f.name, want[0], g.median, 100*want[1], 100*g.sd,
				100*g.sdMin, 100*g.sdMax)
			tol := 0.10
			if f.name == "ITL p99" {
				tol = 0.15
			}
			if math.Abs(g.median/want[0]-1) > tol {
				t.Errorf("%s %s: modelled median %.4g, simulator %.4g", level, f.name, g.median, want[0])
			}
			if g.sd < want[1]/2 || g.sd > 2*want[1] {
				t.Errorf("%s %s: modelled run-to-run log sd %.2f%%, simulator %.2f%%", level, f.name, 100*g.sd, 100*want[1])
			}
		}
	}
	t.Log("\n" + tab.String())
}

// TestModelsBesideSimulatorRuns prints, for real simulator runs that
// simruns.sh measured (-simulator-runs DIR), their medians and run-to-run
// spread beside those of the loaded and the quiet host models, so that the
// noise of a host at a given time can be read against the models. It
// reports; it does not judge.
func TestModelsBesideSimulatorRuns(t *testing.T) {
	if *simRuns == "" {
		t.Skip("needs -simulator-runs DIR")
	}
	want := measured(t, *simRuns)
	loaded := modelled(t, Default())
	q := Default()
	q.HiccupRate = 0
	quietM := modelled(t, q)
	var tab strings.Builder
	fmt.Fprintln(&tab, "| level | figure | runs: median | runs: log sd | loaded model: median, log sd | quiet model: median, log sd |")
	fmt.Fprintln(&tab, "|---|---|---|---|---|---|")
	for _, level := range []string{"concurrent-2", "concurrent-8"} {
		for _, f := range figures {
			w, l, qq := want[level][f.name], loaded[level][f.name], quietM[level][f.name]
			fmt.Fprintf(&tab, "| %s | %s | %.4g | %.1f%% | %.4g, %.1f%% | %.4g, %.1f%% |\n", level, f.name, w[0], 100*w[1], l.median, 100*l.sd, qq.median, 100*qq.sd)
		}
	}
	t.Log("\n" + tab.String())
}

// spread is a modelled figure over sets of eight runs: the median of the
// sets' medians, and the median and range of the sets' log standard
// deviations.
type spread struct{ median, sd, sdMin, sdMax float64 }

// modelled runs ten sets of eight runs of m.
func modelled(t *testing.T, m Model) map[string]map[string]spread {
	t.Helper()
	const sets, runs = 10, 8
	bench := map[string][][]results.Benchmark{}
	for set := range sets {
		for i := range runs {
			c, err := m.Run(fmt.Sprintf("r%d", i), uint64(set*100+i), 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range c.Summary.Benchmarks {
				if len(bench[b.Level]) < sets {
					bench[b.Level] = make([][]results.Benchmark, sets)
				}
				bench[b.Level][set] = append(bench[b.Level][set], b)
			}
		}
	}
	out := map[string]map[string]spread{}
	for level, byset := range bench {
		out[level] = map[string]spread{}
		for _, f := range figures {
			var meds, sds []float64
			for _, set := range byset {
				v := make([]float64, len(set))
				l := make([]float64, len(set))
				for i, b := range set {
					x, ok := f.get(b).Get()
					if !ok {
						t.Fatalf("%s %s absent in a modelled run", level, f.name)
					}
					v[i], l[i] = x, math.Log(x)
				}
				meds = append(meds, analysis.Quantile(v, 0.5))
				sds = append(sds, analysis.StdDev(l))
			}
			out[level][f.name] = spread{analysis.Quantile(meds, 0.5), analysis.Quantile(sds, 0.5), analysis.Quantile(sds, 0), analysis.Quantile(sds, 1)}
		}
	}
	return out
}

// measured reads the real runs simruns.sh wrote under dir (r1, r2, ...):
// per level and figure, the median over the runs and the standard
// deviation of their logarithms. It logs them in the form of simulator.
func measured(t *testing.T, dir string) map[string]map[string][2]float64 {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "r*", "summary.json"))
	if err != nil || len(paths) < 3 {
		t.Fatalf("%s: want three or more runs (r*/summary.json), found %d", dir, len(paths))
	}
	vals := map[string]map[string][]float64{}
	for _, p := range paths {
		cells, err := compare.Loader{}.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range cells[0].Summary.Benchmarks {
			if vals[b.Level] == nil {
				vals[b.Level] = map[string][]float64{}
			}
			for _, f := range figures {
				x, ok := f.get(b).Get()
				if !ok {
					t.Fatalf("%s: %s %s absent", p, b.Level, f.name)
				}
				vals[b.Level][f.name] = append(vals[b.Level][f.name], x)
			}
		}
	}
	out := map[string]map[string][2]float64{}
	var lit strings.Builder
	fmt.Fprintf(&lit, "%d runs in %s:\n", len(paths), dir)
	for _, level := range []string{"concurrent-2", "concurrent-8"} {
		if vals[level] == nil {
			t.Fatalf("%s: no level %s", dir, level)
		}
		out[level] = map[string][2]float64{}
		fmt.Fprintf(&lit, "\t%q: {", level)
		for i, f := range figures {
			v := vals[level][f.name]
			l := make([]float64, len(v))
			for j, x := range v {
				l[j] = math.Log(x)
			}
			out[level][f.name] = [2]float64{analysis.Quantile(v, 0.5), analysis.StdDev(l)}
			if i > 0 {
				lit.WriteString(", ")
			}
			fmt.Fprintf(&lit, "%q: {%.4g, %.4f}", f.name, out[level][f.name][0], out[level][f.name][1])
		}
		lit.WriteString("},\n")
	}
	t.Log(lit.String())
	return out
}

// The scenarios of the table in docs/analysis.md.
func scenarios() []Scenario {
	return []Scenario{
		{Name: "1 run a side, default floor", Runs: 1, Slowdown: 1},
		{Name: "3 runs a side", Runs: 3, Slowdown: 1},
		{Name: "3 runs a side + floor (8 df)", Runs: 3, Slowdown: 1, FloorRuns: 12},
		{Name: "5 runs a side", Runs: 5, Slowdown: 1},
		{Name: "10 runs a side", Runs: 10, Slowdown: 1},
	}
}

// TestCalibrationTable runs A/A comparisons (nothing changed) and
// comparisons against a 10% slower engine, at alpha 0.05 and 0.01, and
// prints the table of docs/analysis.md. Without -comparisons it runs a
// quick check: 100 A/A comparisons of three runs a side, without the
// per-request records (the within-run tests can only withhold a regression,
// so this rate bounds the full procedure's), must not exceed the
// false-regression rate a binomial bound allows at alpha 0.05.
//
//	go test ./runner/compare/calibrate -run TestCalibrationTable -count=1 -v -args -comparisons 400
func TestCalibrationTable(t *testing.T) {
	m := model()
	if *comparisons == 0 {
		if testing.Short() {
			t.Skip("models 600 runs")
		}
		m.Samples = false
		o := compare.Options{Alpha: 0.05, Iterations: 200, Seed: 1}
		aa, err := m.Measure(Scenario{Name: "3 runs a side", Runs: 3, Slowdown: 1}, 100, 1, o)
		if err != nil {
			t.Fatal(err)
		}
		// At a true rate of 5%, 100 comparisons give 12 or more false
		// regressions with probability 0.4%.
		if aa.Regression > 11 {
			t.Errorf("%d of 100 A/A comparisons called a regression at alpha 0.05", aa.Regression)
		}
		t.Logf("A/A, 3 runs a side, alpha 0.05: %d regressions, %d inconclusive in 100", aa.Regression, aa.Inconclusive)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "host drift CV %.1f%%, hiccups at %.1f%% of steps (mean %s, spread %.1f), %d comparisons per row\n\n",
		100*m.HostCV, 100*m.HiccupRate, m.HiccupMean, m.HiccupSpread, *comparisons)
	fmt.Fprintln(&b, "| runs | alpha | A/A: regression (exit 3) | A/A: inconclusive (exit 5) | 10% slower: regression (exit 3) | throughput caught | TPOT p50 caught | median MDE at concurrent-8 |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|")
	for _, sc := range scenarios() {
		if !strings.Contains(sc.Name, *only) {
			continue
		}
		for _, alpha := range []float64{0.05, 0.01} {
			o := compare.Options{Alpha: alpha, Iterations: 200, Seed: 1}
			aa, err := m.Measure(sc, *comparisons, 1, o)
			if err != nil {
				t.Fatal(err)
			}
			slow := sc
			slow.Slowdown = 1.1
			pw, err := m.Measure(slow, *comparisons, 2, o)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "| %s | %g | %s | %s | %s | %s | %s | %.1f%% |\n", sc.Name, alpha, rate(aa, aa.Regression), rate(aa, aa.Inconclusive),
				rate(pw, pw.Regression), rate(pw, pw.Detected["output_tokens_per_second"]), rate(pw, pw.Detected["tpot_p50"]), 100*aa.MDE)
			if aa.Regression > 0 {
				t.Logf("%s, alpha %g: the A/A false regressions by metric: %v", sc.Name, alpha, aa.Detected)
			}
		}
	}
	t.Log("\n" + b.String())
}

// rate prints n of the tally's comparisons as a percentage with its 95%
// Wilson interval.
func rate(t Tally, n int) string {
	p, lo, hi := wilson(n, t.Comparisons)
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*p, 100*lo, 100*hi)
}

func wilson(k, n int) (p, lo, hi float64) {
	const z = 1.959964
	fn := float64(n)
	p = float64(k) / fn
	den := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / den
	h := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / den
	return p, math.Max(0, c-h), math.Min(1, c+h)
}
