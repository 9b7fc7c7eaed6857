package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/dns/dnstest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func mustNew(t *testing.T, cfg Config) *DNS {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return d
}

func wantNames(t *testing.T, d *DNS, want ...string) {
	t.Helper()
	got, err := d.Discover(testnet.Context(t, 10*time.Second))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Discover = %q, %v; want %q", got, err, want)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"a", Config{Domain: "nodes.example.com", App: "emqx"}, ""},
		{"srv underscore", Config{Domain: "_emqx._tcp.example.com.", App: "emqx", Type: TypeSRV}, ""},
		{"app from name", Config{Name: "emqx12@10.0.0.1", Domain: "n.example.com", Type: TypeAAAA}, ""},
		{"server", Config{Domain: "n.test", App: "a", Server: "[::1]:5353"}, ""},
		{"no domain", Config{App: "a"}, `domain "": empty`},
		{"root domain", Config{Domain: ".", App: "a"}, `domain ".": empty`},
		{"ip domain", Config{Domain: "10.0.0.1", App: "a"}, "an IP address"},
		{"empty label", Config{Domain: "a..b", App: "a"}, "label 2 is 0 characters long"},
		{"bad char", Config{Domain: "a b.com", App: "a"}, `contains ' '`},
		{"long label", Config{Domain: strings.Repeat("x", 64) + ".com", App: "a"}, "want 1 to 63"},
		{"long name", Config{Domain: strings.Repeat("abcdefghi.", 26) + "com", App: "a"}, "want at most 253"},
		{"bad type", Config{Domain: "n.test", App: "a", Type: "mx"}, `type "mx": want one of a, aaaa, srv`},
		{"no app no name", Config{Domain: "n.test"}, "app and this node's name are both empty"},
		{"no app bad name", Config{Domain: "n.test", Name: "nohost"}, "this node's name cannot supply it"},
		{"bad app", Config{Domain: "n.test", App: "a@b"}, `app "a@b"`},
		{"server no port", Config{Domain: "n.test", App: "a", Server: "127.0.0.1"}, "want host:port"},
		{"server bad port", Config{Domain: "n.test", App: "a", Server: "127.0.0.1:dns"}, `port "dns": want a number`},
		{"server port 0", Config{Domain: "n.test", App: "a", Server: "127.0.0.1:0"}, "1..65535"},
		{"server no host", Config{Domain: "n.test", App: "a", Server: ":53"}, "empty host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || d == nil {
					t.Fatalf("New(%+v) = %v, %v; want a strategy", tt.cfg, d, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%+v) error = %v; want one containing %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	d := mustNew(t, Config{Name: "emqx12@10.0.0.1", Domain: "n.example.com"})
	if d.App() != "emqx12" || d.Type() != TypeA || d.Domain() != "n.example.com" {
		t.Fatalf("App, Type, Domain = %q, %q, %q; want emqx12 (this node's short name), a, n.example.com", d.App(), d.Type(), d.Domain())
	}
	d = mustNew(t, Config{Name: "emqx12@10.0.0.1", Domain: "n.example.com", App: "other"})
	if d.App() != "other" {
		t.Fatalf("App = %q; want the configured other", d.App())
	}
}

func TestDiscoverA(t *testing.T) {
	s := dnstest.Start(t)
	s.Set(t, "nodes.test. 0 IN A 127.0.0.3", "nodes.test. 0 IN A 127.0.0.1", "nodes.test. 0 IN A 127.0.0.2",
		"nodes.test. 0 IN AAAA fd00::1")
	d := mustNew(t, Config{Name: "n@127.0.0.1", Domain: "nodes.test", Server: s.Addr})
	wantNames(t, d, "n@127.0.0.1", "n@127.0.0.2", "n@127.0.0.3")
	if s.UDPQueries() == 0 {
		t.Fatal("the test server got no query: the configured server was not asked")
	}
	// The configured app wins over this node's short name; a rooted
	// domain works the same.
	wantNames(t, mustNew(t, Config{Name: "n@127.0.0.1", App: "emqx", Domain: "NODES.test.", Server: s.Addr}),
		"emqx@127.0.0.1", "emqx@127.0.0.2", "emqx@127.0.0.3")
}

func TestDiscoverAAAA(t *testing.T) {
	s := dnstest.Start(t)
	s.Set(t, "v6.test. 0 IN AAAA fd00::1", "v6.test. 0 IN AAAA ::1", "v6.test. 0 IN AAAA 2001:DB8:0:0:0:0:0:10",
		"v6.test. 0 IN A 127.0.0.9")
	d := mustNew(t, Config{App: "emqx", Domain: "v6.test", Type: TypeAAAA, Server: s.Addr})
	want := []string{"emqx@2001:db8::10", "emqx@::1", "emqx@fd00::1"}
	wantNames(t, d, want...)
	// Each name is what portmap writes for the node and dials with brackets.
	for _, name := range want {
		n, err := portmap.Parse(name)
		if err != nil || n.String() != name {
			t.Fatalf("portmap.Parse(%q) = %v, %v; want the same name back", name, n, err)
		}
		if bracketed, _ := portmap.Parse("emqx@[" + n.Host + "]"); bracketed.String() != name {
			t.Fatalf("the bracketed form of %q writes %q; want the discovered name", name, bracketed)
		}
		addr, err := mesh.Addr(name, 4370)
		if err != nil || addr != "["+n.Host+"]:4370" {
			t.Fatalf("mesh.Addr(%q) = %q, %v; want [%s]:4370", name, addr, err, n.Host)
		}
	}
}

func TestDiscoverSRV(t *testing.T) {
	s := dnstest.Start(t)
	s.Set(t,
		"_emqx._tcp.nodes.test. 0 IN SRV 10 5 4370 node2.nodes.test.",
		"_emqx._tcp.nodes.test. 0 IN SRV 0 5 4371 node1.nodes.test.",
		"_emqx._tcp.nodes.test. 0 IN SRV 20 5 9999 node3.nodes.test.",
		"_emqx._tcp.nodes.test. 0 IN SRV 20 5 9999 node3.nodes.test.",
	)
	d := mustNew(t, Config{Name: "emqx@node1.nodes.test", Domain: "_emqx._tcp.nodes.test", Type: TypeSRV, Server: s.Addr})
	// The targets without their trailing dot; the SRV ports do not matter.
	wantNames(t, d, "emqx@node1.nodes.test", "emqx@node2.nodes.test", "emqx@node3.nodes.test")
}

func TestDiscoverSRVSkipsTargetsThatMakeNoNodeName(t *testing.T) {
	s := dnstest.Start(t)
	// A target Go's resolver refuses (a space), one portmap refuses (an
	// underscore is no host name) and a good one.
	s.Set(t,
		`mixed.test. 0 IN SRV 0 0 1 bad\032name.test.`,
		"mixed.test. 0 IN SRV 0 0 1 under_score.test.",
		"mixed.test. 0 IN SRV 0 0 1 good.test.",
		"nonode.test. 0 IN SRV 0 0 0 .",
		"bad.test. 0 IN SRV 0 0 1 under_score.test.",
	)
	wantNames(t, mustNew(t, Config{App: "a", Domain: "mixed.test", Type: TypeSRV, Server: s.Addr}), "a@good.test")

	// "." means the service is not available there: no nodes.
	_, err := mustNew(t, Config{App: "a", Domain: "nonode.test", Type: TypeSRV, Server: s.Addr}).Discover(testnet.Context(t, 10*time.Second))
	if !errors.Is(err, ErrNoNodes) || !strings.Contains(err.Error(), `skipped ""`) {
		t.Fatalf(`Discover with only the target "." = %v; want ErrNoNodes saying it skipped ""`, err)
	}
	_, err = mustNew(t, Config{App: "a", Domain: "bad.test", Type: TypeSRV, Server: s.Addr}).Discover(testnet.Context(t, 10*time.Second))
	if !errors.Is(err, ErrNoNodes) || !strings.Contains(err.Error(), `skipped "under_score.test"`) {
		t.Fatalf("Discover with only an invalid target = %v; want ErrNoNodes naming it", err)
	}
}

func TestDiscoverNameThatResolvesLater(t *testing.T) {
	s := dnstest.Start(t)
	s.Set(t, "other.test. 0 IN A 127.0.0.1", "v6only.test. 0 IN AAAA ::1")
	for _, typ := range []Type{TypeA, TypeAAAA, TypeSRV} {
		d := mustNew(t, Config{App: "n", Domain: "late.test", Type: typ, Server: s.Addr})
		got, err := d.Discover(testnet.Context(t, 10*time.Second))
		if !errors.Is(err, ErrNoNodes) || got != nil {
			t.Fatalf("%s: Discover of a name that does not exist = %q, %v; want no names and ErrNoNodes", typ, got, err)
		}
		want := "dns discovery: " + strings.ToUpper(string(typ)) + " records of late.test from server " + s.Addr + ": none"
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("%s: error %q; want it to start with %q", typ, err, want)
		}
	}
	// A name with records of another type only: no nodes either.
	_, err := mustNew(t, Config{App: "n", Domain: "v6only.test", Server: s.Addr}).Discover(testnet.Context(t, 10*time.Second))
	if !errors.Is(err, ErrNoNodes) {
		t.Fatalf("Discover of A records of a name with only AAAA = %v; want ErrNoNodes", err)
	}

	d := mustNew(t, Config{App: "n", Domain: "late.test", Server: s.Addr})
	s.Set(t, "late.test. 0 IN A 127.0.0.5")
	wantNames(t, d, "n@127.0.0.5")
	s.Set(t, "late.test. 0 IN A 127.0.0.5", "late.test. 0 IN A 127.0.0.6")
	wantNames(t, d, "n@127.0.0.5", "n@127.0.0.6")
	s.Remove("late.test.")
	if _, err := d.Discover(testnet.Context(t, 10*time.Second)); !errors.Is(err, ErrNoNodes) {
		t.Fatalf("Discover after the records went away = %v; want ErrNoNodes", err)
	}
}

