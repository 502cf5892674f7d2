package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

// benchServer streams the tokens each request asks for (max_tokens, three
// when it sets none) and remembers the Authorization and X-Team headers it
// saw.
func benchServer(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
		case "/v1/chat/completions", "/v1/completions":
			mu.Lock()
			seen = append(seen, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Team"))
			mu.Unlock()
			var body struct {
				MaxTokens int `json:"max_tokens"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body.MaxTokens == 0 {
				body.MaxTokens = 3
			}
			for i := 0; i < body.MaxTokens; i++ {
				fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"x"},"text":"x"}]}`+"\n\n")
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

func runCmd(args []string, env map[string]string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func TestBenchWritesFiles(t *testing.T) {
	srv, seen := benchServer(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("from-file\n"), 0o600)
	sumPath, reqPath := filepath.Join(dir, "summary.json"), filepath.Join(dir, "requests.jsonl")
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "concurrent", "--rate", "1,2",
		"--data", "prompt_tokens=8,output_tokens=3", "--max-requests", "6", "--api-key-file", keyFile, "--header", "X-Team=perf",
		"--extra-body", `{"temperature":0}`, "--cores", "8", "--output", sumPath, "--requests", reqPath, "--web.listen-address", "127.0.0.1:0"},
		map[string]string{"SERVEBENCH_API_KEY": "from-env"})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, _ := os.Open(sumPath)
	defer f.Close()
	sum, err := results.ReadSummary(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Benchmarks) != 2 || sum.Benchmarks[1].Level != "concurrent-2" || sum.Benchmarks[1].Requests.Successful != 6 || sum.Cores != 8 {
		t.Fatalf("summary %+v", sum)
	}
	rf, _ := os.Open(reqPath)
	defer rf.Close()
	n := 0
	if err := results.ReadRequests(rf, func(r *measure.Result) error { n++; return nil }); err != nil || n != 12 {
		t.Fatalf("%d requests, %v", n, err)
	}
	for _, s := range seen() {
		if s != "Bearer from-file|perf" {
			t.Fatalf("headers seen %q", s)
		}
	}
	if !strings.Contains(stderr, "concurrent-2  done: 6 ok") {
		t.Fatalf("no progress headline on stderr:\n%s", stderr)
	}
}

func TestBenchRequestsWithoutChunks(t *testing.T) {
	srv, _ := benchServer(t)
	reqPath := filepath.Join(t.TempDir(), "requests.jsonl")
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "synchronous", "--workload", "chat_lite",
		"--max-requests", "2", "--requests", reqPath, "--request-chunks=false", "--output", os.DevNull, "--web.listen-address", "off"}, nil)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(reqPath)
	if strings.Count(string(b), "\n") != 2 || strings.Contains(string(b), `"chunks":[`) || !strings.Contains(string(b), `"first_token"`) {
		t.Fatalf("requests.jsonl:\n%s", b)
	}
}

func TestBenchStdoutCSVAndEnvKey(t *testing.T) {
	srv, seen := benchServer(t)
	code, stdout, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "synchronous", "--workload", "chat_lite",
		"--max-requests", "2", "--format", "csv", "--web.listen-address", "off"}, map[string]string{"SERVEBENCH_API_KEY": "k"})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], ",synchronous,synchronous,") {
		t.Fatalf("csv:\n%s", stdout)
	}
	if s := seen(); len(s) != 2 || s[0] != "Bearer k|" {
		t.Fatalf("headers %q", s)
	}
}

