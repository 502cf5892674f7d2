package metered

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/thirdparty/command"
	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// poster is a command spec running the post stand-in (STANDIN=post): it
// sends n of the level's bodies to the proxy one after another.
func poster(t *testing.T, n int, report, extra string) command.Spec {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return command.Spec{Name: "poster", Report: report,
		Run: fmt.Sprintf("STANDIN=post %s {{q .Endpoint}} {{q .BodiesFile}} %d%s", shellWord(self), n, extra)}
}

func shellWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func newCommand(t *testing.T, s command.Spec) *Command {
	t.Helper()
	c, err := NewCommand(context.Background(), s, launch.Output{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A command's level: the tool's requests go through the proxy, whose
// records are the figures; the level's directory keeps the tool's files
// but not the request files; the log has the command line and the output.
func TestCommandLevel(t *testing.T) {
	inst := simEngine(t)
	rec := &countingRecorder{}
	c := newCommand(t, poster(t, 3, "", ""))
	if c.Name() != "poster" || c.Version() != "" {
		t.Errorf("name %q version %q", c.Name(), c.Version())
	}
	req := requestFor(t, inst, "concurrent", 1, 3)
	b, err := c.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != "proxy" || b.CrossCheck != nil || len(rec.results) != 3 || rec.labels[0].Loadgen != "poster" || b.Requests.Successful != 3 {
		t.Errorf("source %q cross-check %+v, %d recorded, labels %+v, requests %+v", b.Source, b.CrossCheck, len(rec.results), rec.labels, b.Requests)
	}
	log, _ := os.ReadFile(filepath.Join(req.LogDir, "poster-concurrent-1.log"))
	if !strings.Contains(string(log), "# STANDIN=post ") || !strings.Contains(string(log), "poster | posted 3, 3 ok") {
		t.Errorf("log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(req.LogDir, "poster-concurrent-1", "bodies.jsonl")); !os.IsNotExist(err) {
		t.Errorf("request files kept: %v", err)
	}
}

// Each way a tool can fail fails its level with an error naming the tool
// and the level (and the log, once the tool ran), within the level's time.
func TestCommandFailures(t *testing.T) {
	inst := simEngine(t)
	for _, tc := range []struct {
		name  string
		spec  command.Spec
		want  []string
		quick time.Duration
	}{
		{"exit", command.Spec{Name: "mytool", Run: "echo cannot connect >&2; exit 3"},
			[]string{"mytool (level concurrent-2): mytool exited with code 3; last lines:\n  cannot connect", "; its output is in "}, 0},
		{"silent", command.Spec{Name: "mytool", Run: "sleep 600"},
			[]string{"mytool (level concurrent-2) sent no request within 500ms of starting; stopped, its output is in "}, 500*time.Millisecond + stopGrace + 3*time.Second},
		{"no report", poster(t, 1, "vegeta", ""),
			[]string{"poster (level concurrent-2): its report: open ", "/poster-concurrent-2/report: no such file or directory; its output is in "}, 0},
		{"malformed report", poster(t, 1, "wrk", " > {{q .Output}}"),
			[]string{"poster (level concurrent-2): wrk report: invalid character 'p' looking for beginning of value (", "/poster-concurrent-2/report); its output is in "}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := requestFor(t, inst, "concurrent", 2, 1)
			if tc.name == "silent" {
				req.StartAllowance = 500 * time.Millisecond
			}
			began := time.Now()
			b, err := newCommand(t, tc.spec).Run(context.Background(), req, &countingRecorder{})
			if err == nil {
				t.Fatalf("no error; benchmark %+v", b)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tc.quick > 0 && time.Since(began) > tc.quick {
				t.Errorf("took %v", time.Since(began))
			}
			log := filepath.Join(req.LogDir, tc.spec.Name+"-concurrent-2.log")
			if _, serr := os.Stat(log); serr != nil || !strings.Contains(err.Error(), log) {
				t.Errorf("log %s: %v; the error does not name it: %v", log, serr, err)
			}
			if b.Valid {
				t.Errorf("the failed level is valid: %+v", b)
			}
		})
	}
	_, err := NewCommand(context.Background(), command.Spec{Name: "x", Tool: "servebench-no-such-tool", Run: "servebench-no-such-tool"}, launch.Output{}, nil)
	if !errors.Is(err, ErrToolMissing) || err.Error() != "command x: servebench-no-such-tool not found on PATH" {
		t.Errorf("missing tool: %v", err)
	}
	// A profile the tool does not drive, a level without a time limit.
	c := newCommand(t, command.Spec{Name: "wrkish", Run: "true", Profiles: []string{"concurrent"}})
	req := requestFor(t, inst, "constant", 2, 1)
	if _, err := c.Run(context.Background(), req, &countingRecorder{}); err == nil || err.Error() != `command wrkish: profile "constant" is not one it drives (concurrent)` {
		t.Errorf("profile: %v", err)
	}
	req = requestFor(t, inst, "concurrent", 2, 1)
	req.Budget.Window = 0
	if _, err := c.Run(context.Background(), req, &countingRecorder{}); err == nil || !strings.Contains(err.Error(), "has no time limit (max_seconds)") {
		t.Errorf("unbounded: %v", err)
	}
}

// The dry run's line: the level's directory under the cell's, the rate
// and sending span of the level's limits.
func TestCommandLine(t *testing.T) {
	req := requestFor(t, simEngine(t), "constant", 2.5, 3)
	req.Budget = loadgen.Budget{} // from the limits
	line, err := CommandLine(command.Recipes["vegeta"], req, "http://127.0.0.1:PROXY_PORT", "/res/cell")
	if err != nil {
		t.Fatal(err)
	}
	want := `trap : INT; vegeta attack -format json -targets '/res/cell/vegeta-constant-2.5/targets.jsonl' -rate 2500/1000s -duration 3s `
	if !strings.HasPrefix(line, want) {
		t.Errorf("line\n %s\nwant prefix\n %s", line, want)
	}
}
