package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/xtaci/smux"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Admission defaults; see the Config fields of the same names.
const (
	defaultMaxHandshakes             = 2048
	defaultMaxHandshakesPerAddr      = 1024
	defaultMaxIncompleteLinksPerPeer = 4
	defaultFirstByteTimeout          = 2 * time.Second
	defaultRefusalLogInterval        = 10 * time.Second
)

// defaultListenerConns is the default MaxListenerConns for a process whose
// open-file limit is nofile (0: unknown): a quarter of it, so that links
// and outgoing dials keep the rest, within 64..16384.
func defaultListenerConns(nofile uint64) int {
	if nofile == 0 {
		return 1024
	}
	return int(min(max(nofile/4, 64), 16384))
}

func (c *Config) admissionLimits() admissionLimits {
	or := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return admissionLimits{
		conns:        or(c.MaxListenerConns, defaultListenerConns(openFileLimit())),
		handshakes:   or(c.MaxHandshakes, defaultMaxHandshakes),
		perAddr:      or(c.MaxHandshakesPerAddr, defaultMaxHandshakesPerAddr),
		linksPerPeer: or(c.MaxIncompleteLinksPerPeer, defaultMaxIncompleteLinksPerPeer),
	}
}

func (c *Config) firstByteTimeout() time.Duration {
	if c.FirstByteTimeout > 0 {
		return c.FirstByteTimeout
	}
	return defaultFirstByteTimeout
}

func (c *Config) refusalLogInterval() time.Duration {
	if c.RefusalLogInterval > 0 {
		return c.RefusalLogInterval
	}
	return defaultRefusalLogInterval
}

// minCookieLen is the cookie length below which Listen warns.
const minCookieLen = 16

// cookieWeakness says what is weak about cookie, or "" when nothing is:
// shorter than minCookieLen bytes, or made of very few distinct bytes.
func cookieWeakness(cookie string) string {
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(cookie); i++ {
		if !seen[cookie[i]] {
			seen[cookie[i]] = true
			distinct++
		}
	}
	switch {
	case len(cookie) < minCookieLen:
		return fmt.Sprintf("the cookie is %d bytes long; use at least %d random bytes (for example 32 hex digits)", len(cookie), minCookieLen)
	case distinct < 8:
		return fmt.Sprintf("the cookie is made of only %d distinct characters; use at least %d random bytes (for example 32 hex digits)", distinct, minCookieLen)
	}
	return ""
}

// Listener accepts links. Each TCP connection it accepts is authenticated on
// its own; lanes that carry the same link id from the same peer are put
// together into one Conn, which Accept returns once all lanes are there.
//
// Connections that are not yet part of a link are admitted by the rules of
// the Config fields MaxHandshakes, MaxHandshakesPerAddr, MaxListenerConns,
// MaxIncompleteLinksPerPeer and FirstByteTimeout: when a limit is exceeded
// the oldest idle connection is closed, not the newest, so a flood of idle
// or slow connections cannot lock real peers out. Refused connections are
// counted by reason (Stats) and logged at most once per RefusalLogInterval.
type Listener struct {
	cfg    *Config
	ln     net.Listener
	rlog   *rateLog
	counts listenerCounters // stats.go

	accepted chan *Conn
	closed   chan struct{}
	ctx      context.Context // ends when the listener closes: aborts handshakes
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	adm     *admission
	hsConns map[uint64]net.Conn // handshakes in progress, by admission id
	pending map[linkKey]*pendingLink
}

// ListenerStats is a snapshot of a Listener's admission state.
type ListenerStats struct {
	// Handshakes is the number of handshakes in progress.
	Handshakes int
	// IncompleteLinks is the number of links waiting for their lanes.
	IncompleteLinks int
	// Conns is the number of connections held: handshakes plus the lanes
	// of incomplete links.
	Conns int
	// Refused counts the connections refused or closed since Listen, by
	// reason: a failed handshake's ("bad-cookie", "wrong-cluster",
	// "wrong-node", "version", "malformed", "unexpected", "timeout",
	// "closed", "refused-by-peer", "io-error"), a silent connection
	// ("silent"), a TLS failure ("tls"), an admission limit
	// ("addr-limit", "handshake-limit", "conn-limit", "peer-link-limit"),
	// a lane that fits no link ("lane-mismatch"), a link whose lanes did
	// not all arrive ("link-incomplete", "link-setup"), or a failed
	// accept ("fd-exhausted", "accept-error").
	Refused map[string]uint64
}

