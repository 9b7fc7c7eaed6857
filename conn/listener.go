package conn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/xtaci/smux"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// maxHandshakes bounds the handshakes in progress on one listener, so that a
// flood of silent connections cannot exhaust memory; each also has a deadline.
const maxHandshakes = 256

// Listener accepts links. Each TCP connection it accepts is authenticated on
// its own; lanes that carry the same link id from the same peer are put
// together into one Conn, which Accept returns once all lanes are there.
type Listener struct {
	cfg *Config
	ln  net.Listener

	accepted chan *Conn
	sem      chan struct{}
	closed   chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	pending map[linkKey]*pendingLink
}

type linkKey struct {
	name   string
	linkID uint64
}

type pendingLink struct {
	peer    Peer
	tcp     [3]net.Conn
	readers [3]*wire.Reader
	n       int
	timer   *time.Timer
}

// Listen binds addr (see ListenAddr) and starts accepting. Rebinding a port
// that a stopped node just released works at once (SO_REUSEPORT).
func Listen(ctx context.Context, cfg *Config, addr string) (*Listener, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Hidden {
		return nil, errors.New("conn: a hidden client cannot listen (Config.Hidden is set)")
	}
	ln, err := listenTCP(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("conn: listen on %s: %w", addr, err)
	}
	l := &Listener{
		cfg:      cfg,
		ln:       ln,
		accepted: make(chan *Conn),
		sem:      make(chan struct{}, maxHandshakes),
		closed:   make(chan struct{}),
		pending:  make(map[linkKey]*pendingLink),
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Addr is the bound address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accept returns the next authenticated link. The caller owns it: Start it
// or Close it.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	select {
	case c := <-l.accepted:
		return c, nil
	case <-l.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops accepting, closes half-assembled links and waits for every
// goroutine of the listener. Links already returned by Accept stay open.
func (l *Listener) Close() error {
	select {
	case <-l.closed:
		return nil
	default:
	}
	close(l.closed)
	err := l.ln.Close()
	l.wg.Wait()
	l.mu.Lock()
	for k, p := range l.pending {
		p.timer.Stop()
		p.close()
		delete(l.pending, k)
	}
	l.mu.Unlock()
	return err
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.cfg.logger().Warn("accept failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case l.sem <- struct{}{}:
		default:
			l.cfg.logger().Warn("too many handshakes in progress; dropping connection", "remote", nc.RemoteAddr(), "limit", maxHandshakes)
			nc.Close()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-l.sem }()
			l.handle(nc)
		}()
	}
}

func (l *Listener) handle(raw net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*l.cfg.handshakeTimeout())
	defer cancel()
	go func() {
		select {
		case <-l.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	nc, err := wrapServerTLS(ctx, l.cfg, raw)
	if err != nil {
		l.cfg.logger().Warn("TLS handshake failed", "remote", raw.RemoteAddr(), "err", err)
		raw.Close()
		return
	}
	r := wire.NewReader(nc, l.cfg.maxPayload(), handshakeReadBuffer)
	peer, lane, linkID, err := serverHandshake(ctx, nc, r, l.cfg)
	if err != nil {
		nc.Close()
		return
	}
	if lane > wire.LaneLarge {
		l.cfg.logger().Warn("peer asked for an unknown lane", "peer", peer.Name, "lane", lane)
		nc.Close()
		return
	}
	if lane == wire.LaneData {
		r.Grow(dataReadBuffer)
	}
	l.attach(peer, lane, linkID, nc, r)
}

// attach files an authenticated lane under its link and completes the link
// when every lane is there.
func (l *Listener) attach(peer Peer, lane uint8, linkID uint64, nc net.Conn, r *wire.Reader) {
	k := linkKey{peer.Name, linkID}
	l.mu.Lock()
	p := l.pending[k]
	if p == nil {
		p = &pendingLink{peer: peer}
		p.timer = time.AfterFunc(2*l.cfg.handshakeTimeout(), func() { l.expire(k, p) })
		l.pending[k] = p
	}
	if p.peer.GUID != peer.GUID || p.tcp[lane] != nil {
		l.mu.Unlock()
		l.cfg.logger().Warn("lane does not fit its link; dropping it", "peer", peer.Name, "lane", lane)
		nc.Close()
		return
	}
	p.tcp[lane], p.readers[lane] = nc, r
	p.n++
	if p.n < len(p.tcp) {
		l.mu.Unlock()
		return
	}
	delete(l.pending, k)
	p.timer.Stop()
	l.mu.Unlock()

	c, err := p.assembleServer(l.cfg, linkID)
	if err != nil {
		l.cfg.logger().Warn("link setup failed", "peer", peer.Name, "err", err)
		p.close()
		return
	}
	select {
	case l.accepted <- c:
	case <-l.closed:
		c.fail(ErrClosed)
	}
}

func (l *Listener) expire(k linkKey, p *pendingLink) {
	l.mu.Lock()
	if l.pending[k] != p {
		l.mu.Unlock()
		return
	}
	delete(l.pending, k)
	l.mu.Unlock()
	l.cfg.logger().Warn("link incomplete: not every lane arrived in time", "peer", p.peer.Name, "lanes", p.n)
	p.close()
}

func (p *pendingLink) close() {
	for _, t := range p.tcp {
		if t != nil {
			t.Close()
		}
	}
}

// assembleServer starts the smux server session on the control lane and
// waits for the dialer's control stream.
func (p *pendingLink) assembleServer(cfg *Config, linkID uint64) (*Conn, error) {
	ctrlTCP := p.tcp[wire.LaneControl]
	if p.readers[wire.LaneControl].Buffered() != 0 {
		return nil, errors.New("conn: bytes after the handshake on the control lane before the session started")
	}
	sess, err := smux.Server(ctrlTCP, smuxConfig())
	if err != nil {
		return nil, err
	}
	sess.SetDeadline(time.Now().Add(cfg.handshakeTimeout()))
	ctrl, err := sess.AcceptStream()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("conn: control stream did not arrive: %w", err)
	}
	sess.SetDeadline(time.Time{})
	return newConn(cfg, p.peer, linkID, false, p.tcp, p.readers, sess, ctrl), nil
}
