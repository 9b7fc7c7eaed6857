package mcast

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-reuseport"
	"golang.org/x/net/ipv4"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

// Defaults of Config, the same as the cluster.mcast.* keys'.
const (
	DefaultPort    = 4369
	DefaultTTL     = 255
	DefaultWindow  = 3 * time.Second
	DefaultMaxSkew = 30 * time.Second
	// DefaultCluster is the cluster name when Config.Cluster is empty, as
	// in mesh.Config.
	DefaultCluster = "ekka"
)

// DefaultAddr is the default multicast group, 239.192.0.1 (an organization-
// local scope address).
var DefaultAddr = netip.AddrFrom4([4]byte{239, 192, 0, 1})

// maxRemembered bounds the nonces remembered against replays.
const maxRemembered = 65536

// maxPreviousCookies bounds the previous cookies accepted, as the node
// does (conn.MaxPreviousCookies): each one costs an HMAC per packet.
const maxPreviousCookies = 8

// Config configures the strategy. Start from DefaultConfig: TTL and Loop are
// used as they are, so a zero Config would send with TTL 0 and no loopback.
type Config struct {
	// Name is this node's name, short@host (required). The node answers
	// announces with it and ignores packets that carry it.
	Name string
	// Cluster is the cluster name (default DefaultCluster). Packets of
	// other clusters are dropped.
	Cluster string
	// Cookie is the cluster's shared secret (required). Packets are signed
	// with it, and packets signed with another cookie are dropped, except
	// for the previous cookies of a rotation (CookiePrevious).
	Cookie string
	// CookiePrevious are cookies still accepted during a rotation (at most
	// 8). Discover announces once signed with each cookie, current first,
	// and an announce is answered signed with the cookie that verified it,
	// so two nodes find each other as long as they share a cookie, whichever
	// of them rotated first. SetCookie changes both while the strategy runs.
	CookiePrevious []string

	// Addr is the IPv4 multicast group (zero: DefaultAddr).
	Addr netip.Addr
	// Ports are the group's UDP ports (nil: DefaultPort). Register binds the
	// first one it can (with SO_REUSEPORT, so nodes on one host share it);
	// Discover announces on all of them.
	Ports []int
	// Iface is the IPv4 address of the interface to send and receive on
	// (zero or 0.0.0.0: the system's choice, by the route to Addr).
	Iface netip.Addr
	// TTL is the multicast time-to-live, 0 to 255 (DefaultConfig: 255).
	TTL int
	// Loop delivers this host's multicast to this host too; needed for
	// several nodes on one host (DefaultConfig: true).
	Loop bool
	// SendBuffer and RecvBuffer are the sockets' kernel buffer sizes in
	// bytes (SO_SNDBUF, SO_RCVBUF; ekka's sndbuf and recbuf). Zero leaves
	// the system's default; the kernel may round or cap a size (Linux
	// doubles it and caps it at net.core.wmem_max / rmem_max).
	SendBuffer, RecvBuffer int
	// Window is how long Discover collects answers (zero: DefaultWindow).
	// Discover fails if its context ends first, so the window must be
	// shorter than the caller's deadline (the mesh's autocluster pass allows
	// the larger of its interval and twice the handshake timeout: 10 s by
	// default).
	Window time.Duration
	// MaxSkew is how far a packet's timestamp may lie from this node's
	// clock, either way, before the packet is dropped as stale (zero:
	// DefaultMaxSkew). The clocks of the cluster's hosts must agree within
	// it.
	MaxSkew time.Duration

	// Logger receives the strategy's log (nil: discard): every dropped
	// packet at debug level, and a warning the first time a kind of drop
	// happens and then at most once a minute per kind.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of every field except Name and Cookie.
func DefaultConfig() Config {
	return Config{
		Cluster: DefaultCluster,
		Addr:    DefaultAddr,
		Ports:   []int{DefaultPort},
		Iface:   netip.IPv4Unspecified(),
		TTL:     DefaultTTL,
		Loop:    true,
		Window:  DefaultWindow,
		MaxSkew: DefaultMaxSkew,
	}
}

// Mcast is the multicast discovery strategy. Its methods are safe for
// concurrent use.
type Mcast struct {
	cfg     Config
	cookies atomic.Pointer[[]string] // the current cookie, then the previous ones
	log     *slog.Logger
	now     func() time.Time
	guard   *replayGuard
	stats   counters

	warnMu   sync.Mutex
	lastWarn map[string]time.Time

	mu   sync.Mutex
	resp *responder // non-nil while registered
}

var _ discovery.Strategy = (*Mcast)(nil)

// New checks cfg, fills its zero fields with defaults and returns the
// strategy. It opens no socket: Register and Discover do.
func New(cfg Config) (*Mcast, error) {
	cfg.Cluster = cmp.Or(cfg.Cluster, DefaultCluster)
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr) // the zero Addr is the invalid one
	if cfg.Ports == nil {
		cfg.Ports = []int{DefaultPort}
	}
	cfg.Ports = slices.Clone(cfg.Ports)
	cfg.Iface = cmp.Or(cfg.Iface, netip.IPv4Unspecified())
	cfg.Window = cmp.Or(cfg.Window, DefaultWindow)
	cfg.MaxSkew = cmp.Or(cfg.MaxSkew, DefaultMaxSkew)
	if err := checkNode(cfg.Name); err != nil {
		return nil, fmt.Errorf("mcast discovery: Name %q: %w", cfg.Name, err)
	}
	if err := checkCluster(cfg.Cluster); err != nil {
		return nil, fmt.Errorf("mcast discovery: Cluster: %w", err)
	}
	if cfg.Cookie == "" {
		return nil, errors.New("mcast discovery: Cookie is empty; want the cluster's cookie")
	}
	if err := checkCookies(cfg.Cookie, cfg.CookiePrevious); err != nil {
		return nil, fmt.Errorf("mcast discovery: %w", err)
	}
	cfg.CookiePrevious = slices.Clone(cfg.CookiePrevious)
	if !cfg.Addr.Is4() || !cfg.Addr.IsMulticast() {
		return nil, fmt.Errorf("mcast discovery: Addr %s: want an IPv4 multicast address (224.0.0.0/4), such as %s", cfg.Addr, DefaultAddr)
	}
	if len(cfg.Ports) == 0 {
		return nil, errors.New("mcast discovery: Ports is empty; want at least one UDP port")
	}
	for i, p := range cfg.Ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("mcast discovery: Ports[%d] = %d: want a port from 1 to 65535", i, p)
		}
		if slices.Index(cfg.Ports, p) != i {
			return nil, fmt.Errorf("mcast discovery: Ports: port %d is listed twice", p)
		}
	}
	if !cfg.Iface.Is4() || cfg.Iface.IsMulticast() {
		return nil, fmt.Errorf("mcast discovery: Iface %s: want the IPv4 address of an interface, or 0.0.0.0", cfg.Iface)
	}
	if cfg.TTL < 0 || cfg.TTL > 255 {
		return nil, fmt.Errorf("mcast discovery: TTL %d: want 0 to 255", cfg.TTL)
	}
	if cfg.SendBuffer < 0 || cfg.RecvBuffer < 0 {
		return nil, fmt.Errorf("mcast discovery: SendBuffer %d, RecvBuffer %d: want 0 (the system's default) or a size in bytes", cfg.SendBuffer, cfg.RecvBuffer)
	}
	if cfg.Window < 0 {
		return nil, fmt.Errorf("mcast discovery: Window %v is negative; want a positive duration", cfg.Window)
	}
	if cfg.MaxSkew < 0 {
		return nil, fmt.Errorf("mcast discovery: MaxSkew %v is negative; want a positive duration", cfg.MaxSkew)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mcast{
		cfg:      cfg,
		log:      log,
		now:      time.Now,
		guard:    newReplayGuard(maxRemembered),
		lastWarn: map[string]time.Time{},
	}
	cookies := append([]string{cfg.Cookie}, cfg.CookiePrevious...)
	m.cookies.Store(&cookies)
	return m, nil
}

