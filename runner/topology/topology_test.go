package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func read(t *testing.T, machine string) *Topology {
	t.Helper()
	topo, err := Read("testdata/" + machine)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		machine            string
		cpus, nodes, cores int
		node0Physical      string
		node0Siblings      string
		model              string
		memGiB             int64
	}{
		{"one-node", 8, 1, 4, "0-3", "4-7", "Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", 16},
		{"two-node", 64, 2, 32, "0-15", "32-47", "Intel(R) Xeon(R) Platinum 8480+", 128},
		{"four-node", 32, 4, 32, "0-7", "", "AMD EPYC 9354 32-Core Processor", 32},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			topo := read(t, tc.machine)
			if len(topo.CPUs) != tc.cpus || len(topo.Nodes) != tc.nodes || topo.PhysicalCores() != tc.cores {
				t.Errorf("cpus %d nodes %d cores %d", len(topo.CPUs), len(topo.Nodes), topo.PhysicalCores())
			}
			n0 := topo.Nodes[0]
			if FormatList(n0.Physical) != tc.node0Physical || FormatList(n0.Siblings) != tc.node0Siblings {
				t.Errorf("node 0 physical %s siblings %s", FormatList(n0.Physical), FormatList(n0.Siblings))
			}
			if topo.Model != tc.model || n0.MemTotal != tc.memGiB<<30 {
				t.Errorf("model %q mem %d", topo.Model, n0.MemTotal)
			}
		})
	}
}

func TestReadThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	topo, err := Read("/")
	if err != nil {
		t.Fatal(err)
	}
	if topo.PhysicalCores() == 0 || len(topo.Nodes) == 0 {
		t.Errorf("no cores: %+v", topo)
	}
}

