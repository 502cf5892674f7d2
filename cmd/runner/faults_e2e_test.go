package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// faultServer is an OpenAI-compatible server that misbehaves on demand:
// every completion request n (0-based, in arrival order) is answered by
// answer(n) when it returns true, else streamed normally (max_tokens
// chunks, else tokens, itl apart, then usage and [DONE]). kill closes the listener and every
// connection: from then on connections are refused, as after an engine's
// death.
type faultServer struct {
	url    string
	tokens int
	itl    time.Duration
	answer func(n int64, w http.ResponseWriter, r *http.Request) bool
	// dieAfter kills the server when request n arrives (0 = never); died
	// is when.
	dieAfter int64

	srv  *http.Server
	n    atomic.Int64
	mu   sync.Mutex
	died time.Time
}

func startFaultServer(t *testing.T, f *faultServer) *faultServer {
	t.Helper()
	if f.tokens == 0 {
		f.tokens = 4
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String()
	f.srv = &http.Server{Handler: f}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *faultServer) kill() {
	f.mu.Lock()
	if f.died.IsZero() {
		f.died = time.Now()
	}
	f.mu.Unlock()
	go f.srv.Close()
}

func (f *faultServer) diedAt() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.died }

func (f *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health":
		return
	case "/v1/models":
		fmt.Fprint(w, `{"object":"list","data":[{"id":"m","root":"m","max_model_len":4096}]}`)
		return
	case "/v1/chat/completions", "/v1/completions":
	default:
		http.NotFound(w, r)
		return
	}
	var req struct {
		Stream    bool `json:"stream"`
		MaxTokens int  `json:"max_tokens"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	if !req.Stream { // the readiness probe's one-token request
		fmt.Fprint(w, `{"choices":[{"text":"x","message":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
		return
	}
	n := f.n.Add(1) - 1
	if f.dieAfter > 0 && n >= f.dieAfter {
		f.kill()
		return
	}
	if f.answer != nil && f.answer(n, w, r) {
		return
	}
	tokens := f.tokens
	if req.MaxTokens > 0 {
		tokens = req.MaxTokens // as asked, as vLLM with ignore_eos
	}
	f.stream(w, tokens)
}

// stream answers with n one-token chunks, usage and [DONE].
func (f *faultServer) stream(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	for i := 0; i < n; i++ {
		if i > 0 && f.itl > 0 {
			time.Sleep(f.itl)
		}
		fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d \"}}],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":%d}}\n\n", i, i+1)
		fl.Flush()
	}
	fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", n)
	fl.Flush()
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

// closedPort is a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	return fmt.Sprintf("http://127.0.0.1:%d", e2e.FreePort(t))
}

// reset reads the request, then resets the connection: the server had
// the request and never answered.
func reset(w http.ResponseWriter) {
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// faultRow is one case of the fault matrix: how it is provoked, what the
// user sees (exit code, error text, how soon) and what is on disk after.
type faultRow struct {
	name string // the case, as docs/troubleshooting.md names it
	// run prepares the case in dir and returns the runner's arguments and
	// extra environment.
	run    func(t *testing.T, dir string) (args []string, env []string)
	signal syscall.Signal // sent after signalAfter (0 = none)
	after  time.Duration
	code   int
	stderr []string      // each must be in standard error
	within time.Duration // from the start (or the server's death, see since)
	since  func() time.Time
	disk   func(t *testing.T, dir string) // what is on disk afterwards
	// then runs a follow-up command in the same dir (a --resume).
	then func(t *testing.T, dir string, runner func(args ...string) (int, string))
}

const oldSummary = `{"schema_version":1,"loadgen":"native","benchmarks":[]}` // an earlier run's file

// TestE2EFaultMatrix drives the runner binary through every failure a bad
// server, a full disk, a dead engine or a wrong value can cause: each case
// ends in bounded time with its documented exit code and message, and
// what was on disk before is never lost.
func TestE2EFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the runner and runs it once per case")
	}
	// SERVEBENCH_FAULT_RUNNER runs the matrix against another build (an
	// older release, to see which cases it fails).
	bin := os.Getenv("SERVEBENCH_FAULT_RUNNER")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "runner")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("build the runner: %v\n%s", err, out)
		}
	}
	for _, row := range faultRows(t) {
		t.Run(row.name, func(t *testing.T) {
			dir := t.TempDir()
			args, env := row.run(t, dir)
			code, stderr, took := runRunner(t, bin, dir, args, env, row.signal, row.after)
			if code != row.code {
				t.Errorf("exit %d, want %d\n%s", code, row.code, stderr)
			}
			for _, s := range row.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("standard error lacks %q:\n%s", s, stderr)
				}
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) > 0 {
				t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), lines[len(lines)-1])
			}
			if row.since != nil {
				if at := row.since(); !at.IsZero() {
					took = time.Since(at)
				}
			}
			if took > row.within {
				t.Errorf("took %v, want at most %v", took.Round(time.Millisecond), row.within)
			}
			if row.disk != nil {
				row.disk(t, dir)
			}
			if row.then != nil {
				row.then(t, dir, func(args ...string) (int, string) {
					code, stderr, _ := runRunner(t, bin, dir, args, env, 0, 0)
					return code, stderr
				})
			}
		})
	}
}

