package orchestrate

import (
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

func planFor(t *testing.T, name string, flags suite.Overrides) *suite.Plan {
	t.Helper()
	s, err := suite.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := suite.Resolve(s, suite.Overrides{}, flags)
	if err != nil {
		t.Fatal(err)
	}
	p, err := suite.NewPlan(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func topo(t *testing.T, machine string) *topology.Topology {
	t.Helper()
	tp, err := topology.Read("../topology/testdata/" + machine)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func docker() *string { s := "docker"; return &s }

func TestPlaceDocker(t *testing.T) {
	p := planFor(t, "scaling", suite.Overrides{Engine: docker(), Cores: []int{8, 24}})
	pls, err := Place(p, topo(t, "two-node"), PlaceOptions{Engine: "docker", NUMANode: -1})
	if err != nil {
		t.Fatal(err)
	}
	a := pls[0].Engines[0]
	if a.CPUList() != "0-7" || topology.FormatList(pls[0].Loadgen) != "16-17" || pls[0].KVCacheGiB != 10 || pls[0].Overlap {
		t.Errorf("8 cores: engine %s loadgen %v kv %g", a.CPUList(), pls[0].Loadgen, pls[0].KVCacheGiB)
	}
	// 24 cores take 12 on each node (TP 2); the load generator gets the
	// remaining physical cores of the engine's nodes, never a sibling.
	if a := pls[1].Engines[0]; a.Name != "24cores-numa0-1-tp2" || topology.FormatList(pls[1].Loadgen) != "12-13" {
		t.Errorf("24 cores: %s, loadgen %v", a.Name, pls[1].Loadgen)
	}
}

func TestPlaceNoRoomForLoadgen(t *testing.T) {
	p := planFor(t, "scaling", suite.Overrides{Engine: docker(), Cores: []int{4}})
	_, err := Place(p, topo(t, "one-node"), PlaceOptions{Engine: "docker", NUMANode: -1})
	want := "cell TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_4c: no CPU left for the load generator beside the engine's 0-3 (give fewer cores, --loadgen-cpus, or --force-overlap)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
	pls, err := Place(p, topo(t, "one-node"), PlaceOptions{Engine: "docker", NUMANode: -1, ForceOverlap: true})
	if err != nil || !pls[0].Overlap || len(pls[0].Loadgen) != 0 {
		t.Errorf("forced: %+v %v", pls, err)
	}
	// An explicit overlapping load-generator cpuset is refused too.
	_, err = Place(p, topo(t, "one-node"), PlaceOptions{Engine: "docker", NUMANode: -1, EngineCPUs: []int{0, 1, 2, 3}, LoadgenCPUs: []int{3}})
	if err == nil || !strings.Contains(err.Error(), "cpu 3 is also in the load generator's cpuset") {
		t.Errorf("explicit overlap: %v", err)
	}
}

func TestPlaceContention(t *testing.T) {
	p := planFor(t, "contention", suite.Overrides{Engine: docker(), Cores: []int{4}})
	pls, err := Place(p, topo(t, "two-node"), PlaceOptions{Engine: "docker", NUMANode: -1})
	if err != nil {
		t.Fatal(err)
	}
	byVariant := map[string]Placement{}
	for i, c := range p.Cells {
		byVariant[c.Variant] = pls[i]
	}
	if n := byVariant["cpu-neighbour"].Neighbour; topology.FormatList(n) != "4-5" {
		t.Errorf("neighbour on the engine's node: %v", n)
	}
	inst := byVariant["instances"]
	if len(inst.Engines) != 2 || inst.Engines[0].CPUList() != "0-3" || inst.Engines[1].CPUList() != "16-19" {
		t.Errorf("instances on disjoint cpusets: %+v", inst.Engines)
	}
}

func TestPlaceSimAndExternal(t *testing.T) {
	p := planFor(t, "smoke", suite.Overrides{})
	pls, err := Place(p, nil, PlaceOptions{Engine: "sim", NUMANode: -1})
	if err != nil || !pls[0].Simulated || len(pls[0].Engines) != 0 {
		t.Errorf("sim: %+v %v", pls, err)
	}
	if _, err := Place(planFor(t, "smoke", suite.Overrides{Engine: docker()}), nil, PlaceOptions{Engine: "docker", NUMANode: -1}); err == nil {
		t.Error("docker without topology accepted")
	}
}

func TestRunInfoCPUSets(t *testing.T) {
	p := planFor(t, "scaling", suite.Overrides{Engine: docker(), Cores: []int{8, 24}})
	pls, err := Place(p, topo(t, "two-node"), PlaceOptions{Engine: "docker", NUMANode: -1})
	if err != nil {
		t.Fatal(err)
	}
	o := &Orchestrator{Plan: p, Placements: pls}
	if got := o.cpusets(); got != "0-7 0-11,16-27" {
		t.Errorf("cpusets = %q", got)
	}
}
