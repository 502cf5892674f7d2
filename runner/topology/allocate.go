package topology

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Request asks for an engine cpuset.
type Request struct {
	Cores    int   // physical cores for the engine
	TP       int   // tensor-parallel degree; 0 = choose
	NUMANode int   // pin to this node (TP must be 1); -1 = choose
	CPUs     []int // explicit cpuset: overrides the choice of CPUs, nodes and TP follow from it
	Exclude  []int // CPUs the engine must not get (an explicit load-generator cpuset)
	// ReserveFrontend keeps one CPU of the cpuset out of the OMP bind for
	// vLLM's API server and tokenizer (vLLM's CPU guidance).
	ReserveFrontend bool
}

// Allocation is an engine's cpuset and what follows from it.
type Allocation struct {
	CPUs  []int   // the container's cpuset-cpus
	Mems  []int   // its cpuset-mems: the NUMA nodes of CPUs
	TP    int     // tensor-parallel degree: one rank per node
	Ranks [][]int // the CPUs each rank's OMP threads are bound to
	Name  string  // e.g. 32cores-numa0-tp1, 64cores-numa0-1-tp2
}

// TPChoices are the tensor-parallel degrees tried, in order.
var TPChoices = []int{1, 2, 4, 8}

// ErrNoFit is wrapped by Allocate's error when the request cannot be met.
var ErrNoFit = errors.New("does not fit this machine")

// Allocate chooses the engine's CPUs like the seed framework: physical cores
// only; on machines with 3 or more NUMA nodes node 0 is kept for
// housekeeping (the OS, the runner, the load generator); nodes with the most
// free physical cores first (node order breaks ties); the first TP in
// TPChoices that divides the cores and fits cores/TP on each of TP nodes.
func (t *Topology) Allocate(r Request) (Allocation, error) {
	if len(r.CPUs) > 0 {
		return t.explicit(r)
	}
	if r.Cores <= 0 {
		return Allocation{}, fmt.Errorf("cores: %d is not a positive core count", r.Cores)
	}
	excluded := set(r.Exclude)
	free := map[int][]int{} // node -> usable physical cores
	var order []int
	for _, n := range t.Nodes {
		if len(t.Nodes) >= 3 && n.ID == 0 {
			continue
		}
		for _, c := range n.Physical {
			if !excluded[c] {
				free[n.ID] = append(free[n.ID], c)
			}
		}
		order = append(order, n.ID)
	}
	sort.SliceStable(order, func(i, j int) bool { return len(free[order[i]]) > len(free[order[j]]) })

	if r.NUMANode >= 0 {
		if r.TP > 1 {
			return Allocation{}, fmt.Errorf("numa node %d: pinning to one node needs TP 1, not %d", r.NUMANode, r.TP)
		}
		if !t.hasNode(r.NUMANode) {
			return Allocation{}, fmt.Errorf("numa node %d: no such node (nodes: %s)", r.NUMANode, t.nodeList())
		}
		// An explicit node may be the housekeeping node: the user chose it.
		var avail []int
		for _, c := range t.Nodes[t.nodeIndex(r.NUMANode)].Physical {
			if !excluded[c] {
				avail = append(avail, c)
			}
		}
		if len(avail) < r.Cores {
			return Allocation{}, fmt.Errorf("numa node %d: %d cores requested, %d free physical cores: %w", r.NUMANode, r.Cores, len(avail), ErrNoFit)
		}
		return t.build([][]int{avail[:r.Cores]}, r), nil
	}

	fits := func(tp int) bool {
		if tp > len(order) || r.Cores%tp != 0 {
			return false
		}
		for _, n := range order[:tp] {
			if len(free[n]) < r.Cores/tp {
				return false
			}
		}
		return true
	}
	tps := TPChoices
	if r.TP > 0 {
		tps = []int{r.TP}
	}
	for _, tp := range tps {
		if !fits(tp) {
			continue
		}
		nodes := append([]int(nil), order[:tp]...)
		sort.Ints(nodes)
		ranks := make([][]int, tp)
		for i, n := range nodes {
			ranks[i] = free[n][:r.Cores/tp]
		}
		return t.build(ranks, r), nil
	}
	what := fmt.Sprintf("%d cores", r.Cores)
	if r.TP > 0 {
		what += fmt.Sprintf(" with TP=%d", r.TP)
	}
	return Allocation{}, fmt.Errorf("cannot allocate %s (%w); valid combinations: %s", what, ErrNoFit, validCombos(order, free))
}

// validCombos lists, for each TP that fits at all, the core counts it
// accepts: multiples of TP up to TP × the smallest free count of its nodes.
func validCombos(order []int, free map[int][]int) string {
	var out []string
	for _, tp := range TPChoices {
		if tp > len(order) {
			break
		}
		per := len(free[order[tp-1]]) // order is sorted by free count, descending
		if per == 0 {
			continue
		}
		switch {
		case per == 1:
			out = append(out, fmt.Sprintf("%d cores (TP=%d)", tp, tp))
		case tp == 1:
			out = append(out, fmt.Sprintf("1-%d cores (TP=1)", per))
		default:
			out = append(out, fmt.Sprintf("%d-%d cores in steps of %d (TP=%d)", tp, per*tp, tp, tp))
		}
	}
	if len(out) == 0 {
		return "none (no free physical core)"
	}
	return strings.Join(out, ", ")
}

