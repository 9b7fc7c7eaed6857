package mcast

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

var goldenSrc = netip.MustParseAddrPort("127.0.0.9:40000")

func TestNewDefaults(t *testing.T) {
	m, err := New(Config{Name: "n1@127.0.0.1", Cookie: "k"})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	if c.Cluster != "ekka" || c.Addr != netip.MustParseAddr("239.192.0.1") || len(c.Ports) != 1 || c.Ports[0] != 4369 ||
		c.Iface != netip.MustParseAddr("0.0.0.0") || c.Window != 3*time.Second || c.MaxSkew != 30*time.Second {
		t.Fatalf("New filled in %+v; want the defaults", c)
	}
	d := DefaultConfig()
	if d.TTL != 255 || !d.Loop || d.Cluster != "ekka" || d.Window != 3*time.Second {
		t.Fatalf("DefaultConfig = %+v", d)
	}
	ports := []int{5000, 5001}
	m, err = New(Config{Name: "n1@127.0.0.1", Cookie: "k", Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	ports[0] = 1
	if got := m.Config().Ports; got[0] != 5000 {
		t.Fatalf("New kept the caller's Ports slice: %v", got)
	}
}

func TestNewValidates(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.Name, c.Cookie = "n1@127.0.0.1", "k"
		return c
	}
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no name", func(c *Config) { c.Name = "" }, `Name "": `},
		{"bad name", func(c *Config) { c.Name = "n1" }, `Name "n1": `},
		{"bad cluster", func(c *Config) { c.Cluster = "a b" }, "Cluster: cluster name \"a b\" has byte 0x20"},
		{"long cluster", func(c *Config) { c.Cluster = strings.Repeat("c", 65) }, "want 1 to 64"},
		{"no cookie", func(c *Config) { c.Cookie = "" }, "Cookie is empty"},
		{"unicast addr", func(c *Config) { c.Addr = netip.MustParseAddr("10.0.0.1") }, "Addr 10.0.0.1: want an IPv4 multicast address"},
		{"ipv6 addr", func(c *Config) { c.Addr = netip.MustParseAddr("ff02::1") }, "Addr ff02::1: want an IPv4 multicast"},
		{"no ports", func(c *Config) { c.Ports = []int{} }, "Ports is empty"},
		{"port 0", func(c *Config) { c.Ports = []int{4369, 0} }, "Ports[1] = 0: want a port from 1 to 65535"},
		{"port too big", func(c *Config) { c.Ports = []int{70000} }, "Ports[0] = 70000"},
		{"port twice", func(c *Config) { c.Ports = []int{4369, 4369} }, "port 4369 is listed twice"},
		{"ipv6 iface", func(c *Config) { c.Iface = netip.MustParseAddr("::1") }, "Iface ::1: want the IPv4 address"},
		{"multicast iface", func(c *Config) { c.Iface = netip.MustParseAddr("239.1.1.1") }, "Iface 239.1.1.1"},
		{"ttl", func(c *Config) { c.TTL = 256 }, "TTL 256: want 0 to 255"},
		{"negative ttl", func(c *Config) { c.TTL = -1 }, "TTL -1"},
		{"window", func(c *Config) { c.Window = -time.Second }, "Window -1s is negative"},
		{"skew", func(c *Config) { c.MaxSkew = -time.Second }, "MaxSkew -1s is negative"},
		{"send buffer", func(c *Config) { c.SendBuffer = -1 }, "SendBuffer -1, RecvBuffer 0: want 0 (the system's default) or a size in bytes"},
		{"receive buffer", func(c *Config) { c.RecvBuffer = -1 }, "RecvBuffer -1"},
		{"empty previous cookie", func(c *Config) { c.CookiePrevious = []string{"old", ""} }, "previous cookie 2 is empty"},
		{"previous cookie repeats the cookie", func(c *Config) { c.CookiePrevious = []string{"k"} }, "previous cookie 1 repeats an earlier cookie"},
		{"previous cookie twice", func(c *Config) { c.CookiePrevious = []string{"a", "a"} }, "previous cookie 2 repeats"},
		{"too many previous cookies", func(c *Config) { c.CookiePrevious = strings.Split("a,b,c,d,e,f,g,h,i", ",") }, "9 previous cookies; want at most 8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			m, err := New(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mcast discovery: ") {
				t.Fatalf("New = %v; want an error containing %q", err, tt.want)
			}
			if m != nil {
				t.Fatal("New returned a strategy with an error")
			}
		})
	}
}

