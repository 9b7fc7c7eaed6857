package dns

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// fuzzAnswer is the part of a DNS response the fuzzer controls: everything
// but the id and the question, which the fake server copies from the query
// so that the resolver does not discard the answer as someone else's.
type fuzzAnswer struct {
	flags              uint16
	an, ns, ar         uint16
	records            []byte
	truncatedOverUDP   bool // the UDP answer sets TC, so the resolver asks again over TCP
	udpQueries, tcpAsk int
}

// respond builds the response to query.
func (a *fuzzAnswer) respond(query []byte, udp bool) []byte {
	if len(query) < 12 {
		return nil
	}
	i := 12
	for i < len(query) && query[i] != 0 {
		i += 1 + int(query[i])
	}
	i += 1 + 4 // the root label, type and class
	if i > len(query) {
		return nil
	}
	flags := a.flags | 0x8000 // QR: a response
	if udp && a.truncatedOverUDP {
		flags |= 0x0200
	}
	r := append([]byte{}, query[0:2]...)
	r = binary.BigEndian.AppendUint16(r, flags)
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint16(r, a.an)
	r = binary.BigEndian.AppendUint16(r, a.ns)
	r = binary.BigEndian.AppendUint16(r, a.ar)
	r = append(r, query[12:i]...)
	return append(r, a.records...)
}

// fakeDNSConn is one resolver connection to a server that answers every
// query with the fuzzed answer: a datagram conn over "udp", a stream with
// two-byte length prefixes over "tcp".
type fakeDNSConn struct {
	a     *fuzzAnswer
	udp   bool
	mu    sync.Mutex
	reply []byte
	done  bool
}

func (c *fakeDNSConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := b
	if !c.udp {
		if len(b) < 2 {
			return 0, errors.New("short TCP query")
		}
		q = b[2:]
	}
	r := c.a.respond(q, c.udp)
	if !c.udp {
		r = append(binary.BigEndian.AppendUint16(nil, uint16(len(r))), r...)
	}
	c.reply = append(c.reply, r...)
	return len(b), nil
}

func (c *fakeDNSConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reply) == 0 || c.done {
		return 0, io.EOF
	}
	n := copy(b, c.reply)
	c.reply = c.reply[n:]
	if c.udp {
		c.reply, c.done = nil, true // one datagram per query
	}
	return n, nil
}

func (c *fakeDNSConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := c.Read(b)
	return n, c.RemoteAddr(), err
}
func (c *fakeDNSConn) WriteTo(b []byte, _ net.Addr) (int, error) { return c.Write(b) }
func (c *fakeDNSConn) Close() error                              { return nil }
func (c *fakeDNSConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
}
func (c *fakeDNSConn) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (c *fakeDNSConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeDNSConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeDNSConn) SetWriteDeadline(time.Time) error { return nil }

// packetFakeDNSConn is the UDP variant: Go's resolver frames messages
// itself only for connections that are net.PacketConns.
type packetFakeDNSConn struct{ *fakeDNSConn }

var _ net.PacketConn = packetFakeDNSConn{}

// fuzzDomains are the names the fuzz target looks up, by type.
var fuzzDomains = map[Type]string{TypeA: "emqx.example.com.", TypeAAAA: "emqx.example.com.", TypeSRV: "_emqx._tcp.example.com."}

