package main

import (
	"encoding/json"
	"path/filepath"
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

func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := writeSynthetic(t, filepath.Join(dir, "base", "cell"), comparetest.Bench{Seed: 1, N: 600})
	same := writeSynthetic(t, filepath.Join(dir, "same", "cell"), comparetest.Bench{Seed: 2, N: 600})
	slow := writeSynthetic(t, filepath.Join(dir, "slow", "cell"), comparetest.Bench{Seed: 3, N: 600, TTFTMs: 300, ITLMs: 65})
	other := writeSynthetic(t, filepath.Join(dir, "other", "cell"), comparetest.Bench{Seed: 4, Model: "llama"})

	code, out, errs := runCLI(t, nil, "compare", base, same)
	if code != exitOK || !strings.Contains(out, "no regression") {
		t.Errorf("same distribution: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "compare", "--core-hour-price", "0.04", base, slow)
	if code != exitRegression || !strings.Contains(out, "regressed") || !strings.Contains(out, "per 1M output tokens") {
		t.Errorf("degraded: exit %d, want 3\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, nil, "compare", "--json", base, slow)
	var rep struct {
		Regressions int
		Comparisons []struct {
			Cells []struct {
				Levels []struct {
					Metrics []struct{ Metric, Verdict string }
				}
			}
		}
	}
	if code != exitRegression || json.Unmarshal([]byte(out), &rep) != nil || rep.Regressions == 0 {
		t.Errorf("--json: exit %d, %d regressions\n%s", code, rep.Regressions, out)
	}
	code, _, errs = runCLI(t, nil, "compare", base, other)
	if code != exitUsage || !strings.Contains(errs, "model qwen3-0.6b vs llama") || !strings.Contains(errs, "--force") {
		t.Errorf("mismatch: exit %d, want 2: %s", code, errs)
	}
	if code, _, _ = runCLI(t, nil, "compare", "--force", base, other); code == exitUsage {
		t.Errorf("--force: exit %d", code)
	}
	bare := writeSynthetic(t, filepath.Join(dir, "bare", "cell"), comparetest.Bench{Seed: 6, N: 600, NoRequests: true})
	if code, _, errs = runCLI(t, nil, "compare", "--fail-untested", base, bare); code != exitUsage || !strings.Contains(errs, "could not be tested") {
		t.Errorf("--fail-untested against a summary without records: exit %d: %s", code, errs)
	}
	if code, _, errs = runCLI(t, nil, "compare", "--fail-untested", base, same); code != exitOK {
		t.Errorf("--fail-untested with everything tested: exit %d: %s", code, errs)
	}
	if code, _, _ = runCLI(t, nil, "compare", base); code != exitUsage {
		t.Errorf("one input: exit %d, want 2", code)
	}
	if code, _, _ = runCLI(t, nil, "compare", base, filepath.Join(dir, "nope")); code != exitUsage {
		t.Errorf("missing input: exit %d, want 2", code)
	}
	code, out, errs = runCLI(t, nil, "compare", "--cross", base, writeSynthetic(t, filepath.Join(dir, "gl", "cell"), comparetest.Bench{Seed: 5, Loadgen: "guidellm"}))
	if code != exitOK || !strings.Contains(out, "guidellm: ITL: per-request average") {
		t.Errorf("--cross: exit %d\n%s%s", code, out, errs)
	}
}
