package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/topology"
)

func init() {
	register(func(e *env) *cobra.Command {
		var noDocker bool
		c := &cobra.Command{Use: "doctor", Short: "check the machine: topology, free cores, Docker, images, ports, tools", Args: cli.NoArgs,
			Example: "  runner doctor\n  runner doctor --no-docker",
			RunE:    func(c *cobra.Command, _ []string) error { return runDoctor(c.Context(), e, noDocker) }}
		c.Flags().BoolVar(&noDocker, "no-docker", false, "skip the Docker checks")
		return c
	})
}

// check is one doctor line.
type check struct {
	status string // ok, warn, fail
	what   string
	detail string
}

// doctorDeps are what doctor probes, injectable for tests.
type doctorDeps struct {
	topoRoot string
	docker   func() (engine.DockerAPI, error)
	lookPath func(string) (string, error)
	listen   func(addr string) error
	getenv   func(string) string
}

func runDoctor(ctx context.Context, e *env, noDocker bool) error {
	deps := doctorDeps{
		topoRoot: "/",
		lookPath: exec.LookPath,
		getenv:   e.getenv,
		listen: func(addr string) error {
			l, err := net.Listen("tcp", addr)
			if err == nil {
				l.Close()
			}
			return err
		},
		docker: func() (engine.DockerAPI, error) { return newDockerClient(e.getenv) },
	}
	if noDocker {
		deps.docker = nil
	}
	checks := doctor(ctx, deps)
	failed := 0
	for _, c := range checks {
		fmt.Fprintf(e.stdout, "%-4s  %-26s %s\n", strings.ToUpper(c.status), c.what, c.detail)
		if c.status == "fail" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d check(s) failed", failed)
	}
	return nil
}

func doctor(ctx context.Context, d doctorDeps) []check {
	var out []check
	add := func(status, what, format string, a ...any) {
		out = append(out, check{status, what, fmt.Sprintf(format, a...)})
	}

	topo, err := topology.Read(d.topoRoot)
	if err != nil {
		add("fail", "cpu topology", "%v (the docker engine needs it)", err)
	} else {
		add("ok", "cpu topology", "%s: %d CPUs, %d physical cores, %d NUMA node(s)", orDefault(topo.Model, "unknown CPU"), len(topo.CPUs), topo.PhysicalCores(), len(topo.Nodes))
		for _, n := range topo.Nodes {
			add("ok", fmt.Sprintf("numa node %d", n.ID), "physical cores %s, SMT siblings %s, %.1f GiB memory",
				orDefault(topology.FormatList(n.Physical), "none"), orDefault(topology.FormatList(n.Siblings), "none"), float64(n.MemTotal)/(1<<30))
		}
		out = append(out, freeCores(topo))
	}
	if aff, err := topology.Affinity(); err == nil && topo != nil && len(aff) < len(topo.CPUs) {
		add("warn", "runner affinity", "this process may only use cpus %s: a cgroup or taskset limits what can be allocated", topology.FormatList(aff))
	}

	if d.docker == nil {
		add("warn", "docker", "not checked (--no-docker)")
	} else {
		out = append(out, dockerChecks(ctx, d)...)
	}

	for _, p := range []struct{ addr, use string }{
		{suite.Defaults.ListenAddress, "runner live metrics"},
		{net.JoinHostPort("127.0.0.1", strconv.Itoa(engine.DefaultPort)), "docker engine port"},
	} {
		if err := d.listen(p.addr); err != nil {
			add("warn", "port "+p.addr, "in use (%s): %v", p.use, err)
		} else {
			add("ok", "port "+p.addr, "free (%s)", p.use)
		}
	}
	for _, tool := range []string{"guidellm", "vllm"} {
		if p, err := d.lookPath(tool); err == nil {
			add("ok", "tool "+tool, "%s", p)
		} else {
			add("warn", "tool "+tool, "not on PATH: --loadgen %s runs its container image instead", map[string]string{"guidellm": "guidellm", "vllm": "vllm-bench"}[tool])
		}
	}
	if d.getenv("HF_TOKEN") == "" {
		add("warn", "HF_TOKEN", "not set: gated models (Llama) cannot be downloaded by a vLLM container")
	} else {
		add("ok", "HF_TOKEN", "set (passed to engine containers, never logged)")
	}
	return out
}

// freeCores says how large an engine this machine takes with the load
// generator beside it.
func freeCores(t *topology.Topology) check {
	best := 0
	var a topology.Allocation
	for n := t.PhysicalCores(); n >= 1; n-- {
		alloc, err := t.Allocate(topology.Request{Cores: n, NUMANode: -1})
		if err != nil {
			continue
		}
		if len(t.LoadgenCPUs(alloc, 1)) > 0 {
			best, a = n, alloc
			break
		}
	}
	if best == 0 {
		return check{"warn", "free cores", "no engine allocation leaves a CPU for the load generator: docker runs need --force-overlap"}
	}
	return check{"ok", "free cores", fmt.Sprintf("largest engine with a disjoint load generator: %d cores (%s, cpus %s)", best, a.Name, a.CPUList())}
}

func dockerChecks(ctx context.Context, d doctorDeps) []check {
	var out []check
	c, err := d.docker()
	if err != nil {
		return []check{{"fail", "docker", fmt.Sprintf("client: %v", err)}}
	}
	if cl, ok := c.(io.Closer); ok {
		defer cl.Close()
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := c.ServerVersion(cctx)
	if err != nil {
		return []check{{"fail", "docker", fmt.Sprintf("engine not reachable (DOCKER_HOST=%q): %v", d.getenv("DOCKER_HOST"), err)}}
	}
	out = append(out, check{"ok", "docker", fmt.Sprintf("engine %s (API %s) on %s/%s", v.Version, v.APIVersion, v.Os, v.Arch)})
	images := []string{engine.SimImage, guidellm.DefaultImage}
	if img, err := engine.DefaultImage(v.Arch); err == nil {
		images = append([]string{img}, images...)
	} else {
		out = append(out, check{"warn", "vllm image", err.Error()})
	}
	for _, ref := range images {
		if _, err := c.ImageInspect(cctx, ref); err != nil {
			hint := "pulled on first use"
			if ref == engine.SimImage {
				hint = "make sim-image builds it"
			}
			out = append(out, check{"warn", "image", fmt.Sprintf("%s not present (%s)", ref, hint)})
		} else {
			out = append(out, check{"ok", "image", ref + " present"})
		}
	}
	if runtime.GOOS != "linux" {
		out = append(out, check{"warn", "pinning", "cpusets and sched_setaffinity need Linux"})
	}
	return out
}
