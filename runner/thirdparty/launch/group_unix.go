//go:build unix

package launch

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup puts the tool in its own process group, so that an interrupt or
// a kill reaches the workers it forks (GuideLLM runs up to ten) too.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the tool's process group.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}

var (
	sigInterrupt = syscall.SIGINT
	sigKill      = syscall.SIGKILL
)
