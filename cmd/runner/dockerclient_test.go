package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servebench/servebench/internal/e2e"
)

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
