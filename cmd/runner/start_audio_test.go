package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
)

// TestStartAudio runs the built-in audio suite on the engine simulator
// (whisper-tiny, the speech clips, short levels): every level uploads
// recordings and reports RTF, audio-hours and files per hour and the
// transcripts' error rates; the suite summary carries the audio report and
// runner results prints both.
func TestStartAudio(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the audio suite")
	}
	dir := t.TempDir()
	start := time.Now()
	code, out, errOut := runCLI(t, nil, "start", "--suite", "audio", "--engine", "sim", "--models", "openai/whisper-tiny",
		"--workloads", "speech", "--cores", "32", "--max-seconds", "1.5", "--results", dir,
		"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t)))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	t.Logf("audio suite with 1.5 s levels took %s", time.Since(start))
	runs, _ := filepath.Glob(filepath.Join(dir, "audio", "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	runDir := filepath.Dir(runs[0])
	var sum results.Summary
	b, err := os.ReadFile(filepath.Join(runDir, "openai__whisper-tiny_speech_32c", "summary.json"))
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("summary: %v", err)
	}
	if sum.API != "transcriptions" || len(sum.Benchmarks) != 8 {
		t.Fatalf("api %q, %d levels", sum.API, len(sum.Benchmarks))
	}
	for _, bm := range sum.Benchmarks {
		a := bm.Audio
		if a == nil || bm.Requests.Successful == 0 || a.RTF.Count != bm.Requests.Successful || a.WER == nil || a.AudioHoursPerHour == nil {
			t.Errorf("%s: requests %+v audio %+v", bm.Level, bm.Requests, a)
			continue
		}
		if *a.WER <= 0 || *a.WER > 0.3 || fv(a.RTF.P50) <= 0 || *a.FilesPerHour <= 0 {
			t.Errorf("%s: WER %g RTF %+v files/h %g", bm.Level, *a.WER, a.RTF, *a.FilesPerHour)
		}
	}
	var rep orchestrate.Report
	b, _ = os.ReadFile(filepath.Join(runDir, "suite-summary.json"))
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Audio) != 1 {
		t.Fatalf("suite summary: %v %s", err, b)
	}
	r := rep.Audio[0]
	if r.P95TargetSeconds != 2 || r.WER == nil || r.AudioHoursPerHour == nil || r.Scored == 0 {
		t.Errorf("audio report %+v", r)
	}
	// Short levels rarely gather the 100 samples a p95 needs: a missing
	// maximum is null, and a present one met the target.
	if r.MaxConcurrency != nil && (*r.E2EP95Seconds > 2 || r.RTFP50 == nil) {
		t.Errorf("max concurrency %d at %s: p95 %v s", *r.MaxConcurrency, r.Level, *r.E2EP95Seconds)
	}
	for _, want := range []string{"speech to text", "audio report", "RTF P50", "MAX CONCURRENCY"} {
		if !strings.Contains(out, want) {
			t.Errorf("the run's table lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, nil, "results", runDir)
	if code != 0 || !strings.Contains(out, "audio report") {
		t.Errorf("runner results: %d\n%s", code, out)
	}
}
