//go:build !linux

package orchestrate

import (
	"context"
	"errors"
)

// Stress needs sched_setaffinity: Linux only.
func Stress(context.Context, string, []int) error {
	return errors.New("stress: pinned stressors are Linux-only")
}
