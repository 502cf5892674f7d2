package orchestrate

import (
	"fmt"

	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

// Placement is where one cell's engine (or engines) and the load generator
// run, decided before anything starts so that --dry-run shows it and a plan
// that cannot fit fails before the first cell.
type Placement struct {
	Engines    []topology.Allocation // one per engine instance; empty when not pinned
	Loadgen    []int                 // the runner's own cpuset; empty = not pinned
	Neighbour  []int                 // the noisy neighbour's cpuset (contention)
	KVCacheGiB float64               // VLLM_CPU_KVCACHE_SPACE per instance; 0 = engine default
	Simulated  bool                  // in-process simulator: cores are modelled, nothing is pinned
	Overlap    bool                  // forced overlap of engine and load generator
	Note       string
}

// PlaceOptions are the placement knobs of a run.
type PlaceOptions struct {
	Engine       string // sim, docker, external
	EngineCPUs   []int  // explicit engine cpuset
	LoadgenCPUs  []int  // explicit load-generator cpuset
	NUMANode     int    // -1 = automatic
	TP           int    // 0 = automatic
	ForceOverlap bool
	// ReserveFrontend keeps one CPU of each engine's cpuset out of its OMP
	// bind, for vLLM's API server and tokenizer.
	ReserveFrontend bool
	// LoadgenCores is how many CPUs the load generator gets when not given
	// explicitly; 2 when zero.
	LoadgenCores int
}

// Place decides every cell's placement. topo may be nil only for the sim
// and external engines.
func Place(p *suite.Plan, topo *topology.Topology, o PlaceOptions) ([]Placement, error) {
	out := make([]Placement, len(p.Cells))
	for i, c := range p.Cells {
		pl, err := placeCell(p, c, topo, o)
		if err != nil {
			return nil, fmt.Errorf("cell %s: %w", c.ID, err)
		}
		out[i] = pl
	}
	return out, nil
}

func placeCell(p *suite.Plan, c suite.Cell, topo *topology.Topology, o PlaceOptions) (Placement, error) {
	switch o.Engine {
	case "external":
		// Not our server: only the runner can be pinned, and only on request.
		return Placement{Loadgen: o.LoadgenCPUs, Note: "external engine: its cores are not managed"}, nil
	case "sim":
		note := fmt.Sprintf("in-process simulator modelling %d cores; nothing pinned", c.Cores)
		if c.Variant == suite.VariantCPUNeighbour || c.Variant == suite.VariantMemBWNeighbour {
			note += "; a noisy neighbour cannot slow a modelled engine, so none is started (use --engine docker)"
		}
		return Placement{Simulated: true, Loadgen: o.LoadgenCPUs, Note: note}, nil
	}
	if topo == nil {
		return Placement{}, fmt.Errorf("no CPU topology for the %s engine", o.Engine)
	}
	instances := 1
	if c.Variant == suite.VariantInstances {
		instances = p.Config.Suite.Contention.Instances
		if instances == 0 {
			instances = 2
		}
	}
	var pl Placement
	exclude := append([]int(nil), o.LoadgenCPUs...)
	for n := 0; n < instances; n++ {
		req := topology.Request{Cores: c.Cores, TP: o.TP, NUMANode: o.NUMANode, Exclude: exclude, ReserveFrontend: o.ReserveFrontend}
		if n == 0 && len(o.EngineCPUs) > 0 {
			req.CPUs = o.EngineCPUs
		}
		a, err := topo.Allocate(req)
		if err != nil {
			if instances > 1 {
				return Placement{}, fmt.Errorf("engine instance %d of %d: %w", n+1, instances, err)
			}
			return Placement{}, err
		}
		pl.Engines = append(pl.Engines, a)
		exclude = append(exclude, a.CPUs...)
	}
	engineCPUs := pl.allEngineCPUs()
	// Model sizes decide the KV cache; unknown models keep the engine's default.
	if m, ok := suite.LookupModel(c.Model); ok && !m.Embedding {
		kv := topology.KV{WeightBytes: m.WeightBytes, KVBytesPerToken: m.KVBytesPerToken, MaxModelLen: c.MaxModelLen}
		want := float64(suite.Workloads[c.Workload].KVCacheGiB)
		if want == 0 {
			want = 4
		}
		kv.CacheGiB = topo.SizeKV(pl.Engines[0], kv, want)
		for _, a := range pl.Engines {
			if err := topo.CheckKV(a, kv); err != nil {
				return Placement{}, err
			}
		}
		pl.KVCacheGiB = kv.CacheGiB
	}
	union := topology.Allocation{CPUs: engineCPUs}
	for _, a := range pl.Engines {
		union.Mems = append(union.Mems, a.Mems...)
	}
	if c.Variant == suite.VariantCPUNeighbour || c.Variant == suite.VariantMemBWNeighbour {
		want := p.Config.Suite.Contention.NeighbourCores
		if want == 0 {
			want = 1
		}
		pl.Neighbour = neighbourCPUs(topo, pl.Engines[0], want, o.LoadgenCPUs)
		if len(pl.Neighbour) == 0 {
			return Placement{}, fmt.Errorf("no free CPU for the noisy neighbour beside %s", pl.Engines[0].CPUList())
		}
		union.CPUs = append(union.CPUs, pl.Neighbour...)
	}
	if len(o.LoadgenCPUs) > 0 {
		pl.Loadgen = o.LoadgenCPUs
	} else {
		want := o.LoadgenCores
		if want == 0 {
			want = 2
		}
		pl.Loadgen = topo.LoadgenCPUs(union, want)
	}
	if len(pl.Loadgen) == 0 {
		if !o.ForceOverlap {
			return Placement{}, fmt.Errorf("no CPU left for the load generator beside the engine's %s (give fewer cores, --loadgen-cpus, or --force-overlap)",
				topology.FormatList(engineCPUs))
		}
		pl.Overlap = true
		pl.Note = "load generator unpinned: it shares the engine's CPUs (--force-overlap)"
		return pl, nil
	}
	if err := topology.CheckDisjoint(engineCPUs, pl.Loadgen, o.ForceOverlap); err != nil {
		return Placement{}, err
	}
	pl.Overlap = overlaps(engineCPUs, pl.Loadgen)
	return pl, nil
}

// neighbourCPUs picks the noisy neighbour's CPUs: free physical cores on the
// engine's own NUMA node first (they share its memory controller and last
// level cache), then anything else free.
func neighbourCPUs(topo *topology.Topology, engine topology.Allocation, want int, avoid []int) []int {
	busy := map[int]bool{}
	for _, c := range append(append([]int(nil), engine.CPUs...), avoid...) {
		busy[c] = true
	}
	var out []int
	for _, pass := range []bool{true, false} {
		for _, n := range topo.Nodes {
			same := false
			for _, m := range engine.Mems {
				same = same || m == n.ID
			}
			if same != pass {
				continue
			}
			for _, c := range n.Physical {
				if len(out) < want && !busy[c] {
					out = append(out, c)
					busy[c] = true
				}
			}
		}
	}
	return out
}

func (p Placement) allEngineCPUs() []int {
	var out []int
	for _, a := range p.Engines {
		out = append(out, a.CPUs...)
	}
	return out
}

func overlaps(a, b []int) bool {
	m := map[int]bool{}
	for _, c := range a {
		m[c] = true
	}
	for _, c := range b {
		if m[c] {
			return true
		}
	}
	return false
}