func TestDiscoverOverTCPWhenUDPIsTruncated(t *testing.T) {
	s := dnstest.Start(t)
	var rrs []string
	for i := 1; i <= 100; i++ {
		rrs = append(rrs, "many.test. 0 IN A 127.0.1."+strconv.Itoa(i))
	}
	s.Set(t, rrs...)
	s.SetTruncate(true)
	got, err := mustNew(t, Config{App: "n", Domain: "many.test", Server: s.Addr}).Discover(testnet.Context(t, 10*time.Second))
	if err != nil || len(got) != 100 {
		t.Fatalf("Discover = %d names, %v; want 100", len(got), err)
	}
	if s.TCPQueries() == 0 {
		t.Fatal("no query came over TCP after a truncated UDP answer")
	}
}

func TestDiscoverHonoursContext(t *testing.T) {
	d := mustNew(t, Config{App: "n", Domain: "nodes.test", Server: "127.0.0.1:53"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Discover(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Discover with a cancelled context = %v; want context.Canceled", err)
	}

	// A server that reads queries and never answers: Discover returns when
	// ctx ends.
	silent := silentServer(t)
	for _, typ := range []Type{TypeA, TypeSRV} {
		d := mustNew(t, Config{App: "n", Domain: "nodes.test", Type: typ, Server: silent})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		_, err := d.Discover(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "from server "+silent) {
			t.Fatalf("%s: Discover from a silent server = %v; want context.DeadlineExceeded naming the server", typ, err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("%s: Discover took %v after a 300ms deadline", typ, el)
		}
	}
}

// silentServer reads UDP queries and never answers; it stops with the test.
func silentServer(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

func TestDiscoverFromAServerThatIsDown(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	_, err = mustNew(t, Config{App: "n", Domain: "nodes.test", Server: addr}).Discover(testnet.Context(t, 30*time.Second))
	if err == nil || errors.Is(err, ErrNoNodes) || !strings.Contains(err.Error(), "looking up A records of nodes.test from server "+addr) {
		t.Fatalf("Discover from a server that is down = %v; want a lookup error naming the server", err)
	}
}

// TestDiscoverSurvivesMalformedResponses answers every query with bytes a
// broken or hostile server might send. Discover must fail cleanly (Go's
// resolver drops what it cannot parse and waits for a good answer until
// ctx ends) and never panic.
func TestDiscoverSurvivesMalformedResponses(t *testing.T) {
	header := func(q []byte, flags uint16, qd, an uint16) []byte {
		b := make([]byte, 12)
		copy(b, q[:2])
		binary.BigEndian.PutUint16(b[2:], flags)
		binary.BigEndian.PutUint16(b[4:], qd)
		binary.BigEndian.PutUint16(b[6:], an)
		return b
	}
	question := func(q []byte) []byte { return q[12:] } // the query's question (and EDNS, harmless)
	answers := map[string]func(q []byte) []byte{
		"empty":             func([]byte) []byte { return nil },
		"short header":      func(q []byte) []byte { return q[:5] },
		"garbage":           func([]byte) []byte { return []byte("\xff\xfe this is not DNS at all \x00\x01\x02") },
		"wrong id":          func(q []byte) []byte { r := header(q, 0x8180, 1, 0); r[0] ^= 0xff; return append(r, question(q)...) },
		"answer count lies": func(q []byte) []byte { return append(header(q, 0x8180, 1, 50), question(q)...) },
		"question missing":  func(q []byte) []byte { return header(q, 0x8180, 0, 1) },
		"label loop": func(q []byte) []byte {
			// One answer whose name is a compression pointer to itself.
			r := append(header(q, 0x8180, 1, 1), question(q)...)
			at := len(r)
			r = append(r, 0xc0|byte(at>>8), byte(at))
			return append(r, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1)
		},
		"short rdata": func(q []byte) []byte {
			r := append(header(q, 0x8180, 1, 1), question(q)...)
			return append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0)
		},
		"A rdata too long": func(q []byte) []byte {
			r := append(header(q, 0x8180, 1, 1), question(q)...)
			return append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 127, 0, 0, 1, 9, 9, 9, 9, 9)
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := rawServer(t, answer)
			for _, typ := range []Type{TypeA, TypeAAAA, TypeSRV} {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				got, err := mustNew(t, Config{App: "n", Domain: "nodes.test", Type: typ, Server: addr}).Discover(ctx)
				cancel()
				if err == nil {
					t.Fatalf("%s: Discover = %q with no error; want an error", typ, got)
				}
			}
		})
	}
}

// rawServer answers each UDP query with answer(query), raw bytes.
func rawServer(t *testing.T, answer func(q []byte) []byte) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			pc.WriteTo(answer(buf[:n:n]), from)
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

func TestDiscoverSystemResolver(t *testing.T) {
	// localhost is in /etc/hosts on any sane system; no network is used.
	addrs, err := net.DefaultResolver.LookupNetIP(testnet.Context(t, 5*time.Second), "ip4", "localhost")
	if err != nil || !slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap() == netip.MustParseAddr("127.0.0.1") }) {
		t.Skipf("the system resolver does not resolve localhost to 127.0.0.1 here (%v, %v)", addrs, err)
	}
	d := mustNew(t, Config{Name: "n@127.0.0.1", Domain: "localhost"})
	got, err := d.Discover(testnet.Context(t, 5*time.Second))
	if err != nil || !slices.Contains(got, "n@127.0.0.1") {
		t.Fatalf("Discover of localhost with the system resolver = %q, %v; want n@127.0.0.1 among them", got, err)
	}
}

