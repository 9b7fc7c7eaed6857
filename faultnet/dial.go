package faultnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Dial connects endpoint from to endpoint to through the Network and returns
// from's end of the connection, a *net.TCPConn on loopback. Bytes written on
// it travel under the rule for from -> to; bytes read from it came under the
// rule for to -> from. from need not be registered (a client that never
// listens is an endpoint too). If from is registered at an IP literal, the
// proxy's connection to the destination uses that IP as its source address,
// so the destination sees where a real node would have come from.
//
// Dial fails with an error wrapping ErrUnknownEndpoint if to is not
// registered, with a *net.OpError wrapping syscall.ECONNREFUSED if the link is
// cut, and with ErrClosed after Close. If from -> to is blackholed, Dial
// behaves like a SYN to a dead host: it blocks until ctx ends and returns a
// *net.OpError wrapping ctx.Err(), unless the blackhole is lifted first, in
// which case it connects.
func (n *Network) Dial(ctx context.Context, from, to string) (net.Conn, error) {
	addr, err := n.admit(ctx, from, to)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{LocalAddr: n.sourceAddr(from, addr)}
	up, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultnet: dial %s -> %s at %s: %w", from, to, addr, err)
	}
	upstream, ok := up.(*net.TCPConn)
	if !ok {
		_ = up.Close()
		return nil, fmt.Errorf("faultnet: dial %s -> %s at %s: got a %T, expected a *net.TCPConn", from, to, addr, up)
	}
	client, inner, err := n.socketPair(ctx)
	if err != nil {
		_ = upstream.Close()
		return nil, fmt.Errorf("faultnet: dial %s -> %s: proxy socket: %w", from, to, err)
	}
	if err := n.track(newProxyConn(n, from, to, inner, upstream), addr); err != nil {
		_ = client.Close()
		_ = inner.Close()
		_ = upstream.Close()
		return nil, err
	}
	return client, nil
}

// Dialer returns a dial function for endpoint from, in the shape of
// net.Dialer.DialContext, to plug into a Config.Dial field. An addr equal to
// a registered endpoint's address (IP literals compare by value, host names
// as written) is dialled through the Network as Dial(ctx, from, thatName).
// Any other address, or a non-TCP network, is dialled directly with no
// faults, so unrelated traffic (a discovery server, say) still works. After
// Close every dial fails with ErrClosed.
func (n *Network) Dialer(from string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.mu.Lock()
		closed := n.closed
		to, known := n.names[normaliseAddr(addr)]
		n.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if known && (network == "tcp" || network == "tcp4" || network == "tcp6") {
			return n.Dial(ctx, from, to)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// admit checks the destination and the rules, waiting out a blackhole, and
// returns the destination's address.
func (n *Network) admit(ctx context.Context, from, to string) (string, error) {
	for {
		n.mu.Lock()
		closed := n.closed
		addr, known := n.endpoints[to]
		rules := n.rules.Load()
		n.mu.Unlock()
		switch {
		case closed:
			return "", ErrClosed
		case !known:
			return "", fmt.Errorf("%w %q (dialled from %q): register it with Network.Register first",
				ErrUnknownEndpoint, to, from)
		case ctx.Err() != nil:
			return "", &net.OpError{Op: "dial", Net: "tcp", Addr: endpointAddr(addr), Err: ctx.Err()}
		}
		r := rules.get(from, to)
		if r.cut {
			return "", refused(from, to, addr)
		}
		if !r.blackhole {
			return addr, nil
		}
		n.held.Add(1)
		select {
		case <-rules.changed:
			n.held.Add(-1)
		case <-n.done:
			n.held.Add(-1)
			return "", ErrClosed
		case <-ctx.Done():
			n.held.Add(-1)
			return "", &net.OpError{Op: "dial", Net: "tcp", Addr: endpointAddr(addr),
				Err: &blackholedError{from: from, to: to, cause: ctx.Err()}}
		}
	}
}

func refused(from, to, addr string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: endpointAddr(addr), Err: &refusedError{from: from, to: to}}
}

// sourceAddr binds the proxy's outgoing socket to from's registered IP, so
// the destination sees the source address a real node would use, when both
// addresses are IP literals of the same family.
func (n *Network) sourceAddr(from, toAddr string) net.Addr {
	n.mu.Lock()
	fromAddr, ok := n.endpoints[from]
	n.mu.Unlock()
	if !ok {
		return nil
	}
	fromHost, _, err1 := net.SplitHostPort(fromAddr)
	toHost, _, err2 := net.SplitHostPort(toAddr)
	if err1 != nil || err2 != nil {
		return nil
	}
	src, dst := net.ParseIP(fromHost), net.ParseIP(toHost)
	if src == nil || dst == nil || src.IsUnspecified() || (src.To4() == nil) != (dst.To4() == nil) {
		return nil
	}
	return &net.TCPAddr{IP: src}
}

// track registers a freshly connected proxy and starts its pumps, unless the
// Network closed or the link was cut while the dial was in progress.
func (n *Network) track(c *proxyConn, addr string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.rules.Load().get(c.from, c.to).cut {
		return refused(c.from, c.to, addr)
	}
	n.conns[c] = struct{}{}
	c.start()
	return nil
}

func (n *Network) untrack(c *proxyConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.conns, c)
}

