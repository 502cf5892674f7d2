package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// StartHelperProcess re-executes the test binary to run only the test named
// test (a server that reads its mode from env and prints its address as its
// first line of output), pins the child to the last CPU this process may use
// so that a benchmark's client and server do not share a core, and returns
// the address the child printed. The child is killed when the test ends.
//
// The child is forked from a thread pinned to that CPU, so every thread it
// ever starts inherits the mask (pinning its pid after the start would miss
// the threads the Go runtime starts first).
func StartHelperProcess(tb testing.TB, test, env string) string {
	tb.Helper()
	addr, _ := startHelper(tb, test, []string{env}, lastCPU())
	return addr
}

// StartPinnedHelperProcess is StartHelperProcess that also returns the
// child's pid (to signal it or read its CPU time) and the CPU it is pinned
// to (-1 when this process may use only one CPU and nothing was pinned).
func StartPinnedHelperProcess(tb testing.TB, test string, env ...string) (addr string, pid, cpu int) {
	tb.Helper()
	cpu = lastCPU()
	addr, pid = startHelper(tb, test, env, cpu)
	return addr, pid, cpu
}

// StartFreeHelperProcess is StartHelperProcess without pinning, with any
// number of environment settings; it also returns the child's pid (to read
// its CPU time).
func StartFreeHelperProcess(tb testing.TB, test string, env ...string) (addr string, pid int) {
	tb.Helper()
	return startHelper(tb, test, env, -1)
}

func startHelper(tb testing.TB, test string, env []string, cpu int) (string, int) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v=false")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := startOn(cmd, cpu); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("%s: no address from the helper process: %v", test, err)
	}
	return strings.TrimSpace(addr), cmd.Process.Pid
}

// lastCPU is the highest CPU this thread may use, -1 when it may use only one.
func lastCPU() int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil || set.Count() < 2 {
		return -1
	}
	last := -1
	for i := 0; i < 1024; i++ {
		if set.IsSet(i) {
			last = i
		}
	}
	return last
}

// startOn starts cmd with every thread on cpu (-1: unpinned).
func startOn(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return cmd.Start()
	}
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return cmd.Start()
	}
	defer unix.SchedSetaffinity(0, &old)
	return cmd.Start()
}