func TestAllocate(t *testing.T) {
	for _, tc := range []struct {
		machine string
		req     Request
		cpus    string
		mems    string
		name    string
		bind    string
		omp     string
	}{
		// One node: physical cores first, never an SMT sibling.
		{"one-node", Request{Cores: 4, NUMANode: -1}, "0-3", "0", "4cores-numa0-tp1", "0-3", "4"},
		{"one-node", Request{Cores: 2, NUMANode: -1, Exclude: []int{0}}, "1-2", "0", "2cores-numa0-tp1", "1-2", "2"},
		{"one-node", Request{Cores: 4, NUMANode: -1, ReserveFrontend: true}, "0-3", "0", "4cores-numa0-tp1", "0-2", "3"},
		// Two nodes: TP 1 while a node holds the cores, TP 2 beyond.
		{"two-node", Request{Cores: 16, NUMANode: -1}, "0-15", "0", "16cores-numa0-tp1", "0-15", "16"},
		{"two-node", Request{Cores: 32, NUMANode: -1}, "0-31", "0-1", "32cores-numa0-1-tp2", "0-15|16-31", "16"},
		{"two-node", Request{Cores: 8, NUMANode: 1}, "16-23", "1", "8cores-numa1-tp1", "16-23", "8"},
		{"two-node", Request{Cores: 8, TP: 2, NUMANode: -1}, "0-3,16-19", "0-1", "8cores-numa0-1-tp2", "0-3|16-19", "4"},
		// The node with more free cores wins: node 0 has 4 excluded.
		{"two-node", Request{Cores: 8, NUMANode: -1, Exclude: []int{0, 1, 2, 3}}, "16-23", "1", "8cores-numa1-tp1", "16-23", "8"},
		// Four nodes: node 0 is kept for housekeeping unless asked for.
		{"four-node", Request{Cores: 8, NUMANode: -1}, "8-15", "1", "8cores-numa1-tp1", "8-15", "8"},
		{"four-node", Request{Cores: 16, NUMANode: -1}, "8-23", "1-2", "16cores-numa1-2-tp2", "8-15|16-23", "8"},
		{"four-node", Request{Cores: 4, NUMANode: 0}, "0-3", "0", "4cores-numa0-tp1", "0-3", "4"},
		// Explicit cpus: nodes and TP follow.
		{"two-node", Request{CPUs: []int{4, 5, 6, 7, 20, 21, 22, 23}, NUMANode: -1}, "4-7,20-23", "0-1", "8cores-numa0-1-tp2", "4-7|20-23", "4"},
	} {
		t.Run(tc.machine+"/"+tc.name, func(t *testing.T) {
			a, err := read(t, tc.machine).Allocate(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			env := a.Env()
			got := []string{a.CPUList(), a.MemList(), a.Name, env["VLLM_CPU_OMP_THREADS_BIND"], env["OMP_NUM_THREADS"]}
			want := []string{tc.cpus, tc.mems, tc.name, tc.bind, tc.omp}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestAllocateErrors(t *testing.T) {
	for _, tc := range []struct {
		machine string
		req     Request
		want    string
	}{
		{"one-node", Request{Cores: 6, NUMANode: -1}, "cannot allocate 6 cores (does not fit this machine); valid combinations: 1-4 cores (TP=1)"},
		{"two-node", Request{Cores: 48, NUMANode: -1}, "cannot allocate 48 cores (does not fit this machine); valid combinations: 1-16 cores (TP=1), 2-32 cores in steps of 2 (TP=2)"},
		{"two-node", Request{Cores: 17, NUMANode: -1}, "cannot allocate 17 cores (does not fit this machine); valid combinations: 1-16 cores (TP=1), 2-32 cores in steps of 2 (TP=2)"},
		{"two-node", Request{Cores: 8, TP: 4, NUMANode: -1}, "cannot allocate 8 cores with TP=4 (does not fit this machine); valid combinations: 1-16 cores (TP=1), 2-32 cores in steps of 2 (TP=2)"},
		{"four-node", Request{Cores: 32, NUMANode: -1}, "cannot allocate 32 cores (does not fit this machine); valid combinations: 1-8 cores (TP=1), 2-16 cores in steps of 2 (TP=2)"},
		{"two-node", Request{Cores: 20, NUMANode: 0}, "numa node 0: 20 cores requested, 16 free physical cores: does not fit this machine"},
		{"two-node", Request{Cores: 2, NUMANode: 3}, "numa node 3: no such node (nodes: 0-1)"},
		{"two-node", Request{Cores: 2, NUMANode: 1, TP: 2}, "numa node 1: pinning to one node needs TP 1, not 2"},
		{"two-node", Request{CPUs: []int{1, 99}, NUMANode: -1}, "engine cpus: cpu 99 is not online on this machine"},
		{"two-node", Request{CPUs: []int{1, 2}, NUMANode: -1, Exclude: []int{2}}, "engine cpus: cpu 2 is also in the load generator's cpuset"},
		{"two-node", Request{CPUs: []int{1, 2}, NUMANode: -1, TP: 2}, "engine cpus: 1-2 spans 1 NUMA nodes, TP=2 needs one node per rank"},
		{"one-node", Request{Cores: 0, NUMANode: -1}, "cores: 0 is not a positive core count"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := read(t, tc.machine).Allocate(tc.req)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if strings.Contains(tc.want, "does not fit") && !errors.Is(err, ErrNoFit) {
				t.Errorf("%v does not wrap ErrNoFit", err)
			}
		})
	}
}

func TestLoadgenCPUs(t *testing.T) {
	for _, tc := range []struct {
		machine string
		req     Request
		want    int
		cpus    string
	}{
		// Another node's physical cores first.
		{"two-node", Request{Cores: 8, NUMANode: 0}, 4, "16-19"},
		// One node: the remaining physical cores, then siblings of cores the
		// engine does not use (never 4-5, the siblings of engine cores 0-1).
		{"one-node", Request{Cores: 2, NUMANode: -1}, 4, "2-3,6-7"},
		{"one-node", Request{Cores: 4, NUMANode: -1}, 2, ""},
		// Four nodes: the housekeeping node 0 is free.
		{"four-node", Request{Cores: 8, NUMANode: -1}, 2, "0-1"},
	} {
		topo := read(t, tc.machine)
		a, err := topo.Allocate(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		got := topo.LoadgenCPUs(a, tc.want)
		if FormatList(got) != tc.cpus {
			t.Errorf("%s %+v: loadgen %s, want %s", tc.machine, tc.req, FormatList(got), tc.cpus)
		}
		if err := CheckDisjoint(a.CPUs, got, false); err != nil {
			t.Error(err)
		}
	}
}

func TestCheckDisjoint(t *testing.T) {
	err := CheckDisjoint([]int{0, 1, 2, 3}, []int{3, 4}, false)
	want := "load generator cpuset 3-4 overlaps the engine's 0-3 on cpus 3: the load generator would steal the engine's cores (use --force-overlap to run anyway)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
	if err := CheckDisjoint([]int{0, 1}, []int{1}, true); err != nil {
		t.Errorf("forced: %v", err)
	}
}

func TestKV(t *testing.T) {
	topo := read(t, "four-node") // 32 GiB per node
	a, _ := topo.Allocate(Request{Cores: 16, NUMANode: -1})
	// Qwen3-0.6B-like: 112 KiB per token.
	kv := KV{CacheGiB: 4, WeightBytes: 1_500_000_000, KVBytesPerToken: 114688, MaxModelLen: 40960}
	err := topo.CheckKV(a, kv)
	if err == nil || err.Error() != "kv cache: VLLM_CPU_KVCACHE_SPACE=4GiB holds 37449 tokens, max_model_len 40960 needs 4.38 GiB" {
		t.Errorf("small cache: %v", err)
	}
	kv.CacheGiB = 40
	err = topo.CheckKV(a, kv)
	if err == nil || err.Error() != "kv cache: node 1 has 32.0 GiB of memory; weights (0.7 GiB per rank) plus 40GiB of KV cache need 40.7 GiB" {
		t.Errorf("too big for node: %v", err)
	}
	size := topo.SizeKV(a, kv, 40)
	if size != 28 {
		t.Errorf("SizeKV = %g, want 28 (90%% of 32 GiB minus 0.7 GiB of weights)", size)
	}
	kv.CacheGiB = size
	if err := topo.CheckKV(a, kv); err != nil {
		t.Errorf("sized cache rejected: %v", err)
	}
	// Never below one sequence even when that cannot fit: CheckKV then says why.
	if s := topo.SizeKV(a, KV{KVBytesPerToken: 1 << 20, MaxModelLen: 40960}, 1); s != 40 {
		t.Errorf("SizeKV floor = %g", s)
	}
}

func TestFormatList(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{3, 1, 2, 0}, "0-3"},
		{[]int{0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
		{[]int{5, 5, 6}, "5-6"},
		{[]int{0, 2, 4}, "0,2,4"},
	} {
		if got := FormatList(tc.in); got != tc.want {
			t.Errorf("FormatList(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseFormatList(t *testing.T) {
	l, err := ParseList("8, 0-3,2,10-11")
	if err != nil || FormatList(l) != "0-3,8,10-11" {
		t.Errorf("%v %v", l, err)
	}
	for _, bad := range []string{"a", "3-1", "-1", "1-"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
}

func TestPinSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	before, err := Affinity()
	if err != nil {
		t.Fatal(err)
	}
	defer PinSelf(before)
	if err := PinSelf(before[:1]); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	now, err := Affinity()
	runtime.UnlockOSThread()
	if err != nil || FormatList(now) != FormatList(before[:1]) {
		t.Errorf("after pin: %v %v", now, err)
	}
}

// TestReadWithoutNUMA reads a machine whose kernel has no NUMA support (no
// /sys/devices/system/node) and with an offline CPU: one node of every
// online CPU, memory from /proc/meminfo.
func TestReadWithoutNUMA(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/devices/system/cpu/online", "0-1,3\n")
	for _, c := range []int{0, 1, 3} {
		write(fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/core_id", c), fmt.Sprint(c%2))
		write(fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/physical_package_id", c), "0")
	}
	write("proc/meminfo", "MemTotal:        8388608 kB\nMemAvailable:    4194304 kB\n")
	topo, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	// cpu 3 is core 1's sibling (cpu 2 is offline).
	if len(topo.Nodes) != 1 || FormatList(topo.Nodes[0].Physical) != "0-1" || FormatList(topo.Nodes[0].Siblings) != "3" ||
		topo.Nodes[0].MemTotal != 8<<30 || topo.Nodes[0].MemFree != 4<<30 {
		t.Errorf("%+v", topo.Nodes)
	}
	if _, err := Read(t.TempDir()); err == nil {
		t.Error("a root without /sys must be an error")
	}
}