func TestLockAndRegisterAreNotSupported(t *testing.T) {
	d := mustNew(t, Config{App: "a", Domain: "n.test"})
	ctx := context.Background()
	for name, f := range map[string]func(context.Context) error{
		"lock": d.Lock, "unlock": d.Unlock, "register": d.Register, "unregister": d.Unregister,
	} {
		err := f(ctx)
		if !errors.Is(err, discovery.ErrNotSupported) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s = %v; want an error naming %q and wrapping discovery.ErrNotSupported", name, err, name)
		}
	}
}

func TestAddrResolvesThroughTheConfiguredServer(t *testing.T) {
	s := dnstest.Start(t)
	s.Set(t, "a.srv.test. 0 IN A 127.0.0.7", "b.srv.test. 0 IN AAAA fd00::2", "c.srv.test. 0 IN A 127.0.0.8", "c.srv.test. 0 IN AAAA fd00::3")
	d, err := New(Config{Name: "emqx@x.srv.test", Domain: "_emqx._tcp.srv.test", Type: TypeSRV, Server: s.Addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for node, want := range map[string]string{
		"emqx@a.srv.test":   "127.0.0.7:4370",
		"emqx12@a.srv.test": "127.0.0.7:4382",
		"emqx@b.srv.test":   "[fd00::2]:4370",
		"emqx@c.srv.test":   "127.0.0.8:4370", // IPv4 first
		"emqx@127.0.0.9":    "127.0.0.9:4370", // an IP needs no lookup
	} {
		got, err := d.Addr(ctx, node, 0)
		if err != nil || got != want {
			t.Errorf("Addr(%s) = %q, %v; want %q", node, got, err, want)
		}
	}
	if _, err := d.Addr(ctx, "emqx@nowhere.srv.test", 0); err == nil || !strings.Contains(err.Error(), "nowhere.srv.test") {
		t.Errorf("Addr of an unknown host: %v; want an error naming the host", err)
	}
	if _, err := d.Addr(ctx, "bad name", 0); err == nil {
		t.Error("Addr of a malformed name: want an error")
	}
}
