package collector

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/e2e"
)

// A FROM scratch container running a CPU burner with a 0.2 CPU quota shows
// up with its role and run, CPU seconds that grow, throttling and memory.
func TestE2EContainerCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e2e.RequireDocker(t)
	t0 := time.Now()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "burner"), "./testdata/burner")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build burner: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY burner /burner\nENTRYPOINT [\"/burner\"]\n"), 0o644)
	tag := fmt.Sprintf("servebench-test-burner:%d", time.Now().UnixNano())
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	docker("build", "-q", "-t", tag, dir)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	name := fmt.Sprintf("servebench-burner-%d", time.Now().UnixNano())
	runID := "e2e-" + name[len(name)-6:]
	docker("run", "-d", "--name", name, "--network", "host", "--cpus", "0.2",
		"--label", contract.ContainerRoleLabel+"=engine", "--label", contract.ContainerRunIDLabel+"="+runID, tag)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })

	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	c := NewContainer(cli)
	read := func() map[string]float64 {
		ch := make(chan prometheus.Metric, 1000)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.Update(ctx, ch); err != nil {
			t.Fatal(err)
		}
		close(ch)
		got := map[string]float64{}
		for m := range ch {
			d := metricDTO(t, m)
			lbl := map[string]string{}
			for _, l := range d.GetLabel() {
				lbl[l.GetName()] = l.GetValue()
			}
			if lbl["container"] != name {
				continue // another engineer's labelled container
			}
			if lbl["role"] != "engine" || lbl["run_id"] != runID {
				t.Errorf("labels %v, want role engine and run_id %s", lbl, runID)
			}
			v := d.GetCounter().GetValue() + d.GetGauge().GetValue()
			got[fqName(m)] = v
		}
		return got
	}
	t.Logf("container started after %s", time.Since(t0))
	time.Sleep(1500 * time.Millisecond)
	s0 := time.Now()
	first := read()
	t.Logf("one stats read took %s", time.Since(s0))
	time.Sleep(1500 * time.Millisecond)
	second := read()
	cpu := contract.ContainerCPU.Name
	if first[cpu] <= 0 || second[cpu] <= first[cpu] {
		t.Errorf("cpu seconds %g then %g, want positive and growing", first[cpu], second[cpu])
	}
	// 0.2 CPU over ~1.5 s: well under one CPU-second.
	if d := second[cpu] - first[cpu]; d > 1 {
		t.Errorf("cpu grew %g s in 1.5 s under a 0.2 CPU quota", d)
	}
	if second[contract.ContainerCPUThrottledPeriods.Name] <= 0 || second[contract.ContainerCPUPeriods.Name] <= 0 {
		t.Errorf("no throttling seen under a 0.2 CPU quota: %v", second)
	}
	if ws := second[contract.ContainerMemoryWorkingSet.Name]; ws <= 0 || ws > 256<<20 {
		t.Errorf("working set %g bytes, want a small positive value", ws)
	}
}
