package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/compare/comparetest"
)

func writeSynthetic(t *testing.T, dir string, bs ...comparetest.Bench) string {
	t.Helper()
	if err := comparetest.WriteCell(dir, bs...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// repeats writes n repeats of b under dir/<i>/cell and returns them joined
// with commas, as compare takes repeats.
func repeats(t *testing.T, dir string, n int, b comparetest.Bench) string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		r := b
		r.Seed += uint64(i) * 101
		out = append(out, writeSynthetic(t, filepath.Join(dir, filepath.Base(dir)+"-"+strconv.Itoa(i), "cell"), r)) // run ids are unique
	}
	return strings.Join(out, ",")
}

func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := repeats(t, filepath.Join(dir, "base"), 3, comparetest.Bench{Seed: 1, N: 800})
	same := repeats(t, filepath.Join(dir, "same"), 3, comparetest.Bench{Seed: 2, N: 800})
	slow := repeats(t, filepath.Join(dir, "slow"), 3, comparetest.Bench{Seed: 3, N: 200, TTFTMs: 300, ITLMs: 65})
	late := repeats(t, filepath.Join(dir, "late"), 3, comparetest.Bench{Seed: 4, N: 200, TTFTMs: 300, ITLMs: 65, Invalid: true})
	other := writeSynthetic(t, filepath.Join(dir, "other", "cell"), comparetest.Bench{Seed: 4, Model: "llama"})
	one := strings.Split(base, ",")[0]

	code, out, errs := runCLI(t, nil, "compare", base, same)
	if code != exitOK || !strings.Contains(out, "no regression") {
		t.Errorf("same configuration, 3 repeats each: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "compare", "--core-hour-price", "0.04", base, slow)
	if code != exitRegression || !strings.Contains(out, "regressed") || !strings.Contains(out, "per 1M output tokens") {
		t.Errorf("degraded: exit %d, want 3\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, nil, "compare", "--json", base, slow)
	var rep struct {
		Outcome     string
		Regressions int
		Comparisons []struct {
			Cells []struct {
				Levels []struct {
					Metrics []struct {
						Metric, Verdict string
						MDE             *float64
					}
				}
			}
		}
	}
	if code != exitRegression || json.Unmarshal([]byte(out), &rep) != nil || rep.Regressions == 0 || rep.Outcome != "regression" {
		t.Errorf("--json: exit %d, %d regressions, outcome %q\n%s", code, rep.Regressions, rep.Outcome, out)
	}
	if m := rep.Comparisons[0].Cells[0].Levels[0].Metrics[0]; m.MDE == nil {
		t.Errorf("--json: %s has no minimal detectable effect", m.Metric)
	}
	code, out, errs = runCLI(t, nil, "compare", one, strings.Split(same, ",")[0])
	if code != exitInconclusive || !strings.Contains(out, "INCONCLUSIVE") || !strings.Contains(errs, "inconclusive") {
		t.Errorf("one run each, no floor: exit %d, want 5\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "compare", base, late)
	if code != exitInconclusive || !strings.Contains(out, "client-bound") {
		t.Errorf("client-bound side: exit %d, want 5\n%s%s", code, out, errs)
	}
	code, _, errs = runCLI(t, nil, "compare", one, other)
	if code != exitUsage || !strings.Contains(errs, "model qwen3-0.6b vs llama") || !strings.Contains(errs, "--force") {
		t.Errorf("mismatch: exit %d, want 2: %s", code, errs)
	}
	if code, _, _ = runCLI(t, nil, "compare", "--force", one, other); code == exitUsage {
		t.Errorf("--force: exit %d", code)
	}
	// A hundred requests a run: the p99s cannot be tested (and the medians
	// only detect large changes: --max-mde allows them).
	few := repeats(t, filepath.Join(dir, "few"), 3, comparetest.Bench{Seed: 6, N: 100})
	fewToo := repeats(t, filepath.Join(dir, "few2"), 3, comparetest.Bench{Seed: 7, N: 100})
	if code, _, errs = runCLI(t, nil, "compare", "--max-mde", "0.5", few, fewToo); code != exitOK {
		t.Errorf("untested tails alone: exit %d: %s", code, errs)
	}
	if code, _, errs = runCLI(t, nil, "compare", "--max-mde", "0.5", "--fail-untested", few, fewToo); code != exitUsage || !strings.Contains(errs, "could not be tested") {
		t.Errorf("--fail-untested with untested tails: exit %d: %s", code, errs)
	}
	if code, _, errs = runCLI(t, nil, "compare", "--fail-untested", base, same); code != exitOK {
		t.Errorf("--fail-untested with everything tested: exit %d: %s", code, errs)
	}
	if code, _, _ = runCLI(t, nil, "compare", one); code != exitUsage {
		t.Errorf("one input: exit %d, want 2", code)
	}
	if code, _, _ = runCLI(t, nil, "compare", one, filepath.Join(dir, "nope")); code != exitUsage {
		t.Errorf("missing input: exit %d, want 2", code)
	}
	code, out, errs = runCLI(t, nil, "compare", "--cross", one, writeSynthetic(t, filepath.Join(dir, "gl", "cell"), comparetest.Bench{Seed: 5, Loadgen: "guidellm"}))
	if code != exitOK || !strings.Contains(out, "guidellm: ITL: per-request average") {
		t.Errorf("--cross: exit %d\n%s%s", code, out, errs)
	}
}

// TestCompareNoiseFloor: a comparison of repeats records the run-to-run
// variance; later, one run a side is judged against it instead of being
// inconclusive.
func TestCompareNoiseFloor(t *testing.T) {
	dir := t.TempDir()
	floor := filepath.Join(dir, "floor.json")
	base := repeats(t, filepath.Join(dir, "base"), 3, comparetest.Bench{Seed: 1, N: 800})
	same := repeats(t, filepath.Join(dir, "same"), 3, comparetest.Bench{Seed: 2, N: 800})
	if code, _, errs := runCLI(t, nil, "compare", "--update-noise-floor", base, same); code != exitUsage || !strings.Contains(errs, "--noise-floor") {
		t.Errorf("--update-noise-floor alone: exit %d: %s", code, errs)
	}
	code, _, errs := runCLI(t, nil, "compare", "--noise-floor", floor, "--update-noise-floor", base, same)
	if code != exitOK || !strings.Contains(errs, "added to the noise floor") {
		t.Fatalf("recording: exit %d: %s", code, errs)
	}
	a := writeSynthetic(t, filepath.Join(dir, "a", "cell"), comparetest.Bench{Seed: 21, N: 800})
	b := writeSynthetic(t, filepath.Join(dir, "b", "cell"), comparetest.Bench{Seed: 22, N: 800})
	// Four degrees of freedom from one comparison: enough to judge, though
	// a 1.6% run-to-run CV of the TTFT median leaves an MDE near 15%.
	code, out, errs := runCLI(t, nil, "compare", "--noise-floor", floor, "--max-mde", "0.2", a, b)
	if code != exitOK || !strings.Contains(out, " floor ") {
		t.Errorf("one run each against the floor: exit %d\n%s%s", code, out, errs)
	}
	if err := os.WriteFile(floor, []byte(`{"schema_version": 1, "entries": [], "extra": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, nil, "compare", "--noise-floor", floor, a, b); code != exitUsage || !strings.Contains(errs, "extra") {
		t.Errorf("bad floor file: exit %d: %s", code, errs)
	}
}