func TestBenchExitCodes(t *testing.T) {
	srv, _ := benchServer(t)
	deaf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		case "/v1/chat/completions":
		default:
			http.NotFound(w, r)
			return
		}
		for range 3 {
			fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"x"}}]}`+"\n\n")
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer deaf.Close()
	base := []string{"bench", "--target", srv.URL, "--web.listen-address", "off"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", "--profile", "constant"}, exitUsage, "--target is required"},
		{append(base, "--profile", "burst"), exitUsage, `profile "burst"`},
		{append(base, "--profile", "constant", "--rate", "x"), exitUsage, `--rate: "x" is not a number`},
		{append(base, "--profile", "constant", "--rate", "1"), exitUsage, "--data or --workload is required"},
		{append(base, "--profile", "constant", "--rate", "1", "--data", "prompt_tokens=1,bogus=2"), exitUsage, `unknown key "bogus"`},
		{append(base, "--profile", "constant", "--rate", "1", "--data", "prompt_tokens=1", "--workload", "chat"), exitUsage, "give one"},
		{append(base, "--profile", "constant", "--rate", "1", "--workload", "chat", "--extra-body", "[1]"), exitUsage, "--extra-body"},
		{append(base, "--profile", "constant", "--rate", "1", "--workload", "chat", "--header", "novalue"), exitUsage, "want K=V"},
		{append(base, "--profile", "constant", "--rate", "1", "--workload", "chat", "--format", "xml"), exitUsage, "--format"},
		{append(base, "--profile", "constant", "--rate", "1", "--workload", "chat", "--max-requests", "2", "--warmup", "0.5"), exitUsage, "fraction of max-seconds"},
		// A server that ignores max_tokens returns 3 where 2 were asked: an
		// output overrun makes the level invalid.
		{[]string{"bench", "--target", deaf.URL, "--web.listen-address", "off", "--profile", "synchronous", "--data", "prompt_tokens=4,output_tokens=2",
			"--max-requests", "2", "--fail-invalid"}, exitRegression, "output overrun"},
		{append(base, "--profile", "synchronous", "--workload", "chat", "--max-requests", "2", "--output", "/nonexistent/dir/s.json"), exitUsage, "--output"},
	} {
		code, _, stderr := runCmd(tc.args, nil)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args[1:], code, stderr, tc.code, tc.want)
		}
	}
}

// A level whose every request failed is a failed run (exit 4), its files
// still written; so are a stalled stream's errors.
func TestBenchEveryRequestFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		case "/tokenize":
			http.NotFound(w, r)
			return
		}
		http.Error(w, `{"object":"error","message":"overloaded"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--profile", "concurrent", "--rate", "8", "--workload", "chat_lite",
		"--max-requests", "240", "--output", sumPath, "--web.listen-address", "off"}, nil)
	if code != exitRunFailed || !strings.Contains(stderr, "runner: every level failed: no successful request: concurrent-8 (240 failed, 0 incomplete)") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	sum, err := readSummaryFile(sumPath)
	if err != nil || sum.Benchmarks[0].Requests.Failed != 240 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
}

// A sweep whose throughput level sees no request end and no token inside
// its window has no maximum to build levels on: exit 4, with the summary
// of what ran written.
func TestBenchSweepWithoutMaximum(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		case "/v1/chat/completions":
		default:
			http.NotFound(w, r)
			return
		}
		io.Copy(io.Discard, r.Body) // then a client gone cancels r.Context()
		select {                    // slower than any window here
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	out := filepath.Join(t.TempDir(), "s.json")
	code, _, stderr := runCmd([]string{"bench", "--target", srv.URL, "--web.listen-address", "off", "--profile", "sweep",
		"--sweep-streams", "4", "--data", "prompt_tokens=4,output_tokens=4", "--max-seconds", "0.3", "--drain-timeout", "0.2",
		"--output", out}, nil)
	if code != exitRunFailed || !strings.Contains(stderr, "sweep found no maximum rate: throughput-4: no request completed and no output token arrived inside its") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	sum, err := readSummaryFile(out)
	if err != nil || len(sum.Benchmarks) != 2 || sum.Saturation != nil {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
}

// readSummaryFile reads the summary.json at path.
func readSummaryFile(path string) (*results.Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return results.ReadSummary(f)
}
