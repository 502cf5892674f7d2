package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

func TestSSHDialArgs(t *testing.T) {
	got, err := SSHDialArgs("ssh://bench@server-1:2222")
	want := []string{"ssh", "-o", "ConnectTimeout=30", "-T", "-l", "bench", "-p", "2222", "--", "server-1", "docker", "system", "dial-stdio"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, %v", got, err)
	}
	got, _ = SSHDialArgs("ssh://server-1")
	if strings.Join(got, " ") != "ssh -o ConnectTimeout=30 -T -- server-1 docker system dial-stdio" {
		t.Errorf("got %q", got)
	}
	for _, bad := range []string{"ssh://", "ssh://h/var/run/docker.sock", "tcp://h:2375"} {
		if _, err := SSHDialArgs(bad); err == nil {
			t.Errorf("SSHDialArgs(%q) accepted", bad)
		}
	}
}

// TestE2EDockerOverSSH reaches the local dockerd through DOCKER_HOST=ssh://
// with an `ssh` on PATH that runs its remote command locally, which is what
// the real ssh does on the far machine.
func TestE2EDockerOverSSH(t *testing.T) {
	e2e.RequireDocker(t)
	bin := t.TempDir()
	fake := "#!/bin/sh\necho \"$@\" > " + filepath.Join(bin, "argv") + "\nwhile [ \"$1\" != \"--\" ]; do shift; done\nshift 2\nexec \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := map[string]string{"DOCKER_HOST": "ssh://bench@far-away"}
	opts, err := DockerClientOptions(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cli, err := NewDockerClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := cli.ServerVersion(ctx)
	if err != nil || v.Version == "" {
		t.Fatalf("server version over ssh: %+v %v", v, err)
	}
	argv, _ := os.ReadFile(filepath.Join(bin, "argv"))
	if strings.TrimSpace(string(argv)) != "-o ConnectTimeout=30 -T -l bench -- far-away docker system dial-stdio" {
		t.Errorf("ssh argv %q", argv)
	}
}

// The client reaches the daemon DOCKER_HOST names, read through the getenv
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
	c, err := NewDockerClientFromEnv(func(k string) string { return env[k] })
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

func TestPublicHost(t *testing.T) {
	for in, want := range map[string]string{"ssh://builder@gpu-box:2222": "gpu-box", "tcp://10.0.0.5:2376": "10.0.0.5", "unix:///var/run/docker.sock": "", "": ""} {
		if got := PublicHost(in); got != want {
			t.Errorf("PublicHost(%q) = %q, want %q", in, got, want)
		}
	}
}
