// Package topology reads the machine's CPU and NUMA layout from /sys (never
// from lscpu's text) and allocates CPUs: the engine's cpuset (physical cores
// first, NUMA-aware, with the tensor-parallel degree chosen like the seed
// framework's), the environment vLLM derives from it, the KV-cache check
// against node memory, and a disjoint cpuset for the load generator.
//
// Read takes the filesystem root so tests run on fake trees; everything else
// is pure. PinSelf is the one function that changes process state.
package topology

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/servebench/servebench/internal/cpulist"
)

// CPU is one logical CPU.
type CPU struct {
	ID      int
	Core    int // core_id, unique within a package
	Package int // physical_package_id
	Node    int // NUMA node
}

// Node is one NUMA node.
type Node struct {
	ID       int
	CPUs     []int // logical CPUs, ascending
	Physical []int // the first thread of each core, ascending: what the engine gets
	Siblings []int // the other SMT threads, ascending
	MemTotal int64 // bytes
	MemFree  int64 // bytes
}

// Topology is a machine's CPU layout.
type Topology struct {
	Model string // CPU model name, from /proc/cpuinfo
	CPUs  []CPU  // online CPUs, by id
	Nodes []Node // by id
}

// Read reads the topology under root ("/" for the real machine).
func Read(root string) (*Topology, error) {
	sys := filepath.Join(root, "sys/devices/system")
	online, err := readList(filepath.Join(sys, "cpu/online"))
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	t := &Topology{}
	nodeOf := map[int]int{}
	nodeIDs := []int{0}
	if ids, err := readList(filepath.Join(sys, "node/online")); err == nil {
		nodeIDs = ids
		for _, n := range ids {
			cpus, err := readList(filepath.Join(sys, fmt.Sprintf("node/node%d/cpulist", n)))
			if err != nil {
				return nil, fmt.Errorf("topology: node %d: %w", n, err)
			}
			for _, c := range cpus {
				nodeOf[c] = n
			}
		}
	}
	for _, id := range online {
		dir := filepath.Join(sys, fmt.Sprintf("cpu/cpu%d/topology", id))
		core, err := readInt(filepath.Join(dir, "core_id"))
		if err != nil {
			return nil, fmt.Errorf("topology: cpu %d: %w", id, err)
		}
		pkg, err := readInt(filepath.Join(dir, "physical_package_id"))
		if err != nil {
			return nil, fmt.Errorf("topology: cpu %d: %w", id, err)
		}
		t.CPUs = append(t.CPUs, CPU{ID: id, Core: core, Package: pkg, Node: nodeOf[id]})
	}
	for _, n := range nodeIDs {
		node := Node{ID: n}
		seen := map[[2]int]bool{}
		for _, c := range t.CPUs {
			if c.Node != n {
				continue
			}
			node.CPUs = append(node.CPUs, c.ID)
			key := [2]int{c.Package, c.Core}
			if seen[key] {
				node.Siblings = append(node.Siblings, c.ID)
			} else {
				seen[key] = true
				node.Physical = append(node.Physical, c.ID)
			}
		}
		node.MemTotal, node.MemFree = readNodeMem(sys, root, n, len(nodeIDs))
		t.Nodes = append(t.Nodes, node)
	}
	t.Model = readModel(filepath.Join(root, "proc/cpuinfo"))
	if len(t.CPUs) == 0 {
		return nil, errors.New("topology: no online CPU")
	}
	return t, nil
}

// PhysicalCores is the number of physical cores over all nodes.
func (t *Topology) PhysicalCores() int {
	n := 0
	for _, nd := range t.Nodes {
		n += len(nd.Physical)
	}
	return n
}

// NodeOf returns the NUMA node of a CPU, -1 when unknown.
func (t *Topology) NodeOf(cpu int) int {
	for _, c := range t.CPUs {
		if c.ID == cpu {
			return c.Node
		}
	}
	return -1
}

// readNodeMem reads a node's MemTotal/MemFree; a machine without node
// meminfo (no NUMA in the kernel) falls back to /proc/meminfo for node 0.
func readNodeMem(sys, root string, node, nodes int) (total, free int64) {
	parse := func(path, prefix string) (int64, int64) {
		f, err := os.Open(path)
		if err != nil {
			return 0, 0
		}
		defer f.Close()
		var t, fr int64
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimPrefix(sc.Text(), prefix)
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			v, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				continue
			}
			switch fields[0] {
			case "MemTotal:":
				t = v * 1024
			case "MemFree:", "MemAvailable:":
				if fr == 0 || fields[0] == "MemAvailable:" {
					fr = v * 1024
				}
			}
		}
		return t, fr
	}
	total, free = parse(filepath.Join(sys, fmt.Sprintf("node/node%d/meminfo", node)), fmt.Sprintf("Node %d ", node))
	if total == 0 && nodes == 1 {
		total, free = parse(filepath.Join(root, "proc/meminfo"), "")
	}
	return total, free
}

func readModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func readList(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	l, err := ParseList(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// ParseList parses the kernel's CPU list syntax ("0-3,8,10-11"), the same as
// docker's --cpuset-cpus. The result is sorted and deduplicated.
func ParseList(s string) ([]int, error) { return cpulist.Parse(s) }

// FormatList renders CPU ids in the kernel's list syntax ("0-3,8").
func FormatList(ids []int) string {
	s := append([]int(nil), ids...)
	sort.Ints(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] <= s[j]+1 {
			j++
		}
		if s[i] == s[j] {
			parts = append(parts, strconv.Itoa(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
