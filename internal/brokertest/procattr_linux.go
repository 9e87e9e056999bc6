package brokertest

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the kernel kill cmd's process when the test binary
// dies without running its cleanups (a panic, a -timeout), so that no
// broker outlives its test.
func orphanProof(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
