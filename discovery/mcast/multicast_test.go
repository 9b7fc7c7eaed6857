package mcast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-reuseport"
	"golang.org/x/net/ipv4"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

const testWindow = 400 * time.Millisecond

// testConfig is a test node's configuration: cluster "c1", a short window.
func testConfig(name string, ports ...int) Config {
	c := DefaultConfig()
	c.Name, c.Cluster, c.Cookie = name, "c1", "test-cookie"
	c.Window = testWindow
	if len(ports) > 0 {
		c.Ports = ports
	}
	return c
}

func newTest(t *testing.T, cfg Config) *Mcast {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Unregister(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return m
}

func register(t *testing.T, cfg Config) *Mcast {
	t.Helper()
	m := newTest(t, cfg)
	if err := m.Register(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m
}

func discover(t *testing.T, m *Mcast) []string {
	t.Helper()
	got, err := m.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSharedPortAcrossProcesses: three responders in processes of their own
// and one in this process share the group's first port; another node finds
// them all; a responder that exits or unregisters stops answering.
func TestSharedPortAcrossProcesses(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ports := []int{4369, 4370}
	var helpers []*helper
	for _, name := range []string{"h1@127.0.0.1", "h2@127.0.0.2", "h3@127.0.0.3"} {
		h := startHelper(t, name, "c1", "test-cookie", ports)
		if h.port != 4369 {
			t.Errorf("helper %s bound port %d; want 4369, shared", name, h.port)
		}
		helpers = append(helpers, h)
	}
	local := register(t, testConfig("n4@127.0.0.4", ports...))
	if p := local.Port(); p != 4369 {
		t.Errorf("the in-process responder bound port %d; want 4369, shared", p)
	}
	d := newTest(t, testConfig("d@127.0.0.9", ports...))

	want := []string{"h1@127.0.0.1", "h2@127.0.0.2", "h3@127.0.0.3", "n4@127.0.0.4"}
	start := time.Now()
	if got := discover(t, d); !slices.Equal(got, want) {
		t.Fatalf("Discover = %v; want %v", got, want)
	}
	if took := time.Since(start); took < testWindow || took > testWindow+2*time.Second {
		t.Errorf("Discover took %v; want about the window, %v", took, testWindow)
	}
	if got := discover(t, local); !slices.Equal(got, want[:3]) {
		t.Fatalf("Discover by a registered node = %v; want the others, %v, without itself", got, want[:3])
	}
	if s := d.Stats(); s.Sent != 2 || s.Accepted != 4 || s.Dropped() != 0 {
		t.Errorf("discoverer's Stats = %+v; want 2 sent (one announce per port), 4 answers accepted, none dropped", s)
	}
	// The local responder saw d's announce, and its own looped back.
	if s := local.Stats(); s.Self < 1 || s.Dropped() != 0 {
		t.Errorf("local responder's Stats = %+v; want its own announce seen as Self, nothing dropped", s)
	}

	for _, h := range helpers {
		stats := h.stop(t)
		if !strings.Contains(stats, "Accepted:2 ") || !strings.Contains(stats, "Sent:2 ") {
			t.Errorf("helper %s: %s; want 2 announces accepted and answered", h.name, stats)
		}
	}
	if got := discover(t, d); !slices.Equal(got, want[3:]) {
		t.Fatalf("Discover after the helpers exited = %v; want %v", got, want[3:])
	}
	if err := local.Unregister(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := discover(t, d); len(got) != 0 || got == nil {
		t.Fatalf("Discover with nobody registered = %#v; want an empty, non-nil list", got)
	}
	if err := local.Register(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := local.Register(t.Context()); err != nil {
		t.Fatalf("Register twice: %v", err)
	}
	if got := discover(t, d); !slices.Equal(got, want[3:]) {
		t.Fatalf("Discover after registering again = %v; want %v", got, want[3:])
	}
}

// TestFirstFreePort: a port held without SO_REUSEPORT is skipped; announces
// go to every port, so nodes on different ports still find each other.
func TestFirstFreePort(t *testing.T) {
	if !inNetns(t) {
		return
	}
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{Port: 5353})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	a := register(t, testConfig("a@127.0.0.1", 5353, 5354))
	if p := a.Port(); p != 5354 {
		t.Fatalf("Port = %d; want 5354, the first free one", p)
	}
	b := register(t, testConfig("b@127.0.0.2", 5354))
	if got := discover(t, b); !slices.Equal(got, []string{"a@127.0.0.1"}) {
		t.Fatalf("b discovers %v; want [a@127.0.0.1]", got)
	}
	if got := discover(t, a); !slices.Equal(got, []string{"b@127.0.0.2"}) {
		t.Fatalf("a (announcing on 5353 and 5354) discovers %v; want [b@127.0.0.2]", got)
	}
	c := newTest(t, testConfig("c@127.0.0.3", 5353))
	want := "no port of 5353 could be bound"
	if err := c.Register(t.Context()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Register with every port busy = %v; want %q", err, want)
	}
}

// TestIfaceAndOptions: an explicit interface address (127.0.0.1, lo), TTL 1,
// loopback off.
func TestIfaceAndOptions(t *testing.T) {
	if !inNetns(t) {
		return
	}
	cfg := testConfig("a@127.0.0.1")
	cfg.Iface = netip.MustParseAddr("127.0.0.1")
	cfg.TTL = 1
	register(t, cfg)
	cfg = testConfig("b@127.0.0.2")
	cfg.Iface = netip.MustParseAddr("127.0.0.1")
	b := newTest(t, cfg)
	if got := discover(t, b); !slices.Equal(got, []string{"a@127.0.0.1"}) {
		t.Fatalf("Discover = %v; want [a@127.0.0.1]", got)
	}

	// Loop off is accepted. (On lo it changes nothing: what lo sends, it
	// receives.)
	cfg = testConfig("c@127.0.0.3")
	cfg.Loop = false
	c := register(t, cfg)
	if got := discover(t, c); !slices.Equal(got, []string{"a@127.0.0.1"}) {
		t.Fatalf("Discover with Loop off = %v; want [a@127.0.0.1]", got)
	}
}

// TestDiscoverHonoursContext: Discover ends when its context does, before
// the window closes.
func TestDiscoverHonoursContext(t *testing.T) {
	if !inNetns(t) {
		return
	}
	cfg := testConfig("a@127.0.0.1")
	cfg.Window = time.Minute
	m := newTest(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Discover(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Discover = %v; want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Discover returned %v after its context ended", took)
	}
}

// groupListener joins the group on port like a responder would, as an
// outsider that sees every announce.
func groupListener(t *testing.T, port int) *net.UDPConn {
	t.Helper()
	lc := net.ListenConfig{Control: reuseport.Control}
	pc, err := lc.ListenPacket(t.Context(), "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	c := pc.(*net.UDPConn)
	t.Cleanup(func() { c.Close() })
	if err := ipv4.NewPacketConn(c).JoinGroup(nil, &net.UDPAddr{IP: DefaultAddr.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	return c
}

func readPacket(t *testing.T, c *net.UDPConn, within time.Duration) ([]byte, netip.AddrPort, bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 2048)
	n, src, err := c.ReadFromUDPAddrPort(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, src, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n], src, true
}

// waitStats polls m's Stats until cond holds.
func waitStats(t *testing.T, m *Mcast, what string, cond func(Stats) bool) Stats {
	t.Helper()
	var s Stats
	testnet.Eventually(t, 5*time.Second, what, func() string {
		if s = m.Stats(); !cond(s) {
			return fmt.Sprintf("Stats = %+v", s)
		}
		return ""
	})
	return s
}

// TestForgedAnnouncesIgnored sends a registered node, over real multicast,
// garbage, packets of another cluster, with a wrong cookie, stale, replayed
// and of the wrong type: it answers only the one valid announce, drops and
// counts the rest, and keeps working.
func TestForgedAnnouncesIgnored(t *testing.T) {
	if !inNetns(t) {
		return
	}
	r := register(t, testConfig("r@127.0.0.1"))
	s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 7)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	group := netip.AddrPortFrom(DefaultAddr, DefaultPort)
	sign := func(p packet, cookie string) []byte {
		b, err := encode(nil, p, cookie)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	now := time.Now().UnixNano()
	announce := func(n byte) packet {
		return packet{Type: typeAnnounce, Time: now, Nonce: seq(n), Cluster: "c1", Node: "x@127.0.0.7"}
	}
	valid := sign(announce(1), "test-cookie")
	other := announce(2)
	other.Cluster = "c2"
	stale := announce(4)
	stale.Time -= int64(time.Hour)
	answer := packet{Type: typeAnswer, Time: now, Nonce: seq(5), ReplyTo: seq(1), Cluster: "c1", Node: "x@127.0.0.7"}
	datagrams := [][]byte{
		[]byte("garbage"),
		make([]byte, 1200),
		valid[:len(valid)-1],
		sign(other, "test-cookie"),
		sign(announce(3), "wrong-cookie"),
		sign(stale, "test-cookie"),
		sign(answer, "test-cookie"),
		valid,
		valid,
	}
	for _, b := range datagrams {
		if _, err := s.WriteToUDPAddrPort(b, group); err != nil {
			t.Fatal(err)
		}
	}
	got := waitStats(t, r, "every datagram to be counted", func(s Stats) bool { return s.Received == uint64(len(datagrams)) })
	want := Stats{Sent: 1, Received: 9, Accepted: 1, Malformed: 3, OtherCluster: 1, BadMAC: 1, Stale: 1, Unsolicited: 1, Replayed: 1}
	if got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
	b, src, ok := readPacket(t, s, 2*time.Second)
	if !ok {
		t.Fatal("no answer to the valid announce")
	}
	p, mac, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != typeAnswer || p.Node != "r@127.0.0.1" || p.Cluster != "c1" || p.ReplyTo != seq(1) || !verifyMAC(b[:len(b)-macLen], mac, "test-cookie") {
		t.Errorf("answer %+v from %s; want r@127.0.0.1's signed answer to nonce 1", p, src)
	}
	if src.Port() != DefaultPort {
		t.Errorf("the answer came from port %d; want the group socket's, %d", src.Port(), DefaultPort)
	}
	if b, _, ok := readPacket(t, s, 300*time.Millisecond); ok {
		t.Errorf("a second answer arrived: %x; want one answer, to the valid announce only", b)
	}
	d := newTest(t, testConfig("d@127.0.0.2"))
	if got := discover(t, d); !slices.Equal(got, []string{"r@127.0.0.1"}) {
		t.Errorf("after the forgeries, Discover = %v; want [r@127.0.0.1]", got)
	}
}

// TestForgedAnswersIgnored: while a node collects answers, an outsider
// that sees its announce sends it forged, foreign, stale, misdirected and
// replayed answers; only the authentic answer's name comes back.
func TestForgedAnswersIgnored(t *testing.T) {
	if !inNetns(t) {
		return
	}
	spy := groupListener(t, DefaultPort)
	cfg := testConfig("d@127.0.0.1")
	cfg.Window = time.Second
	d := newTest(t, cfg)
	type result struct {
		names []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		names, err := d.Discover(t.Context())
		done <- result{names, err}
	}()
	b, src, ok := readPacket(t, spy, 2*time.Second)
	if !ok {
		t.Fatal("the spy saw no announce")
	}
	a, _, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(p packet, cookie string) []byte {
		b, err := encode(nil, p, cookie)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	now := time.Now().UnixNano()
	answer := func(n byte, node string) packet {
		return packet{Type: typeAnswer, Time: now, Nonce: seq(n), ReplyTo: a.Nonce, Cluster: "c1", Node: node}
	}
	good := sign(answer(1, "ok@127.0.0.5"), "test-cookie")
	other := answer(2, "evil@127.0.0.6")
	other.Cluster = "c2"
	stale := answer(4, "evil@127.0.0.8")
	stale.Time -= int64(time.Hour)
	misdirected := answer(5, "evil@127.0.0.9")
	misdirected.ReplyTo = seq(99)
	announceBack := packet{Type: typeAnnounce, Time: now, Nonce: seq(6), Cluster: "c1", Node: "evil@127.0.0.10"}
	for _, b := range [][]byte{
		[]byte("EKMC garbage"),
		sign(other, "test-cookie"),
		sign(answer(3, "evil@127.0.0.7"), "wrong-cookie"),
		sign(stale, "test-cookie"),
		sign(misdirected, "test-cookie"),
		sign(announceBack, "test-cookie"),
		good,
		good,
	} {
		if _, err := spy.WriteToUDPAddrPort(b, src); err != nil {
			t.Fatal(err)
		}
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if !slices.Equal(res.names, []string{"ok@127.0.0.5"}) {
		t.Errorf("Discover = %v; want only the authentic answer's node, [ok@127.0.0.5]", res.names)
	}
	want := Stats{Sent: 1, Received: 8, Accepted: 1, Malformed: 1, OtherCluster: 1, BadMAC: 1, Stale: 1, Unsolicited: 2, Replayed: 1}
	if got := d.Stats(); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
}

// TestRollingCookieRotation: three registered nodes rotate their cookie
// from O to N in the order a rolling rotation takes (SetCookie(N, O) on
// each in turn, then SetCookie(N) on each), and at every step every node
// still finds the other two by real multicast. A node started during the
// rotation with either set finds them all; one with only O, after the
// rotation, finds none.
func TestRollingCookieRotation(t *testing.T) {
	if !inNetns(t) {
		return
	}
	const o, n = "test-cookie", "new-cookie"
	names := []string{"a@127.0.0.1", "b@127.0.0.2", "c@127.0.0.3"}
	var nodes []*Mcast
	for _, name := range names {
		nodes = append(nodes, register(t, testConfig(name)))
	}
	everyoneFindsEveryone := func(stage string) {
		t.Helper()
		for i, m := range nodes {
			want := slices.Delete(slices.Clone(names), i, i+1)
			if got := discover(t, m); !slices.Equal(got, want) {
				t.Errorf("%s: %s finds %v; want %v", stage, names[i], got, want)
			}
		}
	}
	everyoneFindsEveryone("before")
	for i, m := range nodes {
		if err := m.SetCookie(n, o); err != nil {
			t.Fatal(err)
		}
		everyoneFindsEveryone(fmt.Sprintf("%s holds (N, O)", names[i]))
		if i == 0 {
			// A node started now with only the new cookie finds the one
			// that holds it; one with both finds all three.
			onlyNew := testConfig("x@127.0.0.7")
			onlyNew.Cookie = n
			if got := discover(t, newTest(t, onlyNew)); !slices.Equal(got, names[:1]) {
				t.Errorf("a node with only N, while only %s holds it: finds %v; want %v", names[0], got, names[:1])
			}
			both := testConfig("y@127.0.0.8")
			both.Cookie, both.CookiePrevious = n, []string{o}
			if got := discover(t, newTest(t, both)); !slices.Equal(got, names) {
				t.Errorf("a node with (N, O), while only %s holds N: finds %v; want %v", names[0], got, names)
			}
		}
	}
	for i, m := range nodes {
		if err := m.SetCookie(n); err != nil {
			t.Fatal(err)
		}
		everyoneFindsEveryone(fmt.Sprintf("%s holds only N", names[i]))
	}
	if got := discover(t, newTest(t, testConfig("z@127.0.0.9"))); len(got) != 0 {
		t.Errorf("a node with only O, after the rotation, finds %v; want none", got)
	}
	for i, m := range nodes {
		if s := m.Stats(); s.BadMAC == 0 {
			t.Errorf("%s never dropped a packet for its MAC (stats %+v); want at least the O-only node's announce dropped", names[i], s)
		}
	}
}
