package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