// handoff carries the inner listener's accepted socket to the Dial that
// connected it. Whichever side arrives first creates it.
type handoff struct {
	ch        chan *net.TCPConn // capacity 1
	abandoned bool              // the Dial gave up; close what arrives
}

// discard closes the socket waiting in h, if any, and reports whether there
// was one. The caller holds n.mu.
func (h *handoff) discard() bool {
	select {
	case c := <-h.ch:
		_ = c.Close()
		return true
	default:
		return false
	}
}

// socketPair connects a loopback TCP socket to the inner listener and returns
// both ends: client for the application, inner for the proxy.
func (n *Network) socketPair(ctx context.Context) (client, inner *net.TCPConn, err error) {
	ln, err := n.listener()
	if err != nil {
		return nil, nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	client = c.(*net.TCPConn) // a "tcp" dial always yields a *net.TCPConn
	key := client.LocalAddr().String()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		_ = client.Close()
		return nil, nil, ErrClosed
	}
	h := n.pending[key]
	if h == nil {
		h = &handoff{ch: make(chan *net.TCPConn, 1)}
		n.pending[key] = h
	}
	n.mu.Unlock()

	select {
	case inner = <-h.ch:
		n.mu.Lock()
		if n.pending[key] == h {
			delete(n.pending, key)
		}
		n.mu.Unlock()
		return client, inner, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-n.done:
		err = ErrClosed
	}
	n.mu.Lock()
	if arrived := h.discard(); n.pending[key] == h {
		if arrived {
			delete(n.pending, key)
		} else {
			h.abandoned = true // handOver closes the socket when it comes and forgets the key
		}
	}
	n.mu.Unlock()
	_ = client.Close()
	return nil, nil, err
}

// listener starts the inner loopback listener and its accept loop on first use.
func (n *Network) listener() (*net.TCPListener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if n.ln == nil {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, fmt.Errorf("faultnet: listen on loopback for proxy sockets: %w", err)
		}
		n.ln = ln
		n.wg.Add(1)
		go n.acceptLoop(ln)
	}
	return n.ln, nil
}

func (n *Network) acceptLoop(ln *net.TCPListener) {
	defer n.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient, such as running out of file descriptors: back off briefly.
			t := time.NewTimer(10 * time.Millisecond)
			select {
			case <-t.C:
			case <-n.done:
				t.Stop()
				return
			}
			continue
		}
		n.handOver(c)
	}
}

// handOver gives an accepted socket to the Dial waiting for it.
func (n *Network) handOver(c *net.TCPConn) {
	key := c.RemoteAddr().String()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		_ = c.Close()
		return
	}
	h := n.pending[key]
	if h == nil {
		h = &handoff{ch: make(chan *net.TCPConn, 1)}
		n.pending[key] = h
	}
	if h.abandoned {
		delete(n.pending, key)
		_ = c.Close()
		return
	}
	select {
	case h.ch <- c:
	default:
		_ = c.Close() // a stray connection reusing a pending address
	}
}