// answerSeed packs rrs as the answer to a query for the type's domain and
// returns the header fields and records the fuzzer controls.
func answerSeed(tb testing.TB, typ Type, rcode int, rrs ...string) (flags, an uint16, records []byte) {
	tb.Helper()
	m := new(mdns.Msg)
	qt := map[Type]uint16{TypeA: mdns.TypeA, TypeAAAA: mdns.TypeAAAA, TypeSRV: mdns.TypeSRV}[typ]
	m.SetQuestion(fuzzDomains[typ], qt)
	m.Response, m.Authoritative, m.RecursionAvailable, m.Rcode = true, true, true, rcode
	m.Compress = true
	for _, s := range rrs {
		rr, err := mdns.NewRR(s)
		if err != nil {
			tb.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	q := 12 + len(fuzzDomains[typ]) + 1 + 4
	return binary.BigEndian.Uint16(b[2:4]), binary.BigEndian.Uint16(b[6:8]), b[q:]
}

// FuzzDiscoverAnswer gives the resolver any answer a server could send to
// each type's query (the fuzzer writes the flags, section counts and
// records; UDP answers may be truncated so that the resolver retries over
// TCP) and checks what Discover makes of it: an error that names the
// domain, or node names that are sorted, unique, valid, carry the app's
// short name and a host of the record type asked for, and come from
// records of the answer as an independent decoder (miekg/dns) reads it.
func FuzzDiscoverAnswer(f *testing.F) {
	for _, s := range []struct {
		typ   Type
		rcode int
		rrs   []string
	}{
		{TypeA, 0, []string{"emqx.example.com. 60 IN A 10.0.0.1", "emqx.example.com. 60 IN A 10.0.0.2"}},
		{TypeA, 0, []string{"emqx.example.com. 60 IN CNAME web.example.com.", "web.example.com. 60 IN A 10.0.0.3"}},
		{TypeAAAA, 0, []string{"emqx.example.com. 60 IN AAAA fd00::1", "emqx.example.com. 60 IN AAAA ::ffff:10.0.0.1"}},
		{TypeSRV, 0, []string{"_emqx._tcp.example.com. 60 IN SRV 0 0 4370 n1.example.com.", "_emqx._tcp.example.com. 60 IN SRV 0 0 4370 ."}},
		{TypeSRV, 0, []string{"_emqx._tcp.example.com. 60 IN SRV 0 0 4370 bad_name!.example.com."}},
		{TypeA, mdns.RcodeNameError, nil},
		{TypeA, mdns.RcodeServerFailure, nil},
	} {
		flags, an, records := answerSeed(f, s.typ, s.rcode, s.rrs...)
		for _, tc := range []bool{false, true} {
			f.Add(uint8(slices.Index([]Type{TypeA, TypeAAAA, TypeSRV}, s.typ)), flags, an, uint16(0), uint16(0), records, tc)
		}
	}
	f.Fuzz(func(t *testing.T, typIdx uint8, flags, an, ns, ar uint16, records []byte, tc bool) {
		typ := []Type{TypeA, TypeAAAA, TypeSRV}[typIdx%3]
		domain := fuzzDomains[typ]
		d, err := New(Config{Domain: domain, App: "emqx", Type: typ, Server: "127.0.0.1:53"})
		if err != nil {
			t.Fatal(err)
		}
		a := &fuzzAnswer{flags: flags, an: an, ns: ns, ar: ar, records: records, truncatedOverUDP: tc}
		d.resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				c := &fakeDNSConn{a: a, udp: strings.HasPrefix(network, "udp")}
				if c.udp {
					return packetFakeDNSConn{c}, nil
				}
				return c, nil
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names, err := d.Discover(ctx)
		if err != nil {
			if names != nil || !strings.HasPrefix(err.Error(), "dns discovery: ") || !strings.Contains(err.Error(), domain) {
				t.Fatalf("Discover: %q with names %v; want an error naming the domain %s and no names", err, names, domain)
			}
			if ctx.Err() != nil {
				t.Fatalf("Discover took the whole 10s context against a server that answers at once: %v", err)
			}
			return
		}
		if len(names) == 0 || !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("names %q: want some, sorted, without duplicates", names)
		}
		// Go's resolver reads an A or AAAA record's address without
		// checking its RDLENGTH, and takes records of any owner name and
		// class (net/dnsclient_unix.go), so a name need not come from a
		// record an independent decoder sees; but it must come from the
		// answer's bytes: the address, or every label of the SRV target.
		raw := a.respond(dnsQuery(domain), false)
		full := asciiLower(raw)
		for _, n := range names {
			nm, err := portmap.Parse(n)
			if err != nil || nm.String() != n || nm.Short != "emqx" {
				t.Fatalf("name %q: want a valid, canonical emqx@host (%v)", n, err)
			}
			ip, ipErr := netip.ParseAddr(nm.Host)
			switch {
			case typ == TypeA && (ipErr != nil || !ip.Is4()):
				t.Fatalf("A lookup gave %q, whose host is not an IPv4 address", n)
			case typ == TypeAAAA && (ipErr != nil || !ip.Is6()):
				t.Fatalf("AAAA lookup gave %q, whose host is not an IPv6 address", n)
			case typ != TypeSRV && !bytes.Contains(raw[12:], ip.AsSlice()):
				t.Fatalf("name %q: the address is nowhere in the answer %x", n, raw)
			case typ == TypeSRV:
				for l := range strings.SplitSeq(strings.ToLower(nm.Host), ".") {
					if len(l) > 63 || !bytes.Contains(full, append([]byte{byte(len(l))}, l...)) {
						t.Fatalf("name %q: the label %q is nowhere in the answer %x", n, l, full)
					}
				}
			}
		}
	})
}

// dnsQuery is a query for name as far as fuzzAnswer.respond reads it: a
// header and the question.
func dnsQuery(name string) []byte {
	q := make([]byte, 12)
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(append(q, byte(len(l))), l...)
	}
	return append(q, 0, 0, 1, 0, 1)
}

// asciiLower lowers A-Z in b, leaving every other byte as it is: DNS
// compares names without case, and only in ASCII.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
