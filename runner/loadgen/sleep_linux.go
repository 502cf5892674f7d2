package loadgen

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// wakers is how many goroutines pace an open loop: two when this process
// may run on two CPUs or more, else one.
func wakers() int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() >= 2 {
		return 2
	}
	return 1
}

// pinWaker keeps waker i on one CPU of its own (the first and the last this
// process may use), so the two do not stall together; the returned function
// gives the thread back as it was. A waker that cannot be pinned runs
// unpinned.
func pinWaker(i int) func() {
	runtime.LockOSThread()
	var old unix.CPUSet
	if unix.SchedGetaffinity(0, &old) != nil || old.Count() < 2 {
		return runtime.UnlockOSThread
	}
	var cpus []int
	for c := 0; c < len(old)*64; c++ {
		if old.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	var one unix.CPUSet
	one.Set(cpus[(len(cpus)-1)*(i%2)])
	if unix.SchedSetaffinity(0, &one) != nil {
		return runtime.UnlockOSThread
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) != nil {
			return // a thread left pinned is not given back: it exits with the goroutine
		}
		runtime.UnlockOSThread()
	}
}