func TestLockIsNotSupported(t *testing.T) {
	m, err := New(Config{Name: "n1@127.0.0.1", Cookie: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(context.Context) error{"lock": m.Lock, "unlock": m.Unlock} {
		if err := f(t.Context()); !errors.Is(err, discovery.ErrNotSupported) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s = %v; want an error naming %q and wrapping discovery.ErrNotSupported", name, err, name)
		}
	}
	if err := m.Unregister(t.Context()); err != nil {
		t.Errorf("Unregister when not registered = %v; want nil", err)
	}
	if p := m.Port(); p != 0 {
		t.Errorf("Port when not registered = %d; want 0", p)
	}
}

func TestCancelledContext(t *testing.T) {
	m, err := New(Config{Name: "n1@127.0.0.1", Cookie: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Discover(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Discover with a cancelled context = %v; want context.Canceled", err)
	}
	if err := m.Register(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Register with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestIfaceWithoutInterface(t *testing.T) {
	c := DefaultConfig()
	c.Name, c.Cookie, c.Iface = "n1@127.0.0.1", "k", netip.MustParseAddr("192.0.2.77")
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "Iface 192.0.2.77: no interface of this host has this address"
	if err := m.Register(t.Context()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Register = %v; want %q", err, want)
	}
	if _, err := m.Discover(t.Context()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Discover = %v; want %q", err, want)
	}
}

// fakeClock is a settable clock for accept.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestAcceptCountsEveryOutcome drives the receive checks directly, in
// PROTOCOL order, and checks each datagram lands in exactly one counter.
func TestAcceptCountsEveryOutcome(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, goldenAnnouncePacket.Time)}
	m, err := New(Config{Name: "n3@127.0.0.3", Cluster: "ekka", Cookie: goldenCookie})
	if err != nil {
		t.Fatal(err)
	}
	m.now = clock.now
	announce := mustHex(t, goldenAnnounce)
	sign := func(p packet, cookie string) []byte {
		b, err := encode(nil, p, cookie)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	with := func(f func(*packet)) packet {
		p := goldenAnnouncePacket
		f(&p)
		return p
	}
	steps := []struct {
		name     string
		b        []byte
		want     packetType
		replyTo  nonce
		accepted bool
		counter  func(Stats) uint64
	}{
		{"golden announce", announce, typeAnnounce, nonce{}, true, func(s Stats) uint64 { return s.Accepted }},
		{"the same again", announce, typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Replayed }},
		{"garbage", []byte("who is there?"), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Malformed }},
		{"oversized", make([]byte, maxPacketLen+1), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Malformed }},
		{"other cluster", sign(with(func(p *packet) { p.Cluster = "other"; p.Nonce = seq(1) }), goldenCookie), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.OtherCluster }},
		{"wrong cookie", sign(with(func(p *packet) { p.Nonce = seq(2) }), "not-the-cookie"), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.BadMAC }},
		{"altered", func() []byte {
			b := sign(with(func(p *packet) { p.Nonce = seq(3) }), goldenCookie)
			b[20] ^= 1
			return b
		}(), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.BadMAC }},
		{"answer on the group socket", mustHex(t, goldenAnswer), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Unsolicited }},
		{"own announce", sign(with(func(p *packet) { p.Node = "n3@127.0.0.3"; p.Nonce = seq(4) }), goldenCookie), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Self }},
		{"an hour old", sign(with(func(p *packet) { p.Time -= int64(time.Hour); p.Nonce = seq(5) }), goldenCookie), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Stale }},
		{"an hour ahead", sign(with(func(p *packet) { p.Time += int64(time.Hour); p.Nonce = seq(6) }), goldenCookie), typeAnnounce, nonce{}, false, func(s Stats) uint64 { return s.Stale }},
		{"29s old", sign(with(func(p *packet) { p.Time -= int64(29 * time.Second); p.Nonce = seq(7) }), goldenCookie), typeAnnounce, nonce{}, true, func(s Stats) uint64 { return s.Accepted }},
		{"answer to another announce", mustHex(t, goldenAnswer), typeAnswer, seq(100), false, func(s Stats) uint64 { return s.Unsolicited }},
		{"answer to this announce", mustHex(t, goldenAnswer), typeAnswer, seq(0), true, func(s Stats) uint64 { return s.Accepted }},
		{"answer replayed", mustHex(t, goldenAnswer), typeAnswer, seq(0), false, func(s Stats) uint64 { return s.Replayed }},
	}
	for _, st := range steps {
		before := m.Stats()
		p, _, ok := m.accept(st.b, goldenSrc, st.want, st.replyTo)
		after := m.Stats()
		if ok != st.accepted {
			t.Errorf("%s: accepted = %v; want %v", st.name, ok, st.accepted)
		}
		if ok && p.Node == "" {
			t.Errorf("%s: accepted a packet without a node name", st.name)
		}
		if got := st.counter(after) - st.counter(before); got != 1 {
			t.Errorf("%s: the expected counter moved by %d; want 1 (stats %+v)", st.name, got, after)
		}
		if moved := (after.Dropped() + after.Accepted + after.Self) - (before.Dropped() + before.Accepted + before.Self); moved != 1 {
			t.Errorf("%s: %d outcome counters moved; want exactly 1", st.name, moved)
		}
	}
	want := Stats{Received: uint64(len(steps)), Accepted: 3, Self: 1, Malformed: 2, OtherCluster: 1, BadMAC: 2, Unsolicited: 2, Stale: 2, Replayed: 2}
	if got := m.Stats(); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
	if got := m.Stats().Dropped(); got != 11 {
		t.Errorf("Dropped = %d; want 11", got)
	}

	// Once its timestamp has left the window, a nonce is forgotten: the
	// copy is then refused as stale, never accepted.
	clock.t = clock.t.Add(2 * time.Minute)
	if _, _, ok := m.accept(announce, goldenSrc, typeAnnounce, nonce{}); ok {
		t.Fatal("accepted the golden announce two minutes later")
	}
	if got := m.Stats().Stale; got != 3 {
		t.Errorf("Stale = %d; want 3", got)
	}
	fresh := sign(with(func(p *packet) { p.Time = clock.t.UnixNano(); p.Nonce = seq(8) }), goldenCookie)
	if _, _, ok := m.accept(fresh, goldenSrc, typeAnnounce, nonce{}); !ok {
		t.Fatal("refused a fresh announce")
	}
	if n := m.guard.len(); n != 1 {
		t.Errorf("the replay guard remembers %d nonces after the old ones expired; want 1", n)
	}
}

