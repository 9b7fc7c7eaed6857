package attack

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

func jsonRequest(r mesh.AdminRequest) ([]byte, error) { return json.Marshal(r) }

// hostile is the attacker's link to the victim, made with conn.Dial, so it
// authenticates exactly as a node does (or, with a wrong cookie, fails as
// one would). Its TCP connections are tapped: lanes[1] and lanes[2] are the
// data and large lanes' sockets, where the attacker writes hand-built frames
// that conn would never send. It answers the victim's heartbeats and sends
// its own, so the victim keeps it up for as long as the attack needs.
type hostile struct {
	c     *conn.Conn
	lanes []net.Conn // control, data, large, as dialed
	// release is closed when the test ends: a handler that blocks (the
	// attacker "never reads") returns then.
	release chan struct{}
	done    chan struct{} // the pinger has returned

	mu    sync.Mutex
	pongs map[uint64]bool
}

// hostileConfig says who the attacker claims to be and what it does with
// the replies it gets.
type hostileConfig struct {
	name   string
	hidden bool
	// onReply runs for each Reply and ErrorReply on the data or large
	// lane's reader (and each answer to a lock message, on the control
	// lane's): blocking in it stops that lane being read.
	onReply func(release <-chan struct{}, h wire.Header, body []byte)
	// rawHeartbeat, when set, turns off the attacker's own pings (the test
	// sends what it likes on the control lane itself).
	noPings bool
}

func (c *cluster) connConfig(name string, hidden bool) *conn.Config {
	cfg := conn.DefaultConfig()
	cfg.Name = name
	cfg.Cookie = cookie
	cfg.Cluster = clusterName
	if hidden {
		cfg.Cluster = ""
	}
	cfg.Hidden = hidden
	cfg.GUID = mesh.NewGUID()
	return &cfg
}

// dialHostile links the attacker to the victim. The link is closed when
// the test ends.
func (c *cluster) dialHostile(ctx context.Context, t *testing.T, hc hostileConfig) (*hostile, error) {
	cfg := c.connConfig(hc.name, hc.hidden)
	h := &hostile{release: make(chan struct{}), done: make(chan struct{}), pongs: map[uint64]bool{}}
	var mu sync.Mutex
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil {
			mu.Lock()
			h.lanes = append(h.lanes, nc)
			mu.Unlock()
		}
		return nc, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cc, err := conn.Dial(dctx, cfg, victim, c.addr(victim))
	if err != nil {
		return nil, err
	}
	h.c = cc
	t.Cleanup(h.close)
	cc.Start(func(cc *conn.Conn, hdr wire.Header, body []byte, _ bool) {
		switch hdr.Type {
		case wire.TypePing:
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			cc.Send(sctx, wire.TypePong, hdr.ID, body, nil)
			cancel()
		case wire.TypePong:
			h.mu.Lock()
			h.pongs[hdr.ID] = true
			h.mu.Unlock()
		case wire.TypeReply, wire.TypeErrorReply, wire.TypeLockGrant, wire.TypeLockRefuse, wire.TypeLockReleased:
			if hc.onReply != nil {
				hc.onReply(h.release, hdr, body)
			}
		}
	})
	if hc.noPings {
		close(h.done)
	} else {
		go h.pinger()
	}
	return h, nil
}

// pinger sends a heartbeat every 200 ms, as a node of the test cluster does.
func (h *hostile) pinger() {
	defer close(h.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-h.release:
			return
		case <-h.c.Closed():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var b [8]byte
		p := wire.Ping{SentNanos: uint64(time.Now().UnixNano())}
		h.c.Send(ctx, wire.TypePing, 1<<40+seq, p.Append(b[:0]), nil)
		cancel()
	}
}

func (h *hostile) gotPong(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pongs[id]
}

// raw writes hand-built bytes on a lane's socket, bounded by ctx.
func (h *hostile) raw(ctx context.Context, lane uint8, b []byte) error {
	nc := h.lanes[lane]
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	nc.SetWriteDeadline(dl)
	stop := context.AfterFunc(ctx, func() { nc.SetWriteDeadline(time.Now()) })
	defer stop()
	_, err := nc.Write(b)
	return err
}

// closedWithin waits up to d for the link to close and returns why it did
// (nil when it is still open).
func (h *hostile) closedWithin(d time.Duration) error {
	select {
	case <-h.c.Closed():
		return h.c.Err()
	case <-time.After(d):
		return nil
	}
}

func (h *hostile) close() {
	select {
	case <-h.release:
		return
	default:
	}
	close(h.release)
	h.c.Abort(wire.CodeShutdown, "attack over")
	<-h.done
	select {
	case <-h.c.Done():
	case <-time.After(10 * time.Second):
	}
	for _, nc := range h.lanes {
		nc.Close()
	}
}

// callHead is the head of a Call body for method (timeout 0: none).
func callHead(method string) []byte {
	c := wire.Call{Method: []byte(method)}
	return c.Append(nil)
}

// incompleteLanes dials the victim with conn.Dial and withholds the large
// lane: the control and data lanes authenticate and stay open, and the
// victim holds a link that never completes. It returns the sockets it
// keeps (closed by the caller).
type laneHolder struct {
	cfg   *conn.Config
	addr  string
	local net.IP

	mu   sync.Mutex
	held []net.Conn
}

