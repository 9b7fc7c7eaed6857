//go:build !linux

package conn

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// bindNoPort does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindNoPort(network, address string, c syscall.RawConn) error { return nil }

// waitFirstByte does not check where peeking at a socket is not available:
// the handshake's own step deadline bounds a silent connection there.
func waitFirstByte(nc net.Conn, d time.Duration) error { return nil }

// hasUnreadBytes cannot tell here; it reports false.
func hasUnreadBytes(nc net.Conn) bool { return false }

// openFileLimit is unknown here (0): the default connection cap applies.
func openFileLimit() uint64 { return 0 }

// isFDExhausted reports an accept error caused by running out of file
// descriptors.
func isFDExhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
