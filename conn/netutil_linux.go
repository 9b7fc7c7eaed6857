package conn

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bindNoPort asks the kernel not to reserve a source port when a dialer
// binds its source IP, but to pick one at connect time: without it every
// dial with a source address pays a bind with a port search, which
// dominated the CPU profile of 50 nodes forming a mesh.
func bindNoPort(network, address string, c syscall.RawConn) error {
	// An error from setsockopt (an old kernel) only means the port is
	// bound at bind time as before: slower, not wrong.
	return c.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
}

// waitFirstByte waits until nc has a byte to read, without consuming it, for
// at most d. It returns an error when nothing arrived in time or the peer
// closed first. Connections that are not plain TCP sockets are not checked.
func waitFirstByte(nc net.Conn, d time.Duration) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	if err := nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	defer nc.SetReadDeadline(time.Time{})
	var (
		buf  [1]byte
		n    int
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	switch {
	case err != nil:
		if isTimeout(err) {
			return fmt.Errorf("sent nothing within %v", d)
		}
		return err
	case rerr != nil:
		return rerr
	case n == 0:
		return errors.New("closed the connection before sending anything")
	}
	return nil
}

// hasUnreadBytes reports whether bytes have arrived on nc that nobody has
// read yet. It never blocks and never takes the connection's read lock (a
// goroutine may be blocked reading it).
func hasUnreadBytes(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, _ = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	})
	return n > 0
}

// openFileLimit returns the process's soft limit on open files, or 0 when
// it cannot be read or is unlimited.
func openFileLimit() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY {
		return 0
	}
	return rl.Cur
}

// isFDExhausted reports an accept error caused by running out of file
// descriptors (the process's or the system's).
func isFDExhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
