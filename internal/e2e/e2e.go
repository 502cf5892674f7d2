// Package e2e starts the real components servebench's end-to-end tests run
// against (Prometheus, Alertmanager, VictoriaMetrics, dockerd) and finds the
// tools they need. Every server binds 127.0.0.1 on a free port and is killed by
// its PID when the test ends.
//
// When a required tool is missing the test is skipped, except under CI (the
// CI environment variable set), where it fails: `make test` installs
// everything, so a missing tool there is a broken set-up, not a reason to pass.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Require returns the path of the named binary or stops the test.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, fmt.Sprintf("%s not found on PATH (make deps installs it)", name))
	}
	return p
}

// RequireDocker stops the test unless a Docker engine answers.
func RequireDocker(t testing.TB) {
	t.Helper()
	Require(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("no Docker engine (make deps starts dockerd): %v: %s", err, strings.TrimSpace(string(out))))
	}
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a server started for a test.
type Process struct {
	Cmd *exec.Cmd
	Log string // path of its combined stdout/stderr
}

// Start runs name with args, logging to a file in the test's temp dir, and
// kills it (by PID) when the test ends. On failure the log's tail is printed.
func Start(t testing.TB, dir string, name string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Cmd: cmd, Log: logPath}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log tail:\n%s", filepath.Base(name), b)
		}
	})
	return p
}

// WaitHTTP polls url until it answers 200 or the timeout passes.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Errorf("status %d", resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s: %v", url, timeout, last)
}

// Prometheus is a running Prometheus server.
type Prometheus struct {
	*Process
	URL string // http://127.0.0.1:PORT
}

// StartPrometheus runs the Prometheus binary with the given configuration
// (prometheus.yml text; rule files it names are resolved against dir) and
// waits until it is ready. Extra flags are appended.
func StartPrometheus(t testing.TB, dir, config string, flags ...string) *Prometheus {
	t.Helper()
	return StartPrometheusTSDB(t, dir, filepath.Join(t.TempDir(), "tsdb"), config, flags...)
}

// StartPrometheusTSDB is StartPrometheus on a given TSDB directory, e.g. one
// holding blocks backfilled with promtool tsdb create-blocks-from.
func StartPrometheusTSDB(t testing.TB, dir, tsdb, config string, flags ...string) *Prometheus {
	t.Helper()
	bin := Require(t, "prometheus")
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	args := append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + tsdb,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--web.enable-lifecycle",
	}, flags...)
	p := Start(t, dir, bin, args...)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	WaitHTTP(t, url+"/-/ready", 30*time.Second)
	return &Prometheus{Process: p, URL: url}
}

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	*Process
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT, for prometheus.yml
}

// StartAlertmanager runs Alertmanager (Debian's prometheus-alertmanager or
// alertmanager) with the given configuration (alertmanager.yml text), gossip
// off, and waits until it is ready. Extra flags are appended.
func StartAlertmanager(t testing.TB, config string, flags ...string) *Alertmanager {
	t.Helper()
	bin := ""
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		missing(t, "neither prometheus-alertmanager nor alertmanager found on PATH (make deps installs it)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{
		"--config.file=" + cfg,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--cluster.listen-address=", // no gossip: a single instance on loopback
	}, flags...)
	p := Start(t, dir, bin, args...)
	url := "http://" + addr
	WaitHTTP(t, url+"/-/ready", 30*time.Second)
	return &Alertmanager{Process: p, URL: url, Addr: addr}
}

// Query runs an instant PromQL query against the Prometheus-compatible API
// at base, at time at (zero: now), and returns every sample's value. A failed
// request, an error answer or a value that does not parse stops the test.
func Query(t testing.TB, base, q string, at time.Time) []float64 {
	t.Helper()
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", strconv.FormatInt(at.Unix(), 10))
	}
	resp, err := http.Get(base + "/api/v1/query?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %q: %v %s", q, err, r.Error)
	}
	out := make([]float64, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		f, err := strconv.ParseFloat(str, 64)
		if err != nil {
			t.Fatalf("query %q: value %v: %v", q, s.Value[1], err)
		}
		out = append(out, f)
	}
	return out
}

// NPMPackage installs an npm package at an exact version (npm install, from
// the registry npm is configured for) into a per-user cache directory, once,
// and returns the node_modules directory to put on NODE_PATH. It stops the
// test when node or npm is missing (a failure under CI) or the install fails.
func NPMPackage(t testing.TB, name, version string) string {
	t.Helper()
	Require(t, "node")
	npm := Require(t, "npm")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "servebench", "npm", name+"@"+version)
	modules := filepath.Join(dir, "node_modules")
	if b, err := os.ReadFile(filepath.Join(modules, name, "package.json")); err == nil {
		var pkg struct{ Version string }
		if json.Unmarshal(b, &pkg) == nil && pkg.Version == version {
			return modules
		}
		_ = os.RemoveAll(dir) // another version: replaced below
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Install beside the final place and rename, so concurrent tests never
	// see half an install.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", tmp, name+"@"+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("npm install %s@%s: %v\n%s", name, version, err, out))
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(modules, name)); statErr != nil {
			t.Fatalf("npm install %s@%s: %v", name, version, err)
		}
	}
	return modules
}