// Config returns the configuration in use, defaults filled in, with the
// cookies SetCookie last set.
func (m *Mcast) Config() Config {
	c := m.cfg
	c.Ports = slices.Clone(c.Ports)
	cookies := *m.cookies.Load()
	c.Cookie, c.CookiePrevious = cookies[0], slices.Clone(cookies[1:])
	return c
}

// Discover announces this node on the group (on every port of Ports) from a
// socket of its own and collects, for Window, the answers of the registered
// nodes of the cluster. It returns their names, sorted, without duplicates,
// and never this node's own name: a node alone gets an empty list (which the
// autocluster loop retries). It does not need Register.
//
// Discover waits the whole window: it cannot know how many nodes will
// answer. If ctx ends first, it returns ctx's error and no names.
func (m *Mcast) Discover(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mcast discovery: discover: %w", err)
	}
	ifi, err := m.iface()
	if err != nil {
		return nil, err
	}
	local := netip.AddrPortFrom(m.cfg.Iface, 0)
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp4", local.String())
	if err != nil {
		return nil, fmt.Errorf("mcast discovery: discover: open a UDP socket on %s: %w", local, err)
	}
	c := pc.(*net.UDPConn)
	defer c.Close()
	if err := m.setOptions(c, ifi, false); err != nil {
		return nil, err
	}

	// One announce per cookie this node holds, each with a nonce of its
	// own: during a rotation a node that holds only an older cookie (or
	// only the newer one) verifies one of them, and answers it.
	cookies := *m.cookies.Load()
	ids := make([]nonce, len(cookies))
	var sendErrs []error
	sent := 0
	for i, cookie := range cookies {
		rand.Read(ids[i][:])
		pkt, err := encode(nil, packet{Type: typeAnnounce, Time: m.now().UnixNano(), Nonce: ids[i], Cluster: m.cfg.Cluster, Node: m.cfg.Name}, cookie)
		if err != nil {
			return nil, err
		}
		for _, port := range m.cfg.Ports {
			dst := netip.AddrPortFrom(m.cfg.Addr, uint16(port))
			if _, err := c.WriteToUDPAddrPort(pkt, dst); err != nil {
				sendErrs = append(sendErrs, fmt.Errorf("send an announce to %s: %w", dst, err))
				continue
			}
			sent++
			m.stats.sent.Add(1)
		}
	}
	if sent == 0 {
		return nil, fmt.Errorf("mcast discovery: discover: %w", errors.Join(sendErrs...))
	}
	for _, err := range sendErrs {
		m.log.Warn("mcast discovery: announce failed on one port", "err", err)
	}

	// The read deadline ends the window; ctx ending moves it to now.
	if err := c.SetReadDeadline(time.Now().Add(m.cfg.Window)); err != nil {
		return nil, fmt.Errorf("mcast discovery: discover: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	found := map[string]bool{}
	buf := make([]byte, maxPacketLen+1)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("mcast discovery: discover: %w", ctx.Err())
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if isTransient(err) {
				continue
			}
			return nil, fmt.Errorf("mcast discovery: discover: receive answers on %s: %w", c.LocalAddr(), err)
		}
		if p, _, ok := m.accept(buf[:n], src, typeAnswer, ids...); ok {
			found[p.Node] = true
		}
	}
	names := make([]string, 0, len(found))
	for name := range found {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// isTransient reports errors a UDP read may return for an earlier send
// (ICMP errors queued on the socket); the socket stays usable.
func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EMSGSIZE)
}

