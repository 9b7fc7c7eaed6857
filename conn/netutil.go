package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"syscall"
)

// listenTCP binds addr. It does not set SO_REUSEPORT: that option would let
// a second node with the same name (hence the same port) bind beside the
// first, and the kernel would split connections between the two. Go sets
// SO_REUSEADDR on listeners, which is all a restarted node needs to rebind
// a port whose old connections linger in TIME_WAIT.
func listenTCP(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, withAddr(err, "listen", addr)
	}
	return ln, nil
}

// withAddr makes err, of operation op on addr, a *net.OpError that names
// addr once: one from the net package says "dial tcp SOURCE->ADDR: ..." or
// "listen tcp ADDR: ..." already, except about an address that does not
// parse; an error of Config.Dial may be anything.
func withAddr(err error, op, addr string) error {
	oe, ok := err.(*net.OpError)
	switch {
	case ok && oe.Addr == nil:
		named := *oe
		named.Addr = stringAddr(addr)
		return &named
	case ok:
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Addr: stringAddr(addr), Err: err}
}

// listenError explains a failed listen. A port in use almost always means
// the same node name runs twice on this host. The error names the address
// (in the *net.OpError), not the node, which the caller names.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("conn: port %s is already in use: another node with this name runs on this host? "+
			"(a node's port follows from its name; stop the other process or choose another name): %w", port, err)
	}
	return err
}

// dialTCP dials addr using cfg.Dial when set, else a net.Dialer whose LocalAddr is cfg.LocalIP (port 0) when set; sets TCP_NODELAY; then, if cfg.TLS != nil, wraps in tls.Client (ServerName defaulted from addr's host when empty, cloned config) and runs the TLS handshake under ctx.
//
// Connecting and the TLS handshake together are bounded by the handshake
// timeout as well as by ctx, so a blackholed address cannot hold a dialer
// for the operating system's SYN retry time. On failure the connection, if
// any, is closed.
func dialTCP(ctx context.Context, cfg *Config, addr string) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.handshakeTimeout())
	defer cancel()
	var (
		nc  net.Conn
		err error
	)
	if cfg.Dial != nil {
		nc, err = cfg.Dial(dctx, "tcp", addr)
	} else {
		var d net.Dialer
		if cfg.LocalIP != nil {
			d.LocalAddr = &net.TCPAddr{IP: cfg.LocalIP}
			d.Control = bindNoPort
		}
		nc, err = d.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, withAddr(err, "dial", addr)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			nc.Close()
			return nil, fmt.Errorf("dial %s: setting TCP_NODELAY: %w", addr, err)
		}
	}
	if cfg.TLS == nil {
		return nc, nil
	}
	tcfg := cfg.TLS.Clone()
	if tcfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("dial %s: cannot take the TLS server name from the address: %w", addr, err)
		}
		tcfg.ServerName = host
	}
	tc := tls.Client(nc, tcfg)
	if err := tc.HandshakeContext(dctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake with %s (server name %q): %w", addr, tcfg.ServerName, err)
	}
	return tc, nil
}

// wrapServerTLS wraps an accepted conn with tls.Server(cfg.TLS) and runs the TLS handshake under ctx with the handshake timeout; returns nc unchanged if cfg.TLS == nil.
// On failure it closes nc.
func wrapServerTLS(ctx context.Context, cfg *Config, nc net.Conn) (net.Conn, error) {
	if cfg.TLS == nil {
		return nc, nil
	}
	hctx, cancel := context.WithTimeout(ctx, cfg.handshakeTimeout())
	defer cancel()
	tc := tls.Server(nc, cfg.TLS)
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", nc.RemoteAddr(), err)
	}
	return tc, nil
}

// checkLocalIP reports whether LocalIP can be the source address of outgoing
// connections: it must be a unicast address assigned to this host. It binds
// and releases an ephemeral port on it to find out.
func (c *Config) checkLocalIP() error {
	if c.LocalIP == nil {
		return nil
	}
	ip := c.LocalIP
	if ip.IsUnspecified() || ip.IsMulticast() || ip.Equal(net.IPv4bcast) {
		return fmt.Errorf("conn config: LocalIP %s is not a unicast address, want an address of this host", ip)
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
	if err != nil {
		return fmt.Errorf("conn config: LocalIP %s cannot be bound, want an address of this host: %w", ip, err)
	}
	ln.Close()
	return nil
}

// stringAddr is an address known only as its text, for a *net.OpError.
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
