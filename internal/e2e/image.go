package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// SimImage builds the engine simulator's FROM-scratch image as make
// sim-image does (deploy/vllm-sim/Dockerfile, a static cmd/vllm-sim for this
// machine's architecture), in a private build context so that a concurrent
// make sim-image never sees a half-written binary.
type SimImage struct {
	Root    string // the repository root
	Tag     string
	Go      string // the go command; "go" when empty
	LDFlags string // passed to go build, e.g. -X ...buildinfo.version=...
}

// Build builds the image or stops the test.
func (s SimImage) Build(t testing.TB) {
	t.Helper()
	RequireDocker(t)
	root, err := filepath.Abs(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	goBin := s.Go
	if goBin == "" {
		goBin = "go"
	}
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", s.LDFlags,
		"-o", filepath.Join(dir, "linux_"+runtime.GOARCH, "vllm-sim"), "./cmd/vllm-sim")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build vllm-sim: %v\n%s", err, out)
	}
	df := filepath.Join(root, "deploy", "vllm-sim", "Dockerfile")
	out, err := exec.CommandContext(ctx, "docker", "build", "-q", "-f", df, "--build-arg", "TARGETARCH="+runtime.GOARCH, "-t", s.Tag, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("docker build %s: %v\n%s", s.Tag, err, out)
	}
}
