package metered

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// GuideLLM's audio backend: the level's recordings are written into the
// cell directory with a data file naming them in its audio column; the
// tool (a stand-in that uploads the first recording twice, as GuideLLM
// would) goes through the metering proxy, which times the transcriptions;
// the benchmark gets its audio figures from the report's records.
func TestGuideLLMAudioLevel(t *testing.T) {
	cfg := simulator.DefaultConfig()
	cfg.Model, cfg.LoadTime, cfg.Slowdown, cfg.KVCacheSpaceGiB = "openai/whisper-tiny", 10*time.Millisecond, 0.05, 1
	inst, err := engine.NewSim(cfg, nil, nil).Start(context.Background(), engine.Spec{ReadyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop(context.Background()) })
	if err := inst.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	report, _ := filepath.Abs("testdata/guidellm-audio-constant-2.5.json")
	dir := t.TempDir()
	script := `#!/bin/sh
if [ "$1" = "--version" ]; then echo "guidellm, version 0.7.3"; exit 0; fi
url=$(echo "$@" | sed -n 's/.*target=\([^, ]*\).*/\1/p')
data=$(echo "$@" | sed -n 's/.*--data kind=json_file,path=\([^ ]*\).*/\1/p')
out=$(echo "$@" | sed -n 's/.*--output kind=json,path=\([^ ]*\).*/\1/p')
clip=$(head -1 "$data" | sed -n 's/.*"audio":"\([^"]*\)".*/\1/p')
for i in 1 2; do
  curl -sf "$url/v1/audio/transcriptions" -F model=openai/whisper-tiny -F "file=@$clip" >/dev/null || exit 7
done
echo "uploaded $clip twice"
cp "` + report + `" "$out"
`
	bin := filepath.Join(dir, "guidellm")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var console strings.Builder
	g, err := NewGuideLLM(context.Background(), &guidellm.Runner{Binary: bin, Output: launch.Output{Console: &console}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	req := request(t, inst, "constant", 2.5)
	req.Cell = suite.Cell{ID: "asr-c1", Workload: "speech_5s", API: "transcriptions"}
	rec := &countingRecorder{}
	b, err := g.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatalf("%v\nconsole: %s", err, console.String())
	}
	a := b.Audio
	if a == nil || a.RTF.Count != b.Requests.Successful || a.AudioHoursPerHour == nil || a.WER != nil {
		t.Fatalf("audio figures %+v (GuideLLM keeps no transcript: no WER)", a)
	}
	if want := 9 * 3.205 / b.DurationSeconds; *a.AudioHoursPerHour < want*0.999 || *a.AudioHoursPerHour > want*1.001 {
		t.Errorf("audio-h/h %g, want %g", *a.AudioHoursPerHour, want)
	}
	if len(rec.results) != 2 || rec.results[0].Outcome != contract.OutcomeSuccess {
		t.Fatalf("proxy timed %d transcriptions: %+v", len(rec.results), rec.results)
	}
	rows, err := os.ReadFile(filepath.Join(req.LogDir, "guidellm-audio.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(strings.SplitN(string(rows), "\n", 2)[0]), &row); err != nil || !filepath.IsAbs(row["audio"]) {
		t.Errorf("data row %q: %v", rows, err)
	}
	if _, err := os.Stat(row["audio"]); err != nil {
		t.Errorf("recording: %v", err)
	}
	// In a container the rows point under /results, the mounted cell directory.
	g.runner.Docker = fakeDocker{}
	c, err := g.Config(req, "http://proxy", req.LogDir)
	if err != nil || c.Data != "kind=json_file,path=/results/guidellm-audio.jsonl" || c.RequestFormat != guidellm.FormatTranscriptions {
		t.Errorf("container config %+v %v", c, err)
	}
	rows, _ = os.ReadFile(filepath.Join(req.LogDir, "guidellm-audio.jsonl"))
	if !strings.HasPrefix(string(rows), `{"audio":"/results/audio/`) {
		t.Errorf("container rows %s", rows)
	}
}

// fakeDocker marks a Runner as running GuideLLM in a container; Config
// never calls it.
type fakeDocker struct{ engine.DockerAPI }