// Register binds the first port of Ports it can (SO_REUSEPORT: nodes on one
// host share it), joins the group and answers other nodes' announces until
// Unregister. Registering again while registered does nothing.
func (m *Mcast) Register(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.resp != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mcast discovery: register: %w", err)
	}
	ifi, err := m.iface()
	if err != nil {
		return err
	}
	c, port, err := m.listenGroup(ctx, ifi)
	if err != nil {
		return err
	}
	r := &responder{conn: c, port: port, done: make(chan struct{})}
	m.resp = r
	go m.serve(r)
	m.log.Info("mcast discovery: answering announces", "group", netip.AddrPortFrom(m.cfg.Addr, uint16(port)).String(), "node", m.cfg.Name)
	return nil
}

// Unregister stops answering and closes the socket. It waits (bounded by
// ctx) for the responder to return. Unregistering when not registered does
// nothing.
func (m *Mcast) Unregister(ctx context.Context) error {
	m.mu.Lock()
	r := m.resp
	m.resp = nil
	m.mu.Unlock()
	if r == nil {
		return nil
	}
	r.closing.Store(true)
	err := r.conn.Close()
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("mcast discovery: unregister: the responder did not stop: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("mcast discovery: unregister: close the socket on port %d: %w", r.port, err)
	}
	return nil
}

