package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/simtest"
)

// runner bench --api transcriptions sends an audio workload (or one's own
// manifest) to a Whisper server and reports the speech figures.
func TestBenchTranscriptions(t *testing.T) {
	cfg := simulator.DefaultConfig()
	cfg.Model, cfg.LoadTime, cfg.KVCacheSpaceGiB, cfg.Slowdown = "openai/whisper-tiny", 0, 1, 0.2
	url := simtest.Start(t, cfg)
	dir := t.TempDir()

	// A manifest of one's own: two clips written out, one without a text.
	clips, _ := audio.Speech()
	for _, c := range clips[:2] {
		if err := os.WriteFile(filepath.Join(dir, c.Name), c.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := filepath.Join(dir, "mine.jsonl")
	os.WriteFile(manifest, []byte(`{"file":"`+clips[0].Name+`","text":"`+clips[0].Text+`"}`+"\n"+`{"file":"`+clips[1].Name+`"}`+"\n"), 0o644)

	for _, src := range [][]string{{"--workload", "speech_5s"}, {"--data", manifest}} {
		out := filepath.Join(dir, "summary.json")
		args := append([]string{"bench", "--target", url, "--api", "transcriptions", "--profile", "concurrent", "--rate", "2",
			"--max-seconds", "1", "--output", out, "--web.listen-address", "127.0.0.1:0"}, src...)
		code, _, stderr := runCmd(args, nil)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", src, code, stderr)
		}
		f, _ := os.Open(out)
		sum, err := results.ReadSummary(f)
		f.Close()
		if err != nil || len(sum.Benchmarks) != 1 {
			t.Fatalf("%v: %v", src, err)
		}
		b := sum.Benchmarks[0]
		if a := b.Audio; a == nil || a.RTF.Count == 0 || a.WER == nil || a.Scored == 0 || a.Scored == b.Requests.Successful && src[0] == "--data" {
			t.Errorf("%v: audio %+v of %d successful", src, b.Audio, b.Requests.Successful)
		}
		if !strings.Contains(stderr, "RTF p50") {
			t.Errorf("%v: headline lacks the speech figures:\n%s", src, stderr)
		}
	}
	code, _, stderr := runCmd([]string{"bench", "--target", url, "--api", "transcriptions", "--profile", "concurrent", "--rate", "1", "--max-seconds", "1"}, nil)
	if code != exitUsage || !strings.Contains(stderr, "audio workload") {
		t.Errorf("no recordings: exit %d: %s", code, stderr)
	}
}
