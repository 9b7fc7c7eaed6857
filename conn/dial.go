package conn

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/xtaci/smux"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Dial opens a link to the node named target at addr: one authenticated TCP
// connection per lane, then the smux session and its control stream on the
// control lane. ctx bounds the whole setup. The returned Conn reads nothing
// until Start.
//
// Its errors name the address (a *net.OpError says "dial tcp ADDR", a
// handshake error "handshake ... ADDR"), not the target, which the caller
// knows and names once in its own context.
func Dial(ctx context.Context, cfg *Config, target, addr string) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var idb [8]byte
	rand.Read(idb[:])
	linkID := binary.BigEndian.Uint64(idb[:])

	var tcp [3]net.Conn
	var readers [3]*wire.Reader
	var peer Peer
	closeAll := func() {
		for _, t := range tcp {
			if t != nil {
				t.Close()
			}
		}
	}
	// The current cookie first; when the acceptor refuses it, each previous
	// one on a fresh connection, so that a node whose cookie was rotated
	// still reaches a node that has not been (PROTOCOL.md section 8.4).
	// The lanes after the first use the cookie the first one verified.
	set, ck := cfg.cookies(), 0
	for lane := 0; lane < len(tcp); lane++ {
		nc, err := dialTCP(ctx, cfg, addr)
		if err != nil {
			closeAll()
			return nil, err
		}
		r := wire.NewReader(nc, cfg.maxPayload(), handshakeReadBuffer)
		p, err := clientHandshakeWith(ctx, nc, r, cfg, target, uint8(lane), linkID, set, ck)
		if err != nil {
			nc.Close()
			var he *HandshakeError
			if lane == 0 && ck+1 < len(set.cookies) && errors.As(err, &he) && he.Remote && he.Code == wire.CodeBadCookie {
				ck++
				lane--
				continue
			}
			closeAll()
			return nil, err
		}
		if lane > 0 && p.GUID != peer.GUID {
			nc.Close()
			closeAll()
			return nil, fmt.Errorf("conn: the node at %s restarted while the link was being set up", addr)
		}
		peer = p
		if lane == int(wire.LaneData) {
			r.Grow(dataReadBuffer)
		}
		tcp[lane], readers[lane] = nc, r
	}
	if readers[wire.LaneControl].Buffered() != 0 {
		closeAll()
		return nil, errors.New("conn: bytes after the handshake on the control lane before the session started")
	}
	sess, err := smux.Client(tcp[wire.LaneControl], smuxConfig())
	if err != nil {
		closeAll()
		return nil, err
	}
	ctrl, err := sess.OpenStream()
	if err != nil {
		sess.Close()
		closeAll()
		return nil, fmt.Errorf("conn: opening the control stream to %s: %w", addr, err)
	}
	return newConn(cfg, peer, linkID, true, tcp, readers, sess, ctrl), nil
}