// Port returns the UDP port Register bound, or 0 when not registered.
func (m *Mcast) Port() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.resp == nil {
		return 0
	}
	return m.resp.port
}

// Lock is not supported: multicast has no shared store to lock; the
// autocluster loop's rule (join the oldest node) keeps nodes that start
// together in one cluster.
func (m *Mcast) Lock(context.Context) error { return discovery.NotSupported("mcast", "lock") }

// Unlock is not supported.
func (m *Mcast) Unlock(context.Context) error { return discovery.NotSupported("mcast", "unlock") }

// iface returns the interface Iface names; nil for 0.0.0.0.
func (m *Mcast) iface() (*net.Interface, error) {
	if m.cfg.Iface.IsUnspecified() {
		return nil, nil
	}
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("mcast discovery: Iface %s: list the interfaces: %w", m.cfg.Iface, err)
	}
	for i := range ifis {
		addrs, err := ifis[i].Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Addr().Unmap() == m.cfg.Iface {
				return &ifis[i], nil
			}
		}
	}
	return nil, fmt.Errorf("mcast discovery: Iface %s: no interface of this host has this address; want one that has, or 0.0.0.0", m.cfg.Iface)
}

// listenGroup binds the first port of Ports that binds, with SO_REUSEPORT,
// and joins the group on it.
func (m *Mcast) listenGroup(ctx context.Context, ifi *net.Interface) (*net.UDPConn, int, error) {
	lc := net.ListenConfig{Control: reuseport.Control}
	var errs []string
	for _, port := range m.cfg.Ports {
		addr := netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String()
		pc, err := lc.ListenPacket(ctx, "udp4", addr)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		c := pc.(*net.UDPConn)
		if err := m.setOptions(c, ifi, true); err != nil {
			c.Close()
			return nil, 0, err
		}
		return c, port, nil
	}
	ports := make([]string, len(m.cfg.Ports))
	for i, p := range m.cfg.Ports {
		ports[i] = strconv.Itoa(p)
	}
	return nil, 0, fmt.Errorf("mcast discovery: register: no port of %s could be bound; want one free or bound by others with SO_REUSEPORT: %s",
		strings.Join(ports, ","), strings.Join(errs, "; "))
}

