//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// ensureOpenFiles raises the soft limit of open files to n if it is
// lower, within the hard limit, as benchmarks/internal/machine does.
func ensureOpenFiles(n uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= n {
		return nil
	}
	rl.Cur = min(n, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur < n {
		return fmt.Errorf("the limit is %d", rl.Cur)
	}
	return nil
}
