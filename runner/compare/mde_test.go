package compare

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestedMetricStatesItsMDE: in a comparison of three runs a side,
// every metric a test judged carries its minimal detectable effect, printed
// in its row — a relative change, or points for the success rate.
func TestEveryTestedMetricStatesItsMDE(t *testing.T) {
	dir := t.TempDir()
	a := side(t, filepath.Join(dir, "a"), 3, bench{Seed: 1, N: 600})
	b := side(t, filepath.Join(dir, "b"), 3, bench{Seed: 2, N: 600})
	rep, err := Compare([]Side{a, b}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	out := text(rep)
	tested := 0
	for _, m := range rep.Comparisons[0].Cells[0].Levels[0].Metrics {
		if m.Test == "" {
			continue
		}
		tested++
		if m.MDE == nil || !(*m.MDE > 0) {
			t.Errorf("%s was tested (%s) but states no MDE", m.Metric, m.Test)
			continue
		}
		row := ""
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == m.Metric {
				row = line
			}
		}
		if !strings.Contains(row, m.MDEText()) {
			t.Errorf("%s: row lacks its MDE %s: %q", m.Metric, m.MDEText(), row)
		}
	}
	if tested < 8 {
		t.Errorf("only %d metrics tested:\n%s", tested, out)
	}
	if s := metricOf(t, rep, "success_rate").MDEText(); !strings.HasSuffix(s, " pt") {
		t.Errorf("success rate MDE %q, want points", s)
	}
}

// TestSuccessMDEHasItsPower: two sides of 500 requests, the baseline
// succeeding 95% of the time and the other by the stated MDE less, are told
// apart by the two-proportion test at alpha 0.01 in about 80% of draws.
func TestSuccessMDEHasItsPower(t *testing.T) {
	const n, p0, alpha, power, draws = 500, 0.95, 0.01, 0.8, 4000
	mde := successMDE(int(n*p0)-1, n, n, alpha, power) // (sa+1)/(n+2) ≈ 0.95
	if mde < 0.02 || mde > 0.06 {
		t.Fatalf("MDE %.4f of 500 vs 500 requests near 95%% success", mde)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	binom := func(p float64) int {
		k := 0
		for range n {
			if rng.Float64() < p {
				k++
			}
		}
		return k
	}
	hit := 0
	for range draws {
		if twoProportionP(binom(p0), n, binom(p0-mde), n) <= alpha {
			hit++
		}
	}
	// The normal approximation is close at these counts: 4000 draws give
	// the rate within ±2 points (2 sd), the approximation another point.
	if got := float64(hit) / draws; math.Abs(got-power) > 0.04 {
		t.Errorf("a drop of the MDE (%.2f points) detected in %.1f%% of draws, want about %.0f%%", 100*mde, 100*got, 100*power)
	}
	if m := successMDE(500, 500, 500, alpha, power); !(m > 0 && m < 0.04) {
		t.Errorf("sides without a failure: MDE %.4f, want a small positive difference", m)
	}
}
