package engine

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/results"
)

// fastSimImage derives an image from SimImage whose entrypoint runs the
// simulator fifty times faster than the modelled CPU, so a scaling run
// finishes in about a minute; the name still contains "vllm-sim", so the
// docker driver speaks the simulator's dialect to it.
const fastSimImage = "servebench/vllm-sim:e2e-fast"

// TestE2EScalingDocker runs `runner start --suite scaling --engine docker
// --cores 1,2` against the real dockerd with short levels, and checks that
// each cell's container was pinned (the simulator inside reports the cores
// its affinity mask gave it), that the engine logs were kept, that every
// container is gone afterwards, and that 2 cores deliver more throughput
// than 1.
func TestE2EScalingDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scaling run; skipped with -short")
	}
	e2e.RequireDocker(t)
	// A free port rather than the default 8000, which another server on
	// this machine may hold.
	enginePort := e2e.FreePort(t)
	buildSimImage(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+SimImage+"\n"+
		`ENTRYPOINT ["/vllm-sim", "--host", "0.0.0.0", "--slowdown", "0.02", "--load-time", "200ms"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "build", "-q", "-t", fastSimImage, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	root, _ := filepath.Abs("../..")
	runner := filepath.Join(dir, "runner")
	build := exec.CommandContext(ctx, "go", "build", "-o", runner, "./cmd/runner")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build runner: %v\n%s", err, out)
	}
	res := filepath.Join(dir, "results")
	// Two CPUs here: the 2-core cell leaves none for the load generator.
	cmd := exec.CommandContext(ctx, runner, "start", "--suite", "scaling", "--engine", "docker", "--cores", "1,2",
		"--image", fastSimImage, "--max-seconds", "4", "--results", res, "--force-overlap", "--web.listen-address", "off",
		"--engine-port", itoa(enginePort))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("runner start: %v\n%s", err, tailOf(string(out), 4000))
	}

	runs, _ := filepath.Glob(filepath.Join(res, "scaling", "*"))
	if len(runs) != 1 {
		t.Fatalf("runs %v", runs)
	}
	runID := filepath.Base(runs[0])
	peak := map[int]float64{}
	for _, cores := range []int{1, 2} {
		cells, _ := filepath.Glob(filepath.Join(runs[0], "*_"+itoa(cores)+"c"))
		if len(cells) != 1 {
			t.Fatalf("cells for %d cores: %v", cores, cells)
		}
		var man struct {
			Engine Info `json:"engine"`
		}
		readJSON(t, filepath.Join(cells[0], "manifest.json"), &man)
		want := map[int]string{1: "0", 2: "0-1"}[cores]
		if man.Engine.CPUSet != want || man.Engine.Driver != "docker" || man.Engine.Image != fastSimImage {
			t.Errorf("%d cores: manifest engine %+v", cores, man.Engine)
		}
		log, err := os.ReadFile(man.Engine.LogPath)
		if err != nil || !strings.Contains(string(log), " cores="+itoa(cores)+" ") {
			t.Errorf("%d cores: engine log %s does not show the simulator computing with %d cores (%v):\n%s", cores, man.Engine.LogPath, cores, err, tailOf(string(log), 1500))
		}
		var sum results.Summary
		readJSON(t, filepath.Join(cells[0], "summary.json"), &sum)
		for _, b := range sum.Benchmarks {
			if b.Level == "throughput-64" {
				peak[cores] = b.OutputTokensPerSecond.Or(0)
				if b.Requests.Successful == 0 || b.Requests.Failed != 0 {
					t.Errorf("%d cores: throughput level requests %+v", cores, b.Requests)
				}
			}
		}
	}
	t.Logf("peak output tokens/s: 1 core %.0f, 2 cores %.0f (shared 2-CPU machine)", peak[1], peak[2])
	if !(peak[2] > peak[1] && peak[1] > 0) {
		t.Errorf("2 cores (%.0f tok/s) not faster than 1 (%.0f tok/s)", peak[2], peak[1])
	}

	cli, err := NewDockerClient(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "io.servebench.run_id="+runID))})
	if err != nil || len(left) != 0 {
		t.Errorf("containers of run %s left behind: %v %v", runID, left, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
