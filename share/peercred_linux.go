//go:build linux

package share

import (
	"errors"
	"net"
	"syscall"
)

// peerCred returns the credentials of the process at the other end of a
// unix socket, as the kernel recorded them at connect (SO_PEERCRED).
func peerCred(nc net.Conn) (cred, error) {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return cred{}, errors.New("share: not a unix socket")
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return cred{}, err
	}
	var u *syscall.Ucred
	var uerr error
	if err := rc.Control(func(fd uintptr) {
		u, uerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return cred{}, err
	}
	if uerr != nil {
		return cred{}, uerr
	}
	return cred{PID: int(u.Pid), UID: int(u.Uid), GID: int(u.Gid)}, nil
}