var errWithheld = errors.New("attack: the large lane is withheld")

// stickyConn ignores Close: conn.Dial closes the lanes it opened when a
// later lane fails, and the attacker wants them to stay open.
type stickyConn struct{ net.Conn }

func (stickyConn) Close() error { return nil }

// open makes one incomplete link; it reports how many lanes authenticated.
func (lh *laneHolder) open(ctx context.Context) int {
	n := 0
	var mine []net.Conn
	cfg := *lh.cfg
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if n == 2 {
			return nil, errWithheld
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: lh.local}}
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		n++
		mine = append(mine, nc)
		return stickyConn{nc}, nil
	}
	_, err := conn.Dial(ctx, &cfg, victim, lh.addr)
	if !errors.Is(err, errWithheld) {
		for _, nc := range mine {
			nc.Close()
		}
		return 0
	}
	lh.mu.Lock()
	lh.held = append(lh.held, mine...)
	lh.mu.Unlock()
	return len(mine)
}

func (lh *laneHolder) closeAll() {
	lh.mu.Lock()
	defer lh.mu.Unlock()
	for _, nc := range lh.held {
		nc.Close()
	}
	lh.held = nil
}

// wrongCookie runs one handshake with a proof made without the cookie
// (the acceptor can only refuse it) and returns what the victim answered.
// It is built from wire alone, so it costs the attacker no key derivation.
func wrongCookie(ctx context.Context, addr, target string) (wire.Code, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	hello := wire.Hello{MinVersion: wire.Version, MaxVersion: wire.Version, Caps: wire.CapChunkSize, Lane: wire.LaneData,
		Name: []byte(attackerName(0)), Target: []byte(target), Cluster: []byte(clusterName)}
	rand.Read(hello.GUID[:])
	rand.Read(hello.Nonce[:])
	var idb [8]byte
	rand.Read(idb[:])
	hello.LinkID = binary.BigEndian.Uint64(idb[:])
	if _, err := nc.Write(wire.AppendMessage(nil, 0, 0, &hello)); err != nil {
		return 0, err
	}
	r := wire.NewReader(nc, wire.MinPayloadLimit, 4096)
	h, body, err := r.ReadFrame()
	if err != nil {
		return 0, err
	}
	if h.Type != wire.TypeChallenge {
		return refusal(h, body)
	}
	auth := wire.Proof{T: wire.TypeAuth}
	rand.Read(auth.MAC[:])
	if _, err := nc.Write(wire.AppendMessage(nil, 0, 0, &auth)); err != nil {
		return 0, err
	}
	h, body, err = r.ReadFrame()
	if err != nil {
		return 0, err
	}
	return refusal(h, body)
}

// refusal decodes a Reject or Goodbye frame.
func refusal(h wire.Header, body []byte) (wire.Code, error) {
	if h.Type != wire.TypeReject && h.Type != wire.TypeGoodbye {
		return 0, fmt.Errorf("got a frame of type %#x, want a Reject or Goodbye", uint8(h.Type))
	}
	rj := wire.Reject{T: h.Type}
	if err := rj.Decode(body); err != nil {
		return 0, err
	}
	return rj.Code, nil
}

// s2Bomb returns an S2 block of about a hundred bytes that decodes to
// size zero bytes: one literal byte, one copy at offset 1 that sets the
// repeat offset, then repeats of up to 16 MiB each (the S2 block format's
// repeat copy: a copy-1 tag with offset 0).
func s2Bomb(size int) []byte {
	b := binary.AppendUvarint(nil, uint64(size))
	b = append(b, 0x00, 0x00) // literal of 1 byte: 0
	b = append(b, 0x01, 0x01) // copy of 4 bytes at offset 1
	left := size - 5
	for left > 0 {
		switch {
		case left >= 65540: // tag 7: 3 length bytes, length = 65540 + value
			v := min(left-65540, 1<<24-5)
			if r := left - 65540 - v; r > 0 && r < 4 {
				v -= 4 // leave a remainder a short repeat can carry
			}
			b = append(b, 7<<2|1, 0, byte(v), byte(v>>8), byte(v>>16))
			left -= 65540 + v
		case left >= 260: // tag 6: 2 length bytes, length = 260 + value
			v := min(left-260, 65535)
			b = append(b, 6<<2|1, 0, byte(v), byte(v>>8))
			left -= 260 + v
		case left >= 8: // tag 5: 1 length byte, length = 8 + value
			v := min(left-8, 255)
			b = append(b, 5<<2|1, 0, byte(v))
			left -= 8 + v
		default: // tags 0..3: length 4..7; a remainder below 4 rides on the literal
			if left < 4 {
				panic(fmt.Sprintf("s2Bomb: %d bytes left", left))
			}
			b = append(b, byte(left-4)<<2|1, 0)
			left = 0
		}
	}
	return b
}

// lockFence is the body of a LockFence (PROTOCOL.md 6.6) for the default
// locker.
func lockFence(token uint64, resource, owner string) []byte {
	return (&wire.LockFence{Locker: []byte(locker.DefaultName), Resource: []byte(resource), Owner: []byte(owner), Token: token}).Append(nil)
}
