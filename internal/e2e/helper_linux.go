package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// StartHelperProcess re-executes the test binary to run only the test named
// test (a server that reads its mode from env and prints its address as its
// first line of output), pins the child to the last CPU this process may use
// so that a benchmark's client and server do not share a core, and returns
// the address the child printed. The child is killed when the test ends.
func StartHelperProcess(tb testing.TB, test, env string) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v=false")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() > 1 {
		last := -1
		for i := 0; i < 1024; i++ {
			if set.IsSet(i) {
				last = i
			}
		}
		var one unix.CPUSet
		one.Set(last)
		_ = unix.SchedSetaffinity(cmd.Process.Pid, &one)
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("%s: no address from the helper process: %v", test, err)
	}
	return strings.TrimSpace(addr)
}