// runRunner runs the binary in dir, sending sig after the given time, and
// kills it (failing the test) if it has not ended within a minute: nothing
// may hang.
func runRunner(t *testing.T, bin, dir string, args, env []string, sig syscall.Signal, after time.Duration) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if sig != 0 {
		time.AfterFunc(after, func() { cmd.Process.Signal(sig) })
	}
	hung := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	took := time.Since(begin)
	if !hung.Stop() {
		t.Fatalf("runner %s hung: killed after a minute\n%s", strings.Join(args, " "), stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String(), took
}

func bench(target string, extra ...string) []string {
	return append([]string{"bench", "--target", target, "--workload", "chat_lite", "--web.listen-address", "off",
		"--progress-interval", "1h"}, extra...)
}

func faultRows(t *testing.T) []faultRow {
	var dying, dyingSuite *faultServer
	return []faultRow{
		{
			name: "silent server",
			run: func(t *testing.T, dir string) ([]string, []string) {
				writeOld(t, dir)
				return bench(silentServer(t), "--profile", "constant", "--rate", "1", "--max-seconds", "5", "--probe-timeout", "2",
					"--output", "summary.json", "--requests", "requests.jsonl"), nil
			},
			code: 1, within: 10 * time.Second,
			stderr: []string{"/v1/models: no answer within the probe timeout (2s)"},
			disk:   unchangedOld,
		},
		{
			name: "silent server, tokenizer",
			run: func(t *testing.T, dir string) ([]string, []string) {
				return bench(silentServer(t), "--model", "m", "--profile", "constant", "--rate", "1", "--max-seconds", "5", "--probe-timeout", "2"), nil
			},
			code: 1, within: 10 * time.Second,
			stderr: []string{"/tokenize: no answer within the probe timeout (2s)"},
		},
		{
			name: "silent server, suite",
			run: func(t *testing.T, dir string) ([]string, []string) {
				return []string{"start", "--suite", "smoke", "--engine", "external", "--target", silentServer(t), "--results", "results",
					"--web.listen-address", "off"}, nil
			},
			code: 1, within: 20 * time.Second,
			stderr: []string{"/v1/models: no answer within the probe timeout (10s)"},
		},
		{
			name: "failed bench keeps the output",
			run: func(t *testing.T, dir string) ([]string, []string) {
				writeOld(t, dir)
				return bench(closedPort(t), "--profile", "constant", "--rate", "1", "--max-seconds", "5",
					"--output", "summary.json", "--requests", "requests.jsonl"), nil
			},
			code: 1, within: 10 * time.Second,
			stderr: []string{"connection refused"},
			disk:   unchangedOld,
		},
		{
			name: "disk full, bench",
			run: func(t *testing.T, dir string) ([]string, []string) {
				full := filepath.Join(dir, "full")
				e2e.MountTmpfs(t, full, 160<<10, false)
				if err := os.WriteFile(filepath.Join(full, "requests.jsonl"), []byte("old\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				srv := startFaultServer(t, &faultServer{tokens: 16})
				return bench(srv.url, "--profile", "concurrent", "--rate", "8", "--max-seconds", "30",
					"--output", "summary.json", "--requests", "full/requests.jsonl"), nil
			},
			code: 4, within: 20 * time.Second,
			stderr: []string{"--requests: results could not be written", "no space left on device"},
			disk: func(t *testing.T, dir string) {
				if b, _ := os.ReadFile(filepath.Join(dir, "full", "requests.jsonl")); string(b) != "old\n" {
					t.Errorf("the earlier requests.jsonl changed: %.80q", b)
				}
				noTemp(t, filepath.Join(dir, "full"))
				sum := readFaultSummary(t, filepath.Join(dir, "summary.json"))
				if len(sum.Benchmarks) != 1 || !strings.Contains(sum.Benchmarks[0].StopReason, "no space left on device") || sum.Benchmarks[0].Requests.Successful == 0 {
					t.Errorf("summary of what was measured: %+v", sum.Benchmarks)
				}
			},
		},
		{
			name: "disk full, suite",
			run: func(t *testing.T, dir string) ([]string, []string) {
				e2e.MountTmpfs(t, filepath.Join(dir, "results"), 1<<20, false)
				srv := startFaultServer(t, &faultServer{tokens: 16})
				return []string{"start", "--suite", "smoke", "--engine", "external", "--target", srv.url, "--results", "results",
					"--max-seconds", "30", "--web.listen-address", "off"}, nil
			},
			code: 4, within: 30 * time.Second,
			stderr: []string{"no space left on device"},
			disk: func(t *testing.T, dir string) {
				st := readRunState(t, filepath.Join(dir, "results", "smoke"))
				if st.Status != "failed" || !strings.Contains(st.Error, "no space left on device") || st.Cells[0].Status != "failed" {
					t.Errorf("run.json: status %s, error %q, cells %+v", st.Status, st.Error, st.Cells)
				}
				cell := filepath.Join(st.dir, st.Cells[0].ID)
				wholeLines(t, filepath.Join(cell, "requests.jsonl"))
				if _, err := os.Stat(filepath.Join(st.dir, ".reserve")); !os.IsNotExist(err) {
					t.Errorf("the reserve is still there: %v", err)
				}
				if _, err := os.Stat(filepath.Join(cell, "summary.json")); err != nil {
					t.Errorf("no summary of what was measured: %v", err)
				}
			},
		},
		{
			name: "engine dies mid-level, bench",
			run: func(t *testing.T, dir string) ([]string, []string) {
				dying = startFaultServer(t, &faultServer{itl: time.Millisecond, dieAfter: 40})
				return bench(dying.url, "--profile", "concurrent", "--rate", "4", "--max-seconds", "30",
					"--output", "summary.json", "--requests", "requests.jsonl"), nil
			},
			code: 4, within: 5 * time.Second, since: func() time.Time { return dying.diedAt() },
			stderr: []string{"target unreachable", "accepted no connection for 2s"},
			disk: func(t *testing.T, dir string) {
				sum := readFaultSummary(t, filepath.Join(dir, "summary.json"))
				b := sum.Benchmarks[0]
				if !strings.Contains(b.StopReason, "target unreachable") || b.Requests.Successful == 0 {
					t.Errorf("benchmark: stop %q, requests %+v", b.StopReason, b.Requests)
				}
				kinds := errorKinds(t, filepath.Join(dir, "requests.jsonl"))
				if kinds["connect"] == 0 || kinds["connect"] > 100 {
					t.Errorf("connect errors %d: want a few, not a flood (%v)", kinds["connect"], kinds)
				}
			},
		},
		{
			name: "engine dies mid-level, suite",
			run: func(t *testing.T, dir string) ([]string, []string) {
				dyingSuite = startFaultServer(t, &faultServer{itl: time.Millisecond, dieAfter: 10})
				return []string{"start", "--suite", "smoke", "--engine", "external", "--target", dyingSuite.url, "--results", "results",
					"--max-seconds", "30", "--web.listen-address", "off"}, nil
			},
			// The load generator sees the refusals within 2 s, then waits up
			// to 3 s for an engine watcher's report (an external engine has none).
			code: 4, within: 10 * time.Second, since: func() time.Time { return dyingSuite.diedAt() },
			stderr: []string{"target unreachable"},
			disk: func(t *testing.T, dir string) {
				st := readRunState(t, filepath.Join(dir, "results", "smoke"))
				if st.Status != "failed" || st.Cells[0].Status != "failed" || !strings.Contains(st.Cells[0].Error, "target unreachable") {
					t.Errorf("run.json: status %s, cells %+v", st.Status, st.Cells)
				}
				sum := readFaultSummary(t, filepath.Join(st.dir, st.Cells[0].ID, "summary.json"))
				if len(sum.Benchmarks) != 1 {
					t.Errorf("%d levels ran; the level after the death must not", len(sum.Benchmarks))
				}
			},
		},
		{
			name: "stalled stream",
			run: func(t *testing.T, dir string) ([]string, []string) {
				srv := startFaultServer(t, &faultServer{answer: func(n int64, w http.ResponseWriter, r *http.Request) bool {
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
					w.(http.Flusher).Flush()
					select { // stop sending mid-stream
					case <-r.Context().Done():
					case <-time.After(time.Minute):
					}
					return true
				}})
				return bench(srv.url, "--profile", "concurrent", "--rate", "2", "--max-seconds", "3", "--stream-idle-timeout", "1",
					"--requests", "requests.jsonl", "--output", "summary.json"), nil
			},
			code: 4, within: 15 * time.Second,
			stderr: []string{"no successful request"},
			disk: func(t *testing.T, dir string) {
				kinds := errorKinds(t, filepath.Join(dir, "requests.jsonl"))
				if kinds["stalled"] == 0 || kinds["success"] > 0 {
					t.Errorf("outcomes %v: want stalled errors", kinds)
				}
				b := readFaultSummary(t, filepath.Join(dir, "summary.json")).Benchmarks[0]
				if b.Valid || b.Errors["stalled"] == 0 {
					t.Errorf("stalled streams must count as errors: valid %v errors %v", b.Valid, b.Errors)
				}
			},
		},
		absurd("absurd rate", []string{"--profile", "constant", "--rate", "1e308", "--max-seconds", "5"},
			"rate: 1e+308 is outside the allowed range (0, 1e+06] req/s"),
		absurd("absurd streams", []string{"--profile", "concurrent", "--rate", "1e9", "--max-seconds", "5"},
			"rate: 1e+09 is outside the allowed range [1, 50000] streams"),
		absurd("zero request timeout", []string{"--profile", "constant", "--rate", "1", "--max-seconds", "5", "--request-timeout", "0"},
			"--request-timeout: 0 is outside the allowed range (0, 86400] seconds"),
		absurd("negative request timeout", []string{"--profile", "constant", "--rate", "1", "--max-seconds", "5", "--request-timeout", "-1"},
			"--request-timeout: -1 is outside the allowed range (0, 86400] seconds"),
		absurd("absurd max-seconds", []string{"--profile", "constant", "--rate", "1", "--max-seconds", "1e12"},
			"--max-seconds: 1e+12 is outside the allowed range [0, 604800] seconds"),
		{
			name: "absurd cores, suite",
			run: func(t *testing.T, dir string) ([]string, []string) {
				return []string{"start", "--suite", "smoke", "--cores", "100000000", "--dry-run"}, nil
			},
			code: 2, within: 10 * time.Second,
			stderr: []string{"cores (--cores, SERVEBENCH_CORES): 1e+08 is outside the allowed range [1, 8192]"},
		},
		{
			name: "absurd streams, suite file",
			run: func(t *testing.T, dir string) ([]string, []string) {
				p := filepath.Join(dir, "mine.yaml")
				os.WriteFile(p, []byte("name: mine\nstages:\n  - profile: concurrent\n    levels: [1, 1e9]\n"), 0o644)
				return []string{"start", "--suite", p, "--dry-run"}, nil
			},
			code: 2, within: 10 * time.Second,
			stderr: []string{"stages[0].levels: 1e+09 is outside the allowed range [1, 50000] streams"},
		},
		{
			name: "server echoes the API key",
			run: func(t *testing.T, dir string) ([]string, []string) {
				port := e2e.FreePort(t)
				var scraped atomic.Value
				srv := startFaultServer(t, &faultServer{answer: func(n int64, w http.ResponseWriter, r *http.Request) bool {
					if n == 3 { // the live endpoint, mid-run
						if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)); err == nil {
							b, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							scraped.Store(string(b))
						}
					}
					if n%2 == 1 {
						w.WriteHeader(http.StatusInternalServerError)
						fmt.Fprintf(w, `{"error":{"message":"upstream rejected Authorization: %s; X-Tenant-Token: %s"}}`,
							r.Header.Get("Authorization"), r.Header.Get("X-Tenant-Token"))
						return true
					}
					return false
				}})
				t.Cleanup(func() {
					m, _ := scraped.Load().(string)
					if m == "" || strings.Contains(m, "sk-faultmatrix") || strings.Contains(m, "tenant-secret") {
						t.Errorf("/metrics mid-run (%d bytes) holds a secret or was not scraped", len(m))
					}
				})
				args := bench(srv.url, "--profile", "concurrent", "--rate", "1", "--max-requests", "8", "--max-seconds", "20",
					"--secret-header", "X-Tenant-Token=tenant-secret-42", "--output", "summary.json", "--requests", "requests.jsonl")
				args = append(args, "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", port), "--web.linger", "0s")
				return args, []string{"SERVEBENCH_API_KEY=sk-faultmatrix-0123456789"}
			},
			code: 0, within: 20 * time.Second,
			disk: func(t *testing.T, dir string) {
				for _, f := range []string{"summary.json", "requests.jsonl"} {
					b, _ := os.ReadFile(filepath.Join(dir, f))
					if bytes.Contains(b, []byte("sk-faultmatrix")) || bytes.Contains(b, []byte("tenant-secret")) {
						t.Errorf("%s holds a secret", f)
					}
				}
				// JSON writes the mask's angle brackets as \u003c, \u003e.
				if b, _ := os.ReadFile(filepath.Join(dir, "requests.jsonl")); !bytes.Contains(b, []byte(`\u003credacted\u003e`)) {
					t.Error("requests.jsonl shows no masked error text")
				}
			},
		},
		{
			name: "rate limited and reset after send",
			run: func(t *testing.T, dir string) ([]string, []string) {
				srv := startFaultServer(t, &faultServer{answer: func(n int64, w http.ResponseWriter, r *http.Request) bool {
					switch n % 4 {
					case 1:
						w.Header().Set("Retry-After", "1")
						w.WriteHeader(http.StatusTooManyRequests)
						fmt.Fprint(w, `{"error":{"message":"slow down"}}`)
						return true
					case 2:
						reset(w)
						return true
					}
					return false
				}})
				return bench(srv.url, "--profile", "concurrent", "--rate", "1", "--max-requests", "8", "--max-seconds", "20",
					"--retry-after", "--requests", "requests.jsonl"), nil
			},
			code: 0, within: 20 * time.Second,
			disk: func(t *testing.T, dir string) {
				kinds := errorKinds(t, filepath.Join(dir, "requests.jsonl"))
				if kinds["rate_limited"] != 2 || kinds["stream_broken"] != 2 || kinds["connect"] != 0 || kinds["http_4xx"] != 0 {
					t.Errorf("outcomes %v: want 2 rate_limited, 2 stream_broken, no connect or http_4xx", kinds)
				}
			},
		},
		{
			name: "bad server answers",
			run: func(t *testing.T, dir string) ([]string, []string) {
				srv := startFaultServer(t, &faultServer{answer: func(n int64, w http.ResponseWriter, r *http.Request) bool {
					sse := func(s string) { w.Header().Set("Content-Type", "text/event-stream"); fmt.Fprint(w, s) }
					switch n {
					case 0:
						w.WriteHeader(500)
					case 1:
						w.WriteHeader(503)
					case 2: // truncated: no [DONE]
						sse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
					case 3:
						sse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\"\n\ndata: [DONE]\n\n")
					case 4:
						sse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"boom\",\"code\":503}}\n\ndata: [DONE]\n\n")
					case 5: // CRLF and comments
						sse(": keep-alive\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n")
					case 6: // one 1 MiB chunk
						sse("data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", 1<<20) + "\"}}]}\n\ndata: [DONE]\n\n")
					case 7: // not UTF-8
						sse("data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\ndata: [DONE]\n\n")
					default:
						return false
					}
					return true
				}})
				return bench(srv.url, "--profile", "concurrent", "--rate", "1", "--max-requests", "10", "--max-seconds", "20",
					"--ignore-eos=false", "--requests", "requests.jsonl"), nil
			},
			code: 0, within: 20 * time.Second,
			disk: func(t *testing.T, dir string) {
				kinds := errorKinds(t, filepath.Join(dir, "requests.jsonl"))
				want := map[string]int{"http_5xx": 3, "stream_broken": 1, "malformed_chunk": 1, "success": 5}
				for k, n := range want {
					if kinds[k] != n {
						t.Errorf("outcomes %v, want %v", kinds, want)
						break
					}
				}
			},
		},
		{
			name: "interrupted bench",
			run: func(t *testing.T, dir string) ([]string, []string) {
				srv := startFaultServer(t, &faultServer{itl: 100 * time.Millisecond, tokens: 100})
				return bench(srv.url, "--profile", "concurrent", "--rate", "2", "--max-seconds", "60", "--interrupt-grace", "1",
					"--output", "summary.json", "--requests", "requests.jsonl"), nil
			},
			signal: syscall.SIGINT, after: 2 * time.Second,
			code: 130, within: 8 * time.Second,
			disk: func(t *testing.T, dir string) {
				b := readFaultSummary(t, filepath.Join(dir, "summary.json")).Benchmarks[0]
				if b.StopReason != "interrupted" || b.Requests.Incomplete == 0 {
					t.Errorf("stop %q requests %+v", b.StopReason, b.Requests)
				}
				wholeLines(t, filepath.Join(dir, "requests.jsonl"))
			},
		},
		{
			name: "terminated bench",
			run: func(t *testing.T, dir string) ([]string, []string) {
				srv := startFaultServer(t, &faultServer{itl: 100 * time.Millisecond, tokens: 100})
				return bench(srv.url, "--profile", "concurrent", "--rate", "2", "--max-seconds", "60", "--interrupt-grace", "1",
					"--output", "summary.json"), nil
			},
			signal: syscall.SIGTERM, after: 2 * time.Second,
			code: 130, within: 8 * time.Second,
			disk: func(t *testing.T, dir string) {
				if b := readFaultSummary(t, filepath.Join(dir, "summary.json")).Benchmarks[0]; b.StopReason != "interrupted" {
					t.Errorf("stop %q", b.StopReason)
				}
			},
		},
		{
			name: "interrupted suite, resumed",
			run: func(t *testing.T, dir string) ([]string, []string) {
				srv := startFaultServer(t, &faultServer{itl: 20 * time.Millisecond, tokens: 8})
				return []string{"start", "--suite", "smoke", "--engine", "external", "--target", srv.url, "--results", "results",
					"--max-seconds", "3", "--web.listen-address", "off"}, nil
			},
			signal: syscall.SIGINT, after: 2 * time.Second,
			code: 130, within: 20 * time.Second,
			disk: func(t *testing.T, dir string) {
				if st := readRunState(t, filepath.Join(dir, "results", "smoke")); st.Status != "incomplete" {
					t.Errorf("run.json status %s", st.Status)
				}
			},
			then: func(t *testing.T, dir string, runner func(args ...string) (int, string)) {
				st := readRunState(t, filepath.Join(dir, "results", "smoke"))
				code, stderr := runner("start", "--resume", st.RunID, "--results", "results")
				if code != 0 {
					t.Fatalf("resume: exit %d\n%s", code, stderr)
				}
				if st := readRunState(t, filepath.Join(dir, "results", "smoke")); st.Status != "complete" || len(st.Resumed) != 1 {
					t.Errorf("after --resume: %s, resumed %d times", st.Status, len(st.Resumed))
				}
			},
		},
		{
			name: "read-only output directory",
			run: func(t *testing.T, dir string) ([]string, []string) {
				e2e.MountTmpfs(t, filepath.Join(dir, "ro"), 64<<10, true)
				return bench(closedPort(t), "--profile", "constant", "--rate", "1", "--max-seconds", "5", "--output", "ro/summary.json"), nil
			},
			code: 2, within: 10 * time.Second,
			stderr: []string{"--output: create ro/summary.json: read-only file system"},
		},
		{
			name: "read-only results directory",
			run: func(t *testing.T, dir string) ([]string, []string) {
				e2e.MountTmpfs(t, filepath.Join(dir, "ro"), 64<<10, true)
				return []string{"start", "--suite", "smoke", "--results", "ro", "--web.listen-address", "off"}, nil
			},
			code: 1, within: 10 * time.Second,
			stderr: []string{"read-only file system"},
		},
		{
			name: "bad target URL",
			run: func(t *testing.T, dir string) ([]string, []string) {
				return bench("ftp://127.0.0.1:1", "--profile", "constant", "--rate", "1", "--max-seconds", "5"), nil
			},
			code: 2, within: 10 * time.Second,
			stderr: []string{`target: "ftp://127.0.0.1:1": want http(s)://host:port`},
		},
	}
}