// explicit honours a user-given cpuset: its nodes become the mems, one rank
// per node.
func (t *Topology) explicit(r Request) (Allocation, error) {
	byNode := map[int][]int{}
	var nodes []int
	excluded := set(r.Exclude)
	for _, c := range r.CPUs {
		n := t.NodeOf(c)
		if n < 0 {
			return Allocation{}, fmt.Errorf("engine cpus: cpu %d is not online on this machine", c)
		}
		if excluded[c] {
			return Allocation{}, fmt.Errorf("engine cpus: cpu %d is also in the load generator's cpuset", c)
		}
		if _, ok := byNode[n]; !ok {
			nodes = append(nodes, n)
		}
		byNode[n] = append(byNode[n], c)
	}
	sort.Ints(nodes)
	if r.TP > 0 && r.TP != len(nodes) {
		return Allocation{}, fmt.Errorf("engine cpus: %s spans %d NUMA nodes, TP=%d needs one node per rank", FormatList(r.CPUs), len(nodes), r.TP)
	}
	ranks := make([][]int, len(nodes))
	for i, n := range nodes {
		ranks[i] = byNode[n]
	}
	return t.build(ranks, r), nil
}

func (t *Topology) build(ranks [][]int, r Request) Allocation {
	a := Allocation{TP: len(ranks)}
	seen := map[int]bool{}
	for _, rank := range ranks {
		rank = append([]int(nil), rank...)
		a.CPUs = append(a.CPUs, rank...)
		a.Ranks = append(a.Ranks, rank)
		for _, c := range rank {
			if n := t.NodeOf(c); !seen[n] {
				seen[n] = true
				a.Mems = append(a.Mems, n)
			}
		}
	}
	sort.Ints(a.CPUs)
	sort.Ints(a.Mems)
	if r.ReserveFrontend {
		last := a.Ranks[len(a.Ranks)-1]
		if len(last) > 1 {
			a.Ranks[len(a.Ranks)-1] = last[:len(last)-1]
		}
	}
	mems := make([]string, len(a.Mems))
	for i, m := range a.Mems {
		mems[i] = strconv.Itoa(m)
	}
	a.Name = fmt.Sprintf("%dcores-numa%s-tp%d", len(a.CPUs), strings.Join(mems, "-"), a.TP)
	return a
}

// Env is the environment vLLM's CPU backend needs for this allocation:
// VLLM_CPU_OMP_THREADS_BIND with one CPU list per rank ("0-31|32-63"), set
// always, because "auto" has not been shown to honour a container cpuset;
// OMP_NUM_THREADS, the threads of one rank.
func (a Allocation) Env() map[string]string {
	binds := make([]string, len(a.Ranks))
	for i, r := range a.Ranks {
		binds[i] = FormatList(r)
	}
	return map[string]string{
		"VLLM_CPU_OMP_THREADS_BIND": strings.Join(binds, "|"),
		"OMP_NUM_THREADS":           strconv.Itoa(len(a.Ranks[0])),
	}
}

// CPUList is a.CPUs in list syntax.
func (a Allocation) CPUList() string { return FormatList(a.CPUs) }

// MemList is a.Mems in list syntax.
func (a Allocation) MemList() string { return FormatList(a.Mems) }

// LoadgenCPUs chooses up to want CPUs for the load generator outside the
// engine's cpuset: first physical cores of nodes the engine does not use,
// then remaining physical cores of its nodes, then SMT siblings of cores the
// engine does not use. Siblings of engine cores are never chosen: they share
// the core's execution units. An empty result means nothing is free.
func (t *Topology) LoadgenCPUs(engine Allocation, want int) []int {
	used := set(engine.CPUs)
	engineCores := map[[2]int]bool{}
	for _, c := range t.CPUs {
		if used[c.ID] {
			engineCores[[2]int{c.Package, c.Core}] = true
		}
	}
	engineNode := set(engine.Mems)
	var tiers [3][]int
	for _, n := range t.Nodes {
		for _, c := range n.Physical {
			switch {
			case used[c]:
			case !engineNode[n.ID]:
				tiers[0] = append(tiers[0], c)
			default:
				tiers[1] = append(tiers[1], c)
			}
		}
		for _, c := range n.Siblings {
			cpu := t.cpu(c)
			if !used[c] && !engineCores[[2]int{cpu.Package, cpu.Core}] {
				tiers[2] = append(tiers[2], c)
			}
		}
	}
	var out []int
	for _, tier := range tiers {
		for _, c := range tier {
			if len(out) == want {
				break
			}
			out = append(out, c)
		}
	}
	sort.Ints(out)
	return out
}

// CheckDisjoint returns an error when the engine and load-generator cpusets
// share a CPU, unless force is set (the caller then records the overlap).
func CheckDisjoint(engine, loadgen []int, force bool) error {
	e := set(engine)
	var both []int
	for _, c := range loadgen {
		if e[c] {
			both = append(both, c)
		}
	}
	if len(both) == 0 || force {
		return nil
	}
	return fmt.Errorf("load generator cpuset %s overlaps the engine's %s on cpus %s: the load generator would steal the engine's cores (use --force-overlap to run anyway)",
		FormatList(loadgen), FormatList(engine), FormatList(both))
}

func (t *Topology) cpu(id int) CPU {
	for _, c := range t.CPUs {
		if c.ID == id {
			return c
		}
	}
	return CPU{ID: id, Node: -1}
}

func (t *Topology) hasNode(id int) bool { return t.nodeIndex(id) >= 0 }

func (t *Topology) nodeIndex(id int) int {
	for i, n := range t.Nodes {
		if n.ID == id {
			return i
		}
	}
	return -1
}

func (t *Topology) nodeList() string {
	ids := make([]int, len(t.Nodes))
	for i, n := range t.Nodes {
		ids[i] = n.ID
	}
	return FormatList(ids)
}

func set(ids []int) map[int]bool {
	m := make(map[int]bool, len(ids))
	for _, i := range ids {
		m[i] = true
	}
	return m
}
