package conn

import (
	"syscall"

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