// setOptions sets the multicast options and the buffer sizes on c and,
// when join is set, joins the group.
func (m *Mcast) setOptions(c *net.UDPConn, ifi *net.Interface, join bool) error {
	p := ipv4.NewPacketConn(c)
	where := "the system's choice of interface"
	if ifi != nil {
		where = fmt.Sprintf("interface %s (%s)", ifi.Name, m.cfg.Iface)
		if err := p.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("mcast discovery: send multicast on %s: %w", where, err)
		}
	}
	if err := p.SetMulticastTTL(m.cfg.TTL); err != nil {
		return fmt.Errorf("mcast discovery: set the multicast TTL to %d: %w", m.cfg.TTL, err)
	}
	if err := p.SetMulticastLoopback(m.cfg.Loop); err != nil {
		return fmt.Errorf("mcast discovery: set multicast loopback to %v: %w", m.cfg.Loop, err)
	}
	if m.cfg.SendBuffer > 0 {
		if err := c.SetWriteBuffer(m.cfg.SendBuffer); err != nil {
			return fmt.Errorf("mcast discovery: set the send buffer (SO_SNDBUF) to %d bytes: %w", m.cfg.SendBuffer, err)
		}
	}
	if m.cfg.RecvBuffer > 0 {
		if err := c.SetReadBuffer(m.cfg.RecvBuffer); err != nil {
			return fmt.Errorf("mcast discovery: set the receive buffer (SO_RCVBUF) to %d bytes: %w", m.cfg.RecvBuffer, err)
		}
	}
	if join {
		if err := p.JoinGroup(ifi, &net.UDPAddr{IP: m.cfg.Addr.AsSlice()}); err != nil {
			return fmt.Errorf("mcast discovery: join group %s on %s: %w (does the interface have the MULTICAST flag and a route to 224.0.0.0/4?)", m.cfg.Addr, where, err)
		}
	}
	return nil
}

