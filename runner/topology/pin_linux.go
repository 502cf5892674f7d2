//go:build linux

package topology

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// PinSelf restricts every thread of this process to cpus. sched_setaffinity
// acts on one thread, so each existing thread is pinned; threads the Go
// runtime starts later inherit the mask of the thread that creates them.
func PinSelf(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	var set unix.CPUSet
	set.Zero()
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin to cpus %s: %w", FormatList(cpus), err)
		}
	}
	return nil
}

// Affinity returns the CPUs this thread may run on.
func Affinity() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("affinity: %w", err)
	}
	var out []int
	for i := 0; i < 1024; i++ {
		if set.IsSet(i) {
			out = append(out, i)
		}
	}
	return out, nil
}
