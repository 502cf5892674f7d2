package compare

import (
	"fmt"
	"sort"
	"strings"
)

// hardwareKeys are the manifest fields (at any depth; runner/store's
// Manifest puts them under host and placement) that say which machine and
// placement a result was measured on. Engine image and version are not among
// them: a release comparison differs there on purpose. Nor is the hostname:
// identical CI machines have different names.
var hardwareKeys = map[string]bool{
	"cpu_model": true, "arch": true, "cpus": true, "physical_cores": true, "numa_nodes": true,
	"allocation": true, "tensor_parallel": true, "simulated": true, "engine_mems": true,
	"sockets": true, "smt": true, "memory_bytes": true,
}

// Mismatches lists the configuration and hardware differences between two
// cells that make their comparison meaningless: model, workload, cores, load
// generator, the profile of each shared level, and the manifest's hardware
// fields present on both sides.
func Mismatches(a, b Cell) []string {
	var out []string
	sa, sb := a.Summary, b.Summary
	diff := func(what string, x, y any) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %v vs %v", what, x, y))
		}
	}
	diff("model", sa.Model, sb.Model)
	diff("workload", sa.Workload, sb.Workload)
	diff("cores", sa.Cores, sb.Cores)
	diff("load generator", sa.Loadgen, sb.Loadgen)
	profiles := map[string]string{}
	for _, bm := range sa.Benchmarks {
		profiles[bm.Level] = bm.Profile
	}
	for _, bm := range sb.Benchmarks {
		if p, ok := profiles[bm.Level]; ok && p != bm.Profile {
			out = append(out, fmt.Sprintf("level %s profile %s vs %s", bm.Level, p, bm.Profile))
		}
	}
	ha, hb := hardware(a.Manifest), hardware(b.Manifest)
	keys := make([]string, 0, len(ha))
	for k := range ha {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if vb, ok := hb[k]; ok && vb != ha[k] {
			out = append(out, fmt.Sprintf("%s %s vs %s", k, ha[k], vb))
		}
	}
	return out
}

// hardware flattens the hardware fields of a manifest to path -> value.
func hardware(m map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x)
			}
		default:
			last := prefix[strings.LastIndex(prefix, ".")+1:]
			if hardwareKeys[strings.ToLower(last)] {
				out[prefix] = fmt.Sprint(t)
			}
		}
	}
	if m != nil {
		walk("", m)
	}
	return out
}
