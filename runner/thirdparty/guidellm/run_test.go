package guidellm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// fakeGuideLLM writes a stand-in for the guidellm binary: it prints what
// GuideLLM prints with --disable-console-interactive and copies the fixture
// report to the --output path, as the real tool does at the end of a run.
func fakeGuideLLM(t *testing.T, exitCode int) string {
	t.Helper()
	dir := t.TempDir()
	fixture, _ := filepath.Abs("testdata/v0.7.3-sweep.json")
	script := `#!/bin/sh
if [ "$1" = "--version" ]; then echo "guidellm, version 0.7.3"; exit 0; fi
echo "$@" > "` + dir + `/argv"
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--output" ]; then out="${a#kind=json,path=}"; fi
  prev="$a"
done
echo "Creating backend..."
echo "Backend openai_http connected to http://127.0.0.1:9470" >&2
echo "Benchmarks Info: 3 benchmarks"
if [ ` + itoa(exitCode) + ` -ne 0 ]; then echo "Error: max_errors reached" >&2; exit ` + itoa(exitCode) + `; fi
cp "` + fixture + `" "$out"
`
	p := filepath.Join(dir, "guidellm")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunnerHost(t *testing.T) {
	bin := fakeGuideLLM(t, 0)
	var console strings.Builder
	r := &Runner{Binary: bin, Output: launchOutput(&console)}
	v, err := r.Version(context.Background())
	if err != nil || v != "0.7.3" {
		t.Fatalf("version %q, %v", v, err)
	}
	out := filepath.Join(t.TempDir(), "guidellm.json")
	s, err := r.Run(context.Background(), Config{Target: "http://127.0.0.1:9470", Profile: "sweep", PromptTokens: 256, OutputTokens: 32, OutputPath: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Benchmarks) != 3 || s.Source != out || s.Loadgen != "guidellm" {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(console.String(), "guidellm | Creating backend...\n") || !strings.Contains(console.String(), "guidellm | Backend openai_http connected") {
		t.Errorf("console %q", console.String())
	}
	argv, _ := os.ReadFile(filepath.Join(filepath.Dir(bin), "argv"))
	if !strings.HasPrefix(string(argv), "run --backend kind=openai_http,target=http://127.0.0.1:9470 --data kind=synthetic_text,prompt_tokens=256,output_tokens=32 --profile kind=sweep") {
		t.Errorf("argv %s", argv)
	}
}

// With an API key the tool reads its backend from a scenario file that
// exists, private, for the run only; the key is never on its command line.
func TestRunnerKeyInScenarioFile(t *testing.T) {
	bin := fakeGuideLLM(t, 0)
	dir := filepath.Dir(bin)
	// The stand-in keeps a copy of the scenario file and its mode.
	script, _ := os.ReadFile(bin)
	os.WriteFile(bin, []byte(strings.Replace(string(script), `echo "$@" > "`+dir+`/argv"`,
		`echo "$@" > "`+dir+`/argv"; cp "$3" "`+dir+`/scenario"; stat -c %a "$3" > "`+dir+`/mode"`, 1)), 0o755)
	r := &Runner{Binary: bin}
	out := filepath.Join(t.TempDir(), "guidellm.json")
	if _, err := r.Run(context.Background(), Config{Target: "http://127.0.0.1:9470", APIKey: "sk-secret", Profile: "sweep", PromptTokens: 1, OutputTokens: 1, OutputPath: out}); err != nil {
		t.Fatal(err)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	scenario, _ := os.ReadFile(filepath.Join(dir, "scenario"))
	mode, _ := os.ReadFile(filepath.Join(dir, "mode"))
	if strings.Contains(string(argv), "sk-secret") || !strings.HasPrefix(string(argv), "run --scenario /") {
		t.Errorf("argv %s", argv)
	}
	if !strings.Contains(string(scenario), `"api_key":"sk-secret"`) || strings.TrimSpace(string(mode)) != "600" {
		t.Errorf("scenario %s mode %s", scenario, mode)
	}
	used := strings.Fields(string(argv))[2]
	if _, err := os.Stat(filepath.Dir(used)); !os.IsNotExist(err) {
		t.Errorf("the scenario's directory %s outlived the run: %v", filepath.Dir(used), err)
	}
}

func TestRunnerHostFailure(t *testing.T) {
	r := &Runner{Binary: fakeGuideLLM(t, 4)}
	_, err := r.Run(context.Background(), Config{Target: "http://p", Profile: "sweep", PromptTokens: 1, OutputTokens: 1, OutputPath: filepath.Join(t.TempDir(), "x.json")})
	if err == nil || !strings.HasPrefix(err.Error(), "guidellm: ") || !strings.Contains(err.Error(), "exited with code 4") || !strings.Contains(err.Error(), "Error: max_errors reached") {
		t.Errorf("err = %v", err)
	}
}

func launchOutput(w *strings.Builder) launch.Output {
	return launch.Output{Console: w, Prefix: "guidellm"}
}
