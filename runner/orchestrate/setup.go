package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

// ErrNoTopology is returned by NewSetup when the docker engine needs the
// CPU topology and it cannot be read; every other error of NewSetup is bad
// input.
var ErrNoTopology = errors.New("the docker engine needs the CPU topology")

// Setup is everything resolved before a run begins: the configuration, the
// plan and where each cell runs.
type Setup struct {
	Config     suite.Config
	Plan       *suite.Plan
	Topology   *topology.Topology // nil when unknown or not this machine's
	Placements []Placement
	Place      PlaceOptions
}

// SetupOptions are what NewSetup resolves.
type SetupOptions struct {
	Suite           string          // a built-in suite's name or a suite file
	Env, Flags      suite.Overrides // the SERVEBENCH_* variables and the flags given
	ReserveFrontend bool
	TopologyRoot    string // where /sys is read: "/" or a fixture machine
	DockerHost      string // DOCKER_HOST: a remote daemon's cores are not pinned from here
}

// NewSetup resolves the suite (defaults < file < environment < flags),
// plans its cells and places them on the machine.
func NewSetup(o SetupOptions) (*Setup, error) {
	if o.Suite == "" {
		return nil, fmt.Errorf("start: --suite is required (see runner suites)")
	}
	s, err := suite.Lookup(o.Suite)
	if err != nil {
		return nil, err
	}
	cfg, err := suite.Resolve(s, o.Env, o.Flags)
	if err != nil {
		return nil, err
	}
	plan, err := suite.NewPlan(cfg)
	if err != nil {
		return nil, err
	}
	if len(plan.Cells) == 0 {
		return nil, fmt.Errorf("start: every cell of the plan is skipped (runner show %s lists why)", s.Name)
	}
	po := PlaceOptions{Engine: cfg.Engine, NUMANode: cfg.NUMANode, TP: cfg.TP, ForceOverlap: cfg.ForceOverlap, ReserveFrontend: o.ReserveFrontend}
	if po.EngineCPUs, err = topology.ParseList(cfg.EngineCPUs); err != nil {
		return nil, fmt.Errorf("engine cpus: %v", err)
	}
	if po.LoadgenCPUs, err = topology.ParseList(cfg.LoadgenCPUs); err != nil {
		return nil, fmt.Errorf("loadgen cpus: %v", err)
	}
	topo, terr := topology.Read(o.TopologyRoot)
	if terr != nil && cfg.Engine == "docker" {
		return nil, fmt.Errorf("start: %w: %w", ErrNoTopology, terr)
	}
	var pls []Placement
	if cfg.Engine == "docker" && engine.RemoteDocker(o.DockerHost) {
		// This machine's topology says nothing about the engine's: the
		// user must pin by hand.
		topo, po.Engine = nil, "external-docker"
		pls = make([]Placement, len(plan.Cells))
		for i := range pls {
			pls[i].Note = "remote Docker daemon: cores are not pinned from here"
		}
	} else if pls, err = Place(plan, topo, po); err != nil {
		return nil, err
	}
	return &Setup{Config: cfg, Plan: plan, Topology: topo, Placements: pls, Place: po}, nil
}

// Models lists the models of the plan's cells, each once, in order.
func (s *Setup) Models() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range s.Plan.Cells {
		if !seen[c.Model] {
			seen[c.Model] = true
			out = append(out, c.Model)
		}
	}
	return out
}

// DetectModel asks an external engine which model it serves: the first id
// of /v1/models, with the API key.
func DetectModel(ctx context.Context, target, apiKey string) (string, error) {
	base, err := engine.NormalizeURL(target)
	if err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	h := http.Header{}
	if apiKey != "" {
		h.Set("Authorization", "Bearer "+apiKey)
	}
	model, err := loadgen.ResolveModel(ctx, http.DefaultClient, base, h, loadgen.DefaultProbeTimeout)
	if err != nil {
		return "", fmt.Errorf("external engine: detect the model (%s): %w", base, err)
	}
	return model, nil
}

// NewDriver returns the engine driver a configuration names (sim, docker,
// external) and what closes it; the Docker client is configured from the
// DOCKER_* variables read through getenv.
func NewDriver(name string, log *slog.Logger, getenv func(string) string) (engine.Driver, func(), error) {
	switch name {
	case "external":
		return engine.NewExternal(&http.Client{}, log), func() {}, nil
	case "docker":
		c, err := engine.NewDockerClientFromEnv(getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("docker: %w", err)
		}
		d, err := engine.NewDocker(engine.DockerConfig{Client: c, Log: log, PublicHost: engine.PublicHost(getenv("DOCKER_HOST"))})
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return d, func() { c.Close() }, nil
	case "sim":
		return engine.NewSim(simulator.DefaultConfig(), loadgen.NewClient(), log), func() {}, nil
	}
	return nil, nil, fmt.Errorf("engine: unknown engine %q", name)
}

// HostInfo describes this machine for the run manifest, from the topology
// when known.
func HostInfo(t *topology.Topology) store.Host {
	h := store.Host{Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if t != nil {
		h.CPUModel, h.CPUs, h.Cores, h.NUMANodes = t.Model, len(t.CPUs), t.PhysicalCores(), len(t.Nodes)
	}
	return h
}

// NewRun creates the plan's run directory under st: every planned cell
// pending, every skipped cell skipped with its reason; the run records
// args, the command's arguments, for RunArgs.
func (s *Setup) NewRun(st *store.Store, id string, args []string) (*store.Run, error) {
	var cells []store.CellState
	for _, c := range s.Plan.Cells {
		cells = append(cells, store.CellState{ID: c.ID})
	}
	for _, c := range s.Plan.Skipped {
		cells = append(cells, store.CellState{ID: c.ID, Status: store.CellSkipped, Error: c.Skip})
	}
	return st.Create(s.Config.Suite.Name, id, cells, map[string]any{"args": args, "engine": s.Config.Engine, "loadgen": s.Config.Loadgen})
}

// RunArgs are the arguments run r was started with (NewRun's args).
func RunArgs(r *store.Run) []string {
	cfg, _ := r.State().Config.(map[string]any)
	args, _ := cfg["args"].([]any)
	out := make([]string, 0, len(args))
	for _, a := range args {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

// CheckResume refuses to resume run r with a plan that has a cell r does
// not.
func (s *Setup) CheckResume(r *store.Run) error {
	have := map[string]bool{}
	for _, c := range r.State().Cells {
		have[c.ID] = true
	}
	for _, c := range s.Plan.Cells {
		if !have[c.ID] {
			return fmt.Errorf("resume %s: the plan has cell %s that the run does not", r.ID(), c.ID)
		}
	}
	return nil
}
