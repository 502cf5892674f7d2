// Package doctor checks a machine before a run: the CPU topology and the
// largest engine that leaves the load generator its own cores, the Docker
// daemon and the images a run pulls, the ports a run listens on, the
// third-party load generators on PATH, and the token gated models need.
// Each check is one line; a failed check means a run of the kind it names
// cannot work here, a warning that it works differently.
package doctor

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
	"github.com/servebench/servebench/runner/topology"
)

// Check is one line of the report.
type Check struct {
	Status string // ok, warn, fail
	What   string
	Detail string
}

// Deps are what the checks probe.
type Deps struct {
	TopologyRoot string                           // "/" on the machine itself
	Docker       func() (engine.DockerAPI, error) // nil: Docker is not checked
	LookPath     func(string) (string, error)
	Listen       func(addr string) error // nil error: the address is free
	Getenv       func(string) string     // DOCKER_HOST, HF_TOKEN
}

// Write prints the checks as aligned lines and returns how many failed.
func Write(w io.Writer, checks []Check) (failed int) {
	for _, c := range checks {
		fmt.Fprintf(w, "%-4s  %-26s %s\n", strings.ToUpper(c.Status), c.What, c.Detail)
		if c.Status == "fail" {
			failed++
		}
	}
	return failed
}

// Run runs every check, in the order they print.
func Run(ctx context.Context, d Deps) []Check {
	var out []Check
	add := func(status, what, format string, a ...any) {
		out = append(out, Check{status, what, fmt.Sprintf(format, a...)})
	}

	topo, err := topology.Read(d.TopologyRoot)
	if err != nil {
		add("fail", "cpu topology", "%v (the docker engine needs it)", err)
	} else {
		add("ok", "cpu topology", "%s: %d CPUs, %d physical cores, %d NUMA node(s)", cmp.Or(topo.Model, "unknown CPU"), len(topo.CPUs), topo.PhysicalCores(), len(topo.Nodes))
		for _, n := range topo.Nodes {
			add("ok", fmt.Sprintf("numa node %d", n.ID), "physical cores %s, SMT siblings %s, %.1f GiB memory",
				cmp.Or(topology.FormatList(n.Physical), "none"), cmp.Or(topology.FormatList(n.Siblings), "none"), float64(n.MemTotal)/(1<<30))
		}
		out = append(out, freeCores(topo))
	}
	if aff, err := topology.Affinity(); err == nil && topo != nil && len(aff) < len(topo.CPUs) {
		add("warn", "runner affinity", "this process may only use cpus %s: a cgroup or taskset limits what can be allocated", topology.FormatList(aff))
	}

	if d.Docker == nil {
		add("warn", "docker", "not checked (--no-docker)")
	} else {
		out = append(out, dockerChecks(ctx, d)...)
	}

	for _, p := range []struct{ addr, use string }{
		{suite.Defaults.ListenAddress, "runner live metrics"},
		{net.JoinHostPort("127.0.0.1", strconv.Itoa(engine.DefaultPort)), "docker engine port"},
	} {
		if err := d.Listen(p.addr); err != nil {
			add("warn", "port "+p.addr, "in use (%s): %v", p.use, err)
		} else {
			add("ok", "port "+p.addr, "free (%s)", p.use)
		}
	}
	for _, tool := range []string{"guidellm", "vllm"} {
		if p, err := d.LookPath(tool); err == nil {
			add("ok", "tool "+tool, "%s", p)
		} else {
			add("warn", "tool "+tool, "not on PATH: --loadgen %s runs its container image instead", map[string]string{"guidellm": "guidellm", "vllm": "vllm-bench"}[tool])
		}
	}
	if d.Getenv("HF_TOKEN") == "" {
		add("warn", "HF_TOKEN", "not set: gated models (Llama) cannot be downloaded by a vLLM container")
	} else {
		add("ok", "HF_TOKEN", "set (passed to engine containers, never logged)")
	}
	return out
}

// freeCores says how large an engine this machine takes with the load
// generator beside it.
func freeCores(t *topology.Topology) Check {
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
		return Check{"warn", "free cores", "no engine allocation leaves a CPU for the load generator: docker runs need --force-overlap"}
	}
	return Check{"ok", "free cores", fmt.Sprintf("largest engine with a disjoint load generator: %d cores (%s, cpus %s)", best, a.Name, a.CPUList())}
}

func dockerChecks(ctx context.Context, d Deps) []Check {
	var out []Check
	c, err := d.Docker()
	if err != nil {
		return []Check{{"fail", "docker", fmt.Sprintf("client: %v", err)}}
	}
	if cl, ok := c.(io.Closer); ok {
		defer cl.Close()
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := c.ServerVersion(cctx)
	if err != nil {
		return []Check{{"fail", "docker", fmt.Sprintf("engine not reachable (DOCKER_HOST=%q): %v", d.Getenv("DOCKER_HOST"), err)}}
	}
	out = append(out, Check{"ok", "docker", fmt.Sprintf("engine %s (API %s) on %s/%s", v.Version, v.APIVersion, v.Os, v.Arch)})
	images := []string{engine.SimImage, guidellm.DefaultImage}
	if img, err := engine.DefaultImage(v.Arch); err == nil {
		images = append([]string{img}, images...)
	} else {
		out = append(out, Check{"warn", "vllm image", err.Error()})
	}
	for _, ref := range images {
		if _, err := c.ImageInspect(cctx, ref); err != nil {
			hint := "pulled on first use"
			if ref == engine.SimImage {
				hint = "make sim-image builds it"
			}
			out = append(out, Check{"warn", "image", fmt.Sprintf("%s not present (%s)", ref, hint)})
		} else {
			out = append(out, Check{"ok", "image", ref + " present"})
		}
	}
	if runtime.GOOS != "linux" {
		out = append(out, Check{"warn", "pinning", "cpusets and sched_setaffinity need Linux"})
	}
	return out
}

// ListenFree is Deps.Listen on this machine: whether addr can be listened
// on now.
func ListenFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
	}
	return err
}
