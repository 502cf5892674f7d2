//go:build !linux

package topology

import "errors"

// PinSelf is only supported on Linux.
func PinSelf(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	return errors.New("pin: sched_setaffinity is Linux-only")
}

// Affinity is only supported on Linux.
func Affinity() ([]int, error) { return nil, errors.New("affinity: Linux-only") }
