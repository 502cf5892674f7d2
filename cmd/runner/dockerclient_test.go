package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/suite"
)

// The runner reaches the daemon DOCKER_HOST names, read through the getenv
// it is given (not the process environment): a fake daemon on tcp:// sees
// the request.
func TestDockerClientHonoursDockerHost(t *testing.T) {
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.URL.Path)
		w.Header().Set("Api-Version", "1.45")
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/version") {
			_, _ = w.Write([]byte(`{"Version":"99.0.0","ApiVersion":"1.45","Os":"linux","Arch":"amd64"}`))
		}
	}))
	defer srv.Close()
	env := map[string]string{"DOCKER_HOST": "tcp://" + strings.TrimPrefix(srv.URL, "http://")}
	c, err := newDockerClient(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.ServerVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "99.0.0" || len(hits) == 0 {
		t.Fatalf("version %q after requests %v: the client did not reach DOCKER_HOST", v.Version, hits)
	}
}

func TestNewDriverBadSSHDockerHost(t *testing.T) {
	env := map[string]string{"DOCKER_HOST": "ssh://builder@gpu-box/some/path"}
	_, _, err := newDriver(suite.Config{Engine: "docker"}, nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Fatalf("err = %v, want one naming DOCKER_HOST", err)
	}
	if got := publicHost("ssh://builder@gpu-box:2222"); got != "gpu-box" {
		t.Errorf("publicHost = %q, want gpu-box", got)
	}
}

// TestE2EDockerHostSSH reaches the real dockerd through DOCKER_HOST=ssh://:
// an ssh stand-in on PATH checks the arguments the runner gives it and
// runs the remote command (docker system dial-stdio) here, as sshd would
// on the remote host. runner doctor must then report the engine.
func TestE2EDockerHostSSH(t *testing.T) {
	e2e.RequireDocker(t)
	bin := t.TempDir()
	argsFile := filepath.Join(bin, "args")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\n" +
		"while [ $# -gt 0 ] && [ \"$1\" != -- ]; do shift; done\nshift 2\nexec \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := map[string]string{"DOCKER_HOST": "ssh://bench@gpu-box:2222"}
	code, out, errOut := runCLI(t, env, "doctor")
	if !strings.Contains(out, "OK    docker") {
		t.Fatalf("doctor over ssh (exit %d):\n%s%s", code, out, errOut)
	}
	args, _ := os.ReadFile(argsFile)
	if got := strings.TrimSpace(string(args)); got != "-o ConnectTimeout=30 -T -l bench -p 2222 -- gpu-box docker system dial-stdio" {
		t.Errorf("ssh ran with %q", got)
	}
}
