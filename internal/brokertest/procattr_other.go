//go:build !linux

package brokertest

import "os/exec"

// orphanProof does nothing here: the test's cleanup stops the broker.
func orphanProof(cmd *exec.Cmd) {}