func TestReplayGuardFull(t *testing.T) {
	g := newReplayGuard(2)
	now := time.Unix(1000, 0)
	later := now.Add(time.Minute)
	if r := g.check(seq(1), now, later); r != replayFresh {
		t.Fatalf("first nonce: %v", r)
	}
	if r := g.check(seq(2), now, later); r != replayFresh {
		t.Fatalf("second nonce: %v", r)
	}
	if r := g.check(seq(1), now, later); r != replaySeen {
		t.Fatalf("first nonce again: %v; want seen", r)
	}
	if r := g.check(seq(3), now, later); r != replayFull {
		t.Fatalf("third nonce while full: %v; want full", r)
	}
	if r := g.check(seq(3), later, later.Add(time.Minute)); r != replayFresh {
		t.Fatalf("third nonce once the others expired: %v; want fresh", r)
	}
	if n := g.len(); n != 1 {
		t.Fatalf("remembered %d nonces; want 1", n)
	}
}

// TestAcceptDuringARotation: a node that holds a current and a previous
// cookie accepts packets signed with either, tells which one verified a
// packet (its answer is signed with it), and after SetCookie accepts only
// the cookies it then holds.
func TestAcceptDuringARotation(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, goldenAnnouncePacket.Time)}
	m, err := New(Config{Name: "n3@127.0.0.3", Cluster: "ekka", Cookie: "new", CookiePrevious: []string{goldenCookie}})
	if err != nil {
		t.Fatal(err)
	}
	m.now = clock.now
	next := byte(10)
	signed := func(cookie string) []byte {
		p := goldenAnnouncePacket
		p.Nonce = seq(next)
		next++
		b, err := encode(nil, p, cookie)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		cookie string
		ok     bool
	}{{"new", true}, {goldenCookie, true}, {"other", false}} {
		_, got, ok := m.accept(signed(tc.cookie), goldenSrc, typeAnnounce)
		if ok != tc.ok || (ok && got != tc.cookie) {
			t.Errorf("signed with %q: accepted %v, verified by %q; want %v, by %q", tc.cookie, ok, got, tc.ok, tc.cookie)
		}
	}
	if err := m.SetCookie("new"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.accept(signed(goldenCookie), goldenSrc, typeAnnounce); ok {
		t.Error("accepted the cookie dropped by SetCookie")
	}
	if _, _, ok := m.accept(signed("new"), goldenSrc, typeAnnounce); !ok {
		t.Error("refused the current cookie after SetCookie")
	}
	for _, bad := range [][]string{{""}, {"x", "x"}, {"x", "y", ""}} {
		if err := m.SetCookie(bad[0], bad[1:]...); err == nil || !strings.HasPrefix(err.Error(), "mcast discovery: ") {
			t.Errorf("SetCookie(%q) = %v; want an error", bad, err)
		}
	}
	if _, _, ok := m.accept(signed("new"), goldenSrc, typeAnnounce); !ok {
		t.Error("a refused SetCookie changed the cookies")
	}
	if want := (Stats{Received: 6, Accepted: 4, BadMAC: 2}); m.Stats() != want {
		t.Errorf("Stats = %+v; want %+v", m.Stats(), want)
	}
}
