//go:build !linux

package loadgen

// wakers is how many goroutines pace an open loop: one here.
func wakers() int { return 1 }

// pinWaker does nothing here.
func pinWaker(int) func() { return func() {} }
