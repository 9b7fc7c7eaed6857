//go:build unix

package mcast

import (
	"net"
	"syscall"
	"testing"
)

// sockopt reads an int socket option of c.
func sockopt(t *testing.T, c *net.UDPConn, opt int) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// TestSocketBuffers checks SendBuffer and RecvBuffer (cluster.mcast.sndbuf
// and recbuf) reach the socket as SO_SNDBUF and SO_RCVBUF, and that zero
// leaves the system's default alone.
func TestSocketBuffers(t *testing.T) {
	open := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	plain := open()
	defSnd, defRcv := sockopt(t, plain, syscall.SO_SNDBUF), sockopt(t, plain, syscall.SO_RCVBUF)

	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie = "n1@127.0.0.1", "k"
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := open()
	if err := m.setOptions(c, nil, false); err != nil {
		t.Fatal(err)
	}
	if snd, rcv := sockopt(t, c, syscall.SO_SNDBUF), sockopt(t, c, syscall.SO_RCVBUF); snd != defSnd || rcv != defRcv {
		t.Errorf("zero buffers: SO_SNDBUF %d, SO_RCVBUF %d; want the system's defaults %d, %d", snd, rcv, defSnd, defRcv)
	}

	// Sizes below any default and cap, so the kernel takes them (Linux
	// doubles what it is given, for its bookkeeping).
	const snd, rcv = 6 * 1024, 10 * 1024
	cfg.SendBuffer, cfg.RecvBuffer = snd, rcv
	if m, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	c = open()
	if err := m.setOptions(c, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		opt, want int
	}{{"SO_SNDBUF", syscall.SO_SNDBUF, snd}, {"SO_RCVBUF", syscall.SO_RCVBUF, rcv}} {
		if got := sockopt(t, c, tt.opt); got != tt.want && got != 2*tt.want {
			t.Errorf("%s = %d; want %d (or %d, doubled by the kernel)", tt.name, got, tt.want, 2*tt.want)
		}
	}
}
