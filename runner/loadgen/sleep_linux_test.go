package loadgen

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPinWaker(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	if all.Count() < 2 {
		if wakers() != 1 {
			t.Fatalf("%d wakers on one CPU", wakers())
		}
		t.Skip("one CPU: nothing to pin")
	}
	if wakers() != 2 {
		t.Fatalf("%d wakers on %d CPUs", wakers(), all.Count())
	}
	first, last := -1, -1
	for c := 0; c < len(all)*64; c++ {
		if all.IsSet(c) {
			if first < 0 {
				first = c
			}
			last = c
		}
	}
	for i, want := range []int{first, last} {
		restore := pinWaker(i)
		var got unix.CPUSet
		if err := unix.SchedGetaffinity(0, &got); err != nil {
			t.Fatal(err)
		}
		if got.Count() != 1 || !got.IsSet(want) {
			t.Fatalf("waker %d: affinity of %d CPUs, want only CPU %d", i, got.Count(), want)
		}
		restore()
		if err := unix.SchedGetaffinity(0, &got); err != nil {
			t.Fatal(err)
		}
		if got != all {
			t.Fatalf("waker %d: affinity not given back", i)
		}
	}
}
