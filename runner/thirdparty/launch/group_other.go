//go:build !unix

package launch

import (
	"os"
	"os/exec"
	"syscall"
)

func ownGroup(*exec.Cmd) {}

func signalGroup(p *os.Process, sig syscall.Signal) error {
	if sig == sigKill {
		return p.Kill()
	}
	return p.Signal(os.Interrupt)
}

var (
	sigInterrupt = syscall.Signal(2)
	sigKill      = syscall.Signal(9)
)