func (m *Mcast) serve(r *responder) {
	defer close(r.done)
	buf := make([]byte, maxPacketLen+1)
	var out []byte
	for {
		n, src, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if r.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if isTransient(err) {
				continue
			}
			m.log.Warn("mcast discovery: receive on the group failed; retrying", "port", r.port, "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		p, cookie, ok := m.accept(buf[:n], src, typeAnnounce)
		if !ok {
			continue
		}
		var id nonce
		rand.Read(id[:])
		// Signed with the cookie that verified the announce, which the
		// announcer holds, even where it is not this node's current one.
		out, err = encode(out[:0], packet{Type: typeAnswer, Time: m.now().UnixNano(), Nonce: id, ReplyTo: p.Nonce, Cluster: m.cfg.Cluster, Node: m.cfg.Name}, cookie)
		if err != nil {
			m.log.Error("mcast discovery: cannot encode an answer", "err", err)
			continue
		}
		if _, err := r.conn.WriteToUDPAddrPort(out, src); err != nil {
			m.log.Warn("mcast discovery: answer failed", "to", src.String(), "node", p.Node, "err", err)
			continue
		}
		m.stats.sent.Add(1)
		m.log.Debug("mcast discovery: answered", "node", p.Node, "from", src.String())
	}
}

// accept runs every check on a received datagram, in the order of the
// PROTOCOL section, counts the outcome and returns the packet, with the
// cookie that verified it, if it is to be acted on. want is the type this
// socket expects; replyTo, for answers, the nonces of the announces being
// collected.
func (m *Mcast) accept(b []byte, src netip.AddrPort, want packetType, replyTo ...nonce) (packet, string, bool) {
	m.stats.received.Add(1)
	now := m.now()
	if len(b) > maxPacketLen {
		m.drop(&m.stats.malformed, "malformed", src, fmt.Errorf("%w: more than %d bytes; want at most %d", errMalformed, maxPacketLen, maxPacketLen))
		return packet{}, "", false
	}
	p, mac, err := parse(b)
	if err != nil {
		m.drop(&m.stats.malformed, "malformed", src, err)
		return packet{}, "", false
	}
	if p.Cluster != m.cfg.Cluster {
		m.drop(&m.stats.otherCluster, "other cluster", src, fmt.Errorf("cluster %q from %s; want %q", p.Cluster, p.Node, m.cfg.Cluster))
		return packet{}, "", false
	}
	cookie, ok := verifyMACAny(b[:len(b)-macLen], mac, *m.cookies.Load())
	if !ok {
		m.drop(&m.stats.badMAC, "bad MAC", src, fmt.Errorf("the MAC of a packet claiming to be from %s matches none of this cluster's cookies (the current one and %d previous)", p.Node, len(*m.cookies.Load())-1))
		return packet{}, "", false
	}
	if p.Type != want {
		m.drop(&m.stats.unsolicited, "unsolicited", src, fmt.Errorf("%s from %s on a socket that expects %ss", p.Type, p.Node, want))
		return packet{}, "", false
	}
	if p.Node == m.cfg.Name {
		m.stats.self.Add(1)
		return packet{}, "", false
	}
	if d := age(now, p.Time); d > m.cfg.MaxSkew || d < -m.cfg.MaxSkew {
		m.drop(&m.stats.stale, "stale", src, fmt.Errorf("%s from %s is timestamped %v from this node's clock; want within %v", p.Type, p.Node, d.Round(time.Millisecond), m.cfg.MaxSkew))
		return packet{}, "", false
	}
	if want == typeAnswer && !slices.Contains(replyTo, p.ReplyTo) {
		m.drop(&m.stats.unsolicited, "unsolicited", src, fmt.Errorf("answer from %s to an announce this node is not collecting answers for", p.Node))
		return packet{}, "", false
	}
	switch m.guard.check(p.Nonce, now, time.Unix(0, p.Time).Add(m.cfg.MaxSkew+time.Second)) {
	case replaySeen:
		m.drop(&m.stats.replayed, "replayed", src, fmt.Errorf("%s from %s carries a nonce already seen", p.Type, p.Node))
		return packet{}, "", false
	case replayFull:
		m.drop(&m.stats.busy, "busy", src, fmt.Errorf("%s from %s: %d nonces remembered against replays already; want fewer packets per %v", p.Type, p.Node, maxRemembered, m.cfg.MaxSkew))
		return packet{}, "", false
	}
	m.stats.accepted.Add(1)
	return p, cookie, true
}

// warnEvery bounds the warnings about one kind of dropped packet.
const warnEvery = time.Minute

// drop counts a dropped packet and logs it.
func (m *Mcast) drop(counter interface{ Add(uint64) uint64 }, reason string, src netip.AddrPort, err error) {
	total := counter.Add(1)
	m.log.Debug("mcast discovery: dropped a packet", "reason", reason, "from", src.String(), "err", err)
	now := time.Now()
	m.warnMu.Lock()
	last, warned := m.lastWarn[reason]
	due := !warned || now.Sub(last) >= warnEvery
	if due {
		m.lastWarn[reason] = now
	}
	m.warnMu.Unlock()
	if due {
		m.log.Warn("mcast discovery: dropping packets", "reason", reason, "total", total, "from", src.String(), "err", err)
	}
}

// responder is the registered state: the group socket and its goroutine.
type responder struct {
	conn    *net.UDPConn
	port    int
	closing atomic.Bool
	done    chan struct{}
}

// SetCookie makes current and previous the cookies this node signs its
// announces with and accepts (Config.CookiePrevious says how they are
// used), for the packets sent and received from then on. mesh.Node.SetCookie calls it (the strategy is
// a discovery.Keyed), so a node's cookie rotation, by ctl rotate-cookie or
// a config reload, reaches its discovery too. It checks the cookies as the
// node does and changes nothing on an error.
func (m *Mcast) SetCookie(current string, previous ...string) error {
	if err := checkCookies(current, previous); err != nil {
		return fmt.Errorf("mcast discovery: %w", err)
	}
	set := append([]string{current}, previous...)
	m.cookies.Store(&set)
	return nil
}

// checkCookies applies the node's rule (conn.CheckCookies), which mcast
// repeats rather than import the transport: none empty, none twice, at
// most maxPreviousCookies previous ones.
func checkCookies(current string, previous []string) error {
	if current == "" {
		return errors.New("cookie is empty; want the cluster's cookie")
	}
	if len(previous) > maxPreviousCookies {
		return fmt.Errorf("%d previous cookies; want at most %d", len(previous), maxPreviousCookies)
	}
	for i, c := range previous {
		switch {
		case c == "":
			return fmt.Errorf("previous cookie %d is empty; want a shared secret", i+1)
		case c == current || slices.Index(previous, c) != i:
			return fmt.Errorf("previous cookie %d repeats an earlier cookie; want each cookie once", i+1)
		}
	}
	return nil
}