// Every row of the matrix is a case docs/troubleshooting.md lists, by the
// same name.
func TestFaultMatrixIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range faultRows(t) {
		if !bytes.Contains(doc, []byte("| "+row.name+" |")) {
			t.Errorf("docs/troubleshooting.md has no row %q", row.name)
		}
	}
}

// absurd is a runner bench row refused before anything is sent.
func absurd(name string, flags []string, msg string) faultRow {
	return faultRow{
		name: name,
		run: func(t *testing.T, dir string) ([]string, []string) {
			return bench(closedPort(t), append(flags, "--output", "summary.json")...), nil
		},
		code: 2, within: 10 * time.Second, stderr: []string{msg},
		disk: func(t *testing.T, dir string) {
			if _, err := os.Stat(filepath.Join(dir, "summary.json")); !os.IsNotExist(err) {
				t.Errorf("an output was written: %v", err)
			}
		},
	}
}

// writeOld puts an earlier run's files where the row writes its own.
func writeOld(t *testing.T, dir string) {
	t.Helper()
	big := oldSummary + "\n" + strings.Repeat(" ", 3308-len(oldSummary)-2) + "\n" // the size of the summary
	for name, body := range map[string]string{"summary.json": big, "requests.jsonl": "{\"seq\":0}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// unchangedOld checks writeOld's files are byte for byte as they were.
func unchangedOld(t *testing.T, dir string) {
	t.Helper()
	if b, _ := os.ReadFile(filepath.Join(dir, "summary.json")); len(b) != 3308 || !bytes.HasPrefix(b, []byte(oldSummary)) {
		t.Errorf("summary.json changed: %d bytes", len(b))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "requests.jsonl")); string(b) != "{\"seq\":0}\n" {
		t.Errorf("requests.jsonl changed: %q", b)
	}
	noTemp(t, dir)
}

// noTemp fails when a temporary output was left behind.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

type summaryFile struct {
	Benchmarks []struct {
		Level      string         `json:"level"`
		StopReason string         `json:"stop_reason"`
		Valid      bool           `json:"valid"`
		Errors     map[string]int `json:"errors"`
		Requests   struct {
			Successful, Failed, Incomplete int
		} `json:"requests"`
	} `json:"benchmarks"`
}

func readFaultSummary(t *testing.T, path string) summaryFile {
	t.Helper()
	var s summaryFile
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil || len(s.Benchmarks) == 0 {
		t.Fatalf("summary %s: %v (%d benchmarks)", path, err, len(s.Benchmarks))
	}
	return s
}

type runStateFile struct {
	dir     string
	RunID   string `json:"run_id"`
	Status  string `json:"status"`
	Error   string `json:"error"`
	Resumed []any  `json:"resumed"`
	Cells   []struct {
		ID, Status, Error string
	} `json:"cells"`
}

// readRunState reads the one run's run.json under a suite's directory.
func readRunState(t *testing.T, suiteDir string) runStateFile {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(suiteDir, "*", "run.json"))
	if len(m) != 1 {
		t.Fatalf("%d runs under %s", len(m), suiteDir)
	}
	var st runStateFile
	b, err := os.ReadFile(m[0])
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || len(st.Cells) == 0 {
		t.Fatalf("run.json: %v", err)
	}
	st.dir = filepath.Dir(m[0])
	return st
}

// wholeLines checks every line of a JSON-lines file parses and the file
// ends with a newline.
func wholeLines(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s ends in the middle of a line: %.60q", path, b[max(len(b)-60, 0):])
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("%s line %d is not JSON", path, n)
		}
	}
}

// errorKinds counts a requests.jsonl's records by error kind ("success"
// for the successful ones).
func errorKinds(t *testing.T, path string) map[string]int {
	t.Helper()
	wholeLines(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	dec := json.NewDecoder(f)
	for {
		var r struct {
			Outcome   string `json:"outcome"`
			ErrorKind string `json:"error_kind"`
		}
		if err := dec.Decode(&r); err != nil {
			break
		}
		k := r.ErrorKind
		if r.Outcome == "success" {
			k = "success"
		} else if k == "" {
			k = r.Outcome
		}
		out[k]++
	}
	return out
}