type linkKey struct {
	name   string
	linkID uint64
}

type pendingLink struct {
	peer    Peer
	addr    string
	tcp     [3]net.Conn
	readers [3]*wire.Reader
	n       int
	timer   *time.Timer
}

// Listen binds addr (see ListenAddr) and starts accepting. It fails, naming
// the node and the port, when another process already listens there: a
// second node with the same name. Rebinding a port that a stopped node just
// released works at once (SO_REUSEADDR). Listen derives the cookie key
// (wire.CookieKey, tens of milliseconds) before it returns, and logs a
// warning when the cookie is short or repetitive.
func Listen(ctx context.Context, cfg *Config, addr string) (*Listener, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Hidden {
		return nil, errors.New("conn: a hidden client cannot listen (Config.Hidden is set)")
	}
	ln, err := listenTCP(ctx, addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	set := cfg.cookies()
	if weak := cookieWeakness(set.cookies[0]); weak != "" {
		cfg.logger().Warn("weak cookie: anyone who records one plaintext handshake can guess it offline; "+weak, "cookie_len", len(set.cookies[0]))
	}
	for i := range set.cookies {
		set.key(i, cfg.Cluster)
	}
	l := &Listener{
		cfg:      cfg,
		ln:       ln,
		rlog:     newRateLog(cfg.logger(), cfg.refusalLogInterval()),
		accepted: make(chan *Conn),
		closed:   make(chan struct{}),
		adm:      newAdmission(cfg.admissionLimits()),
		hsConns:  make(map[uint64]net.Conn),
		pending:  make(map[linkKey]*pendingLink),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Addr is the bound address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Stats returns the listener's admission counts and its refusals by reason.
func (l *Listener) Stats() ListenerStats {
	l.mu.Lock()
	hs, links, conns := l.adm.counts()
	l.mu.Unlock()
	return ListenerStats{Handshakes: hs, IncompleteLinks: links, Conns: conns, Refused: l.rlog.stats()}
}

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

// Close stops accepting, closes handshakes in progress and half-assembled
// links and waits for every goroutine of the listener. Links already
// returned by Accept stay open.
func (l *Listener) Close() error {
	select {
	case <-l.closed:
		return nil
	default:
	}
	close(l.closed)
	l.cancel()
	err := l.ln.Close()
	l.mu.Lock()
	for _, nc := range l.hsConns {
		nc.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.mu.Lock()
	for k, p := range l.pending {
		p.timer.Stop()
		p.close()
		delete(l.pending, k)
		l.adm.linkDone(k)
	}
	l.mu.Unlock()
	l.rlog.close()
	return err
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// Accept back-off after an error (descriptors exhausted, usually): it
// doubles from the first value to the cap and resets on success.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			reason := "accept-error"
			if isFDExhausted(err) {
				reason = "fd-exhausted"
			}
			l.rlog.refuse(reason, l.ln.Addr().String(), fmt.Sprintf("%v; next accept in %v", err, backoff))
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		l.counts.accepted.Add(1)
		src := nc.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(src); err == nil {
			src = host
		}
		l.mu.Lock()
		id, ev := l.adm.open(src, l.pendingLocked)
		l.hsConns[id] = nc
		drop := l.evictLocked(ev)
		l.mu.Unlock()
		drop()
		l.wg.Add(1)
		go l.handle(id, nc)
	}
}

// pendingLocked reports whether bytes wait unread on handshake id's
// connection (l.mu held): its peer has spoken, the goroutine has not read
// yet.
func (l *Listener) pendingLocked(id uint64) bool {
	nc := l.hsConns[id]
	return nc != nil && hasUnreadBytes(nc)
}

// evictLocked takes the evicted handshakes and links out of the listener's
// tables (l.mu held) and returns the function that closes them and counts
// the refusals, to run without the lock.
func (l *Listener) evictLocked(ev []eviction) func() {
	if len(ev) == 0 {
		return func() {}
	}
	type victim struct {
		nc     net.Conn
		p      *pendingLink
		reason string
	}
	vs := make([]victim, 0, len(ev))
	for _, e := range ev {
		if e.hs != 0 {
			if nc := l.hsConns[e.hs]; nc != nil {
				delete(l.hsConns, e.hs)
				vs = append(vs, victim{nc: nc, reason: e.reason})
			}
			continue
		}
		if p := l.pending[e.link]; p != nil {
			delete(l.pending, e.link)
			p.timer.Stop()
			vs = append(vs, victim{p: p, reason: e.reason})
		}
	}
	lim := l.adm.lim
	return func() {
		for _, v := range vs {
			if v.nc != nil {
				v.nc.Close()
				l.rlog.refuse(v.reason, v.nc.RemoteAddr().String(), fmt.Sprintf(
					"closed the oldest idle handshake to admit a newer connection (limits: %d handshakes, %d per address, %d connections)",
					lim.handshakes, lim.perAddr, lim.conns))
				continue
			}
			v.p.close()
			l.rlog.refuse(v.reason, v.p.addr, fmt.Sprintf(
				"dropped an incomplete link of node %s with %d of 3 lanes (limits: %d incomplete links per node, %d connections)",
				v.p.peer.Name, v.p.n, lim.linksPerPeer, lim.conns))
		}
	}
}

// fail ends handshake id, counting the refusal unless it was evicted (and
// counted) already or the listener is closing.
func (l *Listener) fail(id uint64, nc net.Conn, reason, detail string) {
	nc.Close()
	l.mu.Lock()
	known := l.adm.done(id)
	delete(l.hsConns, id)
	l.mu.Unlock()
	if known && !l.isClosed() {
		l.rlog.refuse(reason, nc.RemoteAddr().String(), detail)
	}
}

// refusalReason names the Stats reason for a failed server handshake.
func refusalReason(err error) (reason, detail string) {
	var he *HandshakeError
	if !errors.As(err, &he) {
		return "io-error", err.Error()
	}
	if he.Remote {
		return "refused-by-peer", he.Reason
	}
	switch he.Code {
	case wire.CodeBadCookie:
		reason = "bad-cookie"
	case wire.CodeWrongCluster:
		reason = "wrong-cluster"
	case wire.CodeWrongNode:
		reason = "wrong-node"
	case wire.CodeVersion:
		reason = "version"
	case wire.CodeTimeout:
		reason = "timeout"
	case wire.CodeTruncated:
		reason = "closed"
	case wire.CodeUnexpected:
		reason = "unexpected"
	case wire.CodeMalformed, wire.CodeTooLarge:
		reason = "malformed"
	default:
		reason = "refused"
	}
	return reason, he.Reason
}

func (l *Listener) handle(id uint64, raw net.Conn) {
	defer l.wg.Done()
	ctx, cancel := context.WithTimeout(l.ctx, 2*l.cfg.handshakeTimeout())
	defer cancel()
	if err := waitFirstByte(raw, l.cfg.firstByteTimeout()); err != nil {
		l.fail(id, raw, "silent", err.Error())
		return
	}
	l.mu.Lock()
	l.adm.spoke(id)
	l.mu.Unlock()
	nc, err := wrapServerTLS(ctx, l.cfg, raw)
	if err != nil {
		l.fail(id, raw, "tls", err.Error())
		return
	}
	r := wire.NewReader(nc, l.cfg.maxPayload(), handshakeReadBuffer)
	hooks := acceptHooks{quiet: true, hello: func() {
		l.mu.Lock()
		l.adm.hello(id)
		l.mu.Unlock()
	}}
	peer, lane, linkID, err := serverHandshakeHooks(ctx, nc, r, l.cfg, hooks)
	if err != nil {
		nc.Close()
		reason, detail := refusalReason(err)
		l.fail(id, raw, reason, detail)
		return
	}
	l.counts.handshakes.Add(1)
	if lane == wire.LaneData {
		r.Grow(dataReadBuffer)
	}
	l.attach(id, peer, lane, linkID, nc, r)
}

// attach files an authenticated lane under its link and completes the link
// when every lane is there.
func (l *Listener) attach(id uint64, peer Peer, lane uint8, linkID uint64, nc net.Conn, r *wire.Reader) {
	k := linkKey{peer.Name, linkID}
	addr := nc.RemoteAddr().String()
	l.mu.Lock()
	delete(l.hsConns, id)
	p := l.pending[k]
	if p != nil && (p.peer.GUID != peer.GUID || p.tcp[lane] != nil) {
		known := l.adm.done(id)
		l.mu.Unlock()
		nc.Close()
		if known {
			l.rlog.refuse("lane-mismatch", addr, fmt.Sprintf("lane %d of node %s does not fit its link (another GUID or a second lane %d)", lane, peer.Name, lane))
		}
		return
	}
	ok, ev := l.adm.lane(id, k)
	if !ok || l.isClosed() {
		// Evicted while its handshake finished (and counted then), or the
		// listener is closing.
		if ok {
			l.adm.linkDone(k)
		}
		l.mu.Unlock()
		nc.Close()
		return
	}
	if p == nil {
		p = &pendingLink{peer: peer, addr: addr}
		p.timer = time.AfterFunc(2*l.cfg.handshakeTimeout(), func() { l.expire(k, p) })
		l.pending[k] = p
	}
	p.tcp[lane], p.readers[lane] = nc, r
	p.n++
	drop := l.evictLocked(ev)
	if p.n < len(p.tcp) {
		l.mu.Unlock()
		drop()
		return
	}
	delete(l.pending, k)
	p.timer.Stop()
	l.adm.linkDone(k)
	l.mu.Unlock()
	drop()

	c, err := p.assembleServer(l.cfg, linkID)
	if err != nil {
		l.rlog.refuse("link-setup", p.addr, fmt.Sprintf("node %s: %v", peer.Name, err))
		p.close()
		return
	}
	l.counts.links.Add(1)
	select {
	case l.accepted <- c:
	case <-l.closed:
		c.fail(ErrClosed)
	}
}

// expire drops a link whose lanes did not all arrive in time. Each lane
// that did arrive gets a Goodbye with code timeout naming the missing lanes
// (PROTOCOL.md section 2), so that a client that opened only some of them
// learns why instead of seeing its connection vanish.
func (l *Listener) expire(k linkKey, p *pendingLink) {
	l.mu.Lock()
	if l.pending[k] != p || l.isClosed() {
		// Taken already, or the listener is closing and closes it.
		l.mu.Unlock()
		return
	}
	delete(l.pending, k)
	l.adm.linkDone(k)
	// Close waits for this goodbye: it takes l.mu before it waits, so this
	// Add happens before that wait.
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	wait := 2 * l.cfg.handshakeTimeout()
	reason := incompleteReason(p.peer.Name, p.tcp, wait)
	l.rlog.refuse("link-incomplete", p.addr, reason)
	p.goodbye(wire.CodeTimeout, reason)
}

// incompleteReason is the Goodbye reason for a link whose lanes did not
// all arrive within wait: which arrived, which are missing.
func incompleteReason(peer string, tcp [3]net.Conn, wait time.Duration) string {
	var have, missing []string
	for lane, t := range tcp {
		if t != nil {
			have = append(have, laneNames[lane])
		} else {
			missing = append(missing, laneNames[lane])
		}
	}
	return fmt.Sprintf("link incomplete: node %s opened the %s lane(s) but not %s within %v; a link needs all three lanes (control, data, large), handshaken in that order with the same link id",
		peer, strings.Join(have, " and "), strings.Join(missing, " and "), wait)
}

// goodbye sends a Goodbye with code and reason on every lane of an
// incomplete link, as a bare frame (the control lane's smux session has
// not started), and closes them. Each lane is half-closed after its
// goodbye and drained for a moment before it closes: bytes of the peer left
// unread (a call it sent early) would turn the close into a reset, which
// can discard the goodbye before the peer reads it.
func (p *pendingLink) goodbye(code wire.Code, reason string) {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	g := wire.Reject{T: wire.TypeGoodbye, Code: code, Reason: []byte(reason)}
	var wg sync.WaitGroup
	for _, t := range p.tcp {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer t.Close()
			t.SetWriteDeadline(time.Now().Add(goodbyeTimeout))
			if _, err := t.Write(wire.AppendMessage(nil, 0, 0, &g)); err != nil {
				return
			}
			if cw, ok := t.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			t.SetReadDeadline(time.Now().Add(goodbyeTimeout))
			io.Copy(io.Discard, io.LimitReader(t, maxDrain))
		}()
	}
	wg.Wait()
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
