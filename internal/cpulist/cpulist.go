// Package cpulist reads the kernel's CPU list syntax ("0-3,8,10-11"), the
// syntax of /sys/devices/system/cpu/online, cpuset.cpus and docker's
// --cpuset-cpus. It is the one parser of it for the exporter's cpuset roles
// and the runner's topology (the exporter may not import the runner).
package cpulist

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Parse returns the CPUs of a list, sorted and deduplicated. The empty
// string (or only spaces) is the empty list.
func Parse(s string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("cpu list %q: bad entry %q", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}
