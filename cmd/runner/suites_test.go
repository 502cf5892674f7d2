package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// runCLI runs the runner's entry point with the given environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCLIOn(t, env, "/", args...)
}

// twoNode is a fixture machine: two sockets of 16 cores with SMT.
const twoNode = "../../runner/topology/testdata/two-node"

// runCLIOn runs the runner on the machine whose /sys is under topoRoot.
func runCLIOn(t *testing.T, environ map[string]string, topoRoot string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	code := runEnv(args, &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }, topoRoot: topoRoot})
	return code, out.String(), errb.String()
}

// syncBuffer is a bytes.Buffer safe for the concurrent writers a run has
// (logger, progress, live server), as an *os.File is.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSuitesAndShow(t *testing.T) {
	code, out, _ := runCLI(t, nil, "suites")
	if code != 0 {
		t.Fatalf("suites exit %d", code)
	}
	for _, want := range []string{"smoke            1      2", "scaling          3      15", "contention", "embedding", "concurrent-load  129    774"} {
		if !strings.Contains(out, want) {
			t.Errorf("suites output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, nil, "show", "concurrent-load")
	if code != 0 {
		t.Fatalf("show exit %d", code)
	}
	for _, want := range []string{
		"concurrent  1,2,4,8,16,32 streams",
		"production  the _var variant of each workload, prefix caching true",
		"matrix: 129 cells, 774 load levels, 51 skipped",
		"skip TinyLlama__TinyLlama-1.1B-Chat-v1.0_rag_baseline_8c: workload rag needs 8192 tokens of context",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q", want)
		}
	}
	code, _, errOut := runCLI(t, nil, "show", "nightly")
	if code != exitUsage || !strings.Contains(errOut, `unknown suite "nightly"`) {
		t.Errorf("show nightly: exit %d, %s", code, errOut)
	}
}
