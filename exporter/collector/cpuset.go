package collector

import (
	"fmt"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/cpulist"
)

// ParseCPUSet parses a Linux cpuset list ("0-3,8,10-11") into CPU numbers,
// sorted and deduplicated. The empty string is the empty set.
func ParseCPUSet(s string) ([]int, error) { return cpulist.Parse(s) }

// Roles maps CPUs to their role; CPUs not in the map are RoleOther.
type Roles map[int]contract.Role

// NewRoles builds the role map from the engine's and the load generator's
// cpusets (Linux list syntax). A CPU in both is an error: the run would be
// measuring contention it did not ask for.
func NewRoles(engine, loadgen string) (Roles, error) {
	r := Roles{}
	e, err := ParseCPUSet(engine)
	if err != nil {
		return nil, fmt.Errorf("engine %w", err)
	}
	l, err := ParseCPUSet(loadgen)
	if err != nil {
		return nil, fmt.Errorf("loadgen %w", err)
	}
	for _, c := range e {
		r[c] = contract.RoleEngine
	}
	for _, c := range l {
		if r[c] == contract.RoleEngine {
			return nil, fmt.Errorf("cpu %d is in both the engine cpuset %q and the loadgen cpuset %q", c, engine, loadgen)
		}
		r[c] = contract.RoleLoadgen
	}
	return r, nil
}

// Of returns the role of a CPU.
func (r Roles) Of(cpu int) contract.Role {
	if role, ok := r[cpu]; ok {
		return role
	}
	return contract.RoleOther
}
