package orchestrate

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

// DryRun is what a dry run prints beyond the setup.
type DryRun struct {
	Secrets    map[string]string // passed to engine containers; printed redacted
	EnginePort int               // first port of docker engines (0: 8000)
	DockerHost string
	// Load describes how a cell's load runs, one line, then the commands
	// of a third-party load generator, if any.
	Load func(c suite.Cell) (string, []string)
}

// WriteDryRun prints the plan, each cell's placement, the exact engine
// container spec or in-process configuration, and the load generator's
// levels or command: everything runner start would do, without doing it.
func (st *Setup) WriteDryRun(w io.Writer, d DryRun) error {
	cfg, plan := st.Config, st.Plan
	fmt.Fprintf(w, "suite %s (%s): %d cells, %d load levels, %d skipped; %s\n",
		cfg.Suite.Name, cfg.Suite.Source, len(plan.Cells), plan.Benchmarks(), len(plan.Skipped), plan.Budget())
	lg := cfg.Loadgen
	if cfg.Suite.Offline() {
		lg = "none (vllm bench throughput runs the engine)"
	}
	fmt.Fprintf(w, "engine %s, load generator %s, results %s, live metrics %s\n", cfg.Engine, lg, cfg.Results, cfg.ListenAddress)
	if t := st.Topology; t != nil {
		fmt.Fprintf(w, "host: %s, %d CPUs, %d physical cores, %d NUMA nodes\n", cmp.Or(t.Model, "unknown CPU"), len(t.CPUs), t.PhysicalCores(), len(t.Nodes))
	}
	o := &Orchestrator{Plan: plan, Placements: st.Placements, Image: cfg.Image, Target: cfg.Target,
		Secrets: d.Secrets, EnginePort: d.EnginePort}
	image := cfg.Image
	if image == "" && cfg.Engine == "docker" {
		// The driver asks the daemon for its architecture; a dry run
		// assumes the daemon runs on this machine.
		image, _ = engine.DefaultImage(runtime.GOARCH)
	}
	for i, c := range plan.Cells {
		pl := st.Placements[i]
		fmt.Fprintf(w, "\ncell %d/%d %s\n", c.Index, len(plan.Cells), c.ID)
		fmt.Fprintf(w, "  model %s, workload %s (%s API), cores %d", c.Model, c.Workload, c.API, c.Cores)
		if c.Phase != "" {
			fmt.Fprintf(w, ", phase %s", c.Phase)
		}
		if c.Variant != "" {
			fmt.Fprintf(w, ", variant %s", c.Variant)
		}
		fmt.Fprintf(w, ", max_model_len %d\n", c.MaxModelLen)
		var lv []string
		for _, l := range c.Levels {
			lv = append(lv, l.Name)
		}
		if c.API != suite.APIOffline {
			fmt.Fprintf(w, "  levels: %s (each at most %gs / %d requests, then %gs of drain)\n", strings.Join(lv, ", "), cfg.Limits.MaxSeconds, cfg.Limits.MaxRequests, cfg.Limits.DrainTimeoutSeconds)
		}
		for k, a := range pl.Engines {
			fmt.Fprintf(w, "  engine %d placement: %s, cpus %s, mems %s, TP %d\n", k+1, a.Name, a.CPUList(), a.MemList(), a.TP)
		}
		if pl.KVCacheGiB > 0 {
			fmt.Fprintf(w, "  kv cache: %g GiB per instance\n", pl.KVCacheGiB)
		}
		if len(pl.Neighbour) > 0 {
			fmt.Fprintf(w, "  noisy neighbour on cpus %s\n", topology.FormatList(pl.Neighbour))
		}
		if len(pl.Loadgen) > 0 {
			fmt.Fprintf(w, "  runner and load generator pinned to cpus %s\n", topology.FormatList(pl.Loadgen))
		}
		if pl.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", pl.Note)
		}
		if c.API == suite.APIOffline {
			u, _ := cfg.Suite.UseCase(c.Workload)
			spec := o.CellSpecs(i)[0]
			where := "in-process simulator"
			if cfg.Engine == "docker" {
				where = "container " + image
			}
			fmt.Fprintf(w, "  batch (%s, no server): vllm %s\n", where,
				strings.Join(ThroughputArgs(u, spec, datasetHint(u), "RESULTS/batch.json", 0), " "))
			continue
		}
		for k, spec := range o.CellSpecs(i) {
			switch cfg.Engine {
			case "docker":
				cs, err := engine.BuildContainer(spec, image, "", engine.PublicHost(d.DockerHost), "XXXXXX")
				if err != nil {
					return fmt.Errorf("cell %s: %w", c.ID, err)
				}
				fmt.Fprintf(w, "  engine %d container:\n    %s\n", k+1, dockerRunLine(cs.Redacted()))
			case "sim":
				fmt.Fprintf(w, "  engine %d: in-process simulator, model %s, %d cores, %s\n", k+1, spec.Model, len(spec.CPUs), strings.Join(spec.ExtraArgs, " "))
			case "external":
				fmt.Fprintf(w, "  engine %d: external %s, model %s\n", k+1, spec.URL, cmp.Or(spec.Model, "auto-detected from /v1/models"))
			}
		}
		load, commands := d.Load(c)
		fmt.Fprintf(w, "  load: %s\n", load)
		for _, line := range commands {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	if len(plan.Skipped) > 0 {
		fmt.Fprintln(w, "\nskipped:")
		for _, c := range plan.Skipped {
			fmt.Fprintf(w, "  %s: %s\n", c.ID, c.Skip)
		}
	}
	return nil
}

// dockerRunLine renders a container spec as the equivalent docker run
// command, for people to read and reproduce.
func dockerRunLine(cs engine.ContainerSpec) string {
	h := cs.HostConfig
	args := []string{"docker run -d --name " + cs.Name, "--network " + string(h.NetworkMode)}
	if h.CpusetCpus != "" {
		args = append(args, "--cpuset-cpus "+h.CpusetCpus)
	}
	if h.CpusetMems != "" {
		args = append(args, "--cpuset-mems "+h.CpusetMems)
	}
	args = append(args, "--shm-size "+strconv.FormatInt(h.ShmSize, 10))
	for _, c := range h.CapAdd {
		args = append(args, "--cap-add "+c)
	}
	for _, s := range h.SecurityOpt {
		args = append(args, "--security-opt "+s)
	}
	for _, b := range h.Binds {
		args = append(args, "-v "+b)
	}
	for _, e := range cs.Config.Env {
		args = append(args, "-e "+shellQuote(e))
	}
	for _, k := range slices.Sorted(maps.Keys(cs.Config.Labels)) {
		args = append(args, "--label "+shellQuote(k+"="+cs.Config.Labels[k]))
	}
	last := []string{cs.Config.Image}
	for _, a := range cs.Config.Cmd {
		last = append(last, shellQuote(a))
	}
	args = append(args, strings.Join(last, " "))
	return strings.Join(args, " \\\n      ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$|&;<>()*?[]{}~`!#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// datasetHint is where an offline use case's dataset file is looked for.
func datasetHint(u suite.UseCase) string {
	if f := suite.Datasets[u.Dataset]; f != "" {
		return "$SERVEBENCH_DATASETS/" + f
	}
	return ""
}
