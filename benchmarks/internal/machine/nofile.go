package machine

import (
	"fmt"
	"syscall"
)

// RaiseNoFile lifts the soft open-files limit to at least n (up to the
// hard limit), for programs that open many connections.
func RaiseNoFile(n uint64) error {
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
		return fmt.Errorf("open-files limit %d is below the %d needed", rl.Cur, n)
	}
	return nil
}
