//go:build linux

package orchestrate

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Stress is the contention suite's noisy neighbour: one goroutine per CPU,
// each locked to its OS thread and that thread pinned to the CPU, running
// until ctx ends. kind "cpu" spins on integer arithmetic (it takes the
// core's execution units and, on SMT machines, its sibling's); "membw"
// streams copies through a buffer far larger than the last-level cache (it
// takes memory bandwidth from the engine's NUMA node).
func Stress(ctx context.Context, kind string, cpus []int) error {
	if kind != "cpu" && kind != "membw" {
		return fmt.Errorf("stress: unknown kind %q (cpu or membw)", kind)
	}
	if len(cpus) == 0 {
		return fmt.Errorf("stress: no CPU given")
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(cpus))
	for _, c := range cpus {
		wg.Add(1)
		go func(cpu int) {
			defer wg.Done()
			runtime.LockOSThread()
			// The thread exits with the goroutine (no UnlockOSThread), so
			// its affinity never leaks into the runtime's thread pool.
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				errs <- fmt.Errorf("stress: pin to cpu %d: %w", cpu, err)
				return
			}
			if kind == "cpu" {
				spin(ctx)
			} else {
				stream(ctx)
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func spin(ctx context.Context) {
	x := uint64(1)
	for ctx.Err() == nil {
		for i := 0; i < 1<<20; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink = x
}

var sink uint64

// stream copies 64 MiB halves of a 128 MiB buffer back and forth.
func stream(ctx context.Context) {
	const half = 64 << 20
	buf := make([]byte, 2*half)
	for i := range buf {
		buf[i] = byte(i)
	}
	for ctx.Err() == nil {
		copy(buf[:half], buf[half:])
		copy(buf[half:], buf[:half])
	}
}
