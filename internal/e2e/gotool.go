package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// GoInstall builds a Go program at an exact version from the module proxy
// (go install pkg@version into a temporary GOBIN) and returns the directory
// holding the binary, to put on PATH. The build cache makes a second build
// quick. It stops the test when go is missing or the build fails (a
// failure under CI).
func GoInstall(t testing.TB, pkg, version string) string {
	t.Helper()
	gocmd := Require(t, "go")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, "install", pkg+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("go install %s@%s: %v\n%s", pkg, version, err, out))
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.Base(pkg))); err != nil {
		ents, _ := os.ReadDir(dir)
		if len(ents) == 0 {
			t.Fatalf("go install %s@%s: no binary in %s", pkg, version, dir)
		}
	}
	return dir
}
