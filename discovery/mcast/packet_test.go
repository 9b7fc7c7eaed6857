package mcast

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Golden packets of PROTOCOL version 1, computed independently of this
// package (Python's hmac module), with cookie "secret".
const (
	goldenCookie   = "secret"
	goldenAnnounce = "454b4d430101000017979cfe3d85cd15000102030405060708090a0b0c0d0e0f00000000000000000000000000000000" +
		"04656b6b610c6e31403132372e302e302e31" +
		"af67148a631f272cb9c4d98e7ff228a7c1dd09c1267d7b77c40a74dbf6c3d529"
	goldenAnswer = "454b4d430102000017979cfe437bae15101112131415161718191a1b1c1d1e1f000102030405060708090a0b0c0d0e0f" +
		"04656b6b610c6e32403132372e302e302e32" +
		"f559312db224eb2a68cbc7ea58b3a3a9bea3d9188b14d4d727f3139743c566b8"
)

func seq(from byte) (n nonce) {
	for i := range n {
		n[i] = from + byte(i)
	}
	return n
}

var (
	goldenAnnouncePacket = packet{Type: typeAnnounce, Time: 1700000000123456789, Nonce: seq(0), Cluster: "ekka", Node: "n1@127.0.0.1"}
	goldenAnswerPacket   = packet{Type: typeAnswer, Time: 1700000000223456789, Nonce: seq(16), ReplyTo: seq(0), Cluster: "ekka", Node: "n2@127.0.0.2"}
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenPackets(t *testing.T) {
	for _, tt := range []struct {
		name   string
		p      packet
		golden string
	}{
		{"announce", goldenAnnouncePacket, goldenAnnounce},
		{"answer", goldenAnswerPacket, goldenAnswer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.golden)
			got, err := encode(nil, tt.p, goldenCookie)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encode = %x\nwant     %x", got, want)
			}
			p, mac, err := parse(want)
			if err != nil {
				t.Fatalf("parse(golden) = %v", err)
			}
			if p != tt.p {
				t.Fatalf("parse(golden) = %+v; want %+v", p, tt.p)
			}
			if !verifyMAC(want[:len(want)-macLen], mac, goldenCookie) {
				t.Fatal("the golden MAC does not verify")
			}
			if verifyMAC(want[:len(want)-macLen], mac, "Secret") {
				t.Fatal("the golden MAC verifies with another cookie")
			}
		})
	}
}

func TestEncodeAppends(t *testing.T) {
	prefix := []byte("xyz")
	got, err := encode(prefix, goldenAnnouncePacket, goldenCookie)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("xyz"), mustHex(t, goldenAnnounce)...); !bytes.Equal(got, want) {
		t.Fatalf("encode with a prefix = %x; want %x", got, want)
	}
}

func TestEncodeRejectsBadLengths(t *testing.T) {
	for _, p := range []packet{
		{Type: typeAnnounce, Cluster: "", Node: "a@b"},
		{Type: typeAnnounce, Cluster: strings.Repeat("c", 65), Node: "a@b"},
		{Type: typeAnnounce, Cluster: "c", Node: "ab"},
		{Type: typeAnnounce, Cluster: "c", Node: "a@" + strings.Repeat("h", 254)},
	} {
		if _, err := encode(nil, p, "k"); err == nil {
			t.Errorf("encode(cluster %d bytes, node %d bytes) succeeded; want an error", len(p.Cluster), len(p.Node))
		}
	}
}

func TestPacketSizeLimits(t *testing.T) {
	longest := packet{Type: typeAnnounce, Time: 1, Cluster: strings.Repeat("c", 64), Node: strings.Repeat("s", 127) + "@" + strings.Repeat("h", 63) + "." + strings.Repeat("h", 63)}
	b, err := encode(nil, longest, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != maxPacketLen {
		t.Fatalf("the longest packet is %d bytes; want maxPacketLen %d", len(b), maxPacketLen)
	}
	if _, _, err := parse(b); err != nil {
		t.Fatalf("parse(longest) = %v", err)
	}
	shortest, err := encode(nil, packet{Type: typeAnnounce, Time: 1, Cluster: "c", Node: "a@b"}, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(shortest) != minPacketLen {
		t.Fatalf("the shortest packet is %d bytes; want minPacketLen %d", len(shortest), minPacketLen)
	}
	if _, _, err := parse(shortest); err != nil {
		t.Fatalf("parse(shortest) = %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	good := mustHex(t, goldenAnnounce)
	answer := mustHex(t, goldenAnswer)
	edit := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	// relen rebuilds the golden announce with other name bytes (MAC not
	// recomputed: parse does not check it).
	build := func(cluster, node []byte, extra int) []byte {
		b := bytes.Clone(good[:headerLen])
		b = append(b, cluster...)
		b = append(b, node...)
		b = append(b, make([]byte, extra)...)
		return append(b, make([]byte, macLen)...)
	}
	lp := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes; want at least 86"},
		{"short", good[:85], "85 bytes; want at least 86"},
		{"long", make([]byte, 402), "402 bytes; want at most 401"},
		{"magic", edit(good, func(b []byte) []byte { b[0] = 'X'; return b }), `magic "XKMC"; want "EKMC"`},
		{"version", edit(good, func(b []byte) []byte { b[4] = 2; return b }), "version 2; want 1"},
		{"type 0", edit(good, func(b []byte) []byte { b[5] = 0; return b }), "type 0; want 1 (announce) or 2 (answer)"},
		{"type 3", edit(good, func(b []byte) []byte { b[5] = 3; return b }), "type 3"},
		{"reserved", edit(good, func(b []byte) []byte { b[7] = 1; return b }), "reserved bytes 0x00 0x01; want zero"},
		{"announce with reply-to", edit(good, func(b []byte) []byte { b[40] = 1; return b }), "announce with a reply-to nonce"},
		{"answer without reply-to", edit(answer, func(b []byte) []byte { clear(b[32:48]); return b }), "answer with a zero reply-to"},
		{"cluster length 0", build(lp(""), lp("ab@c"), 0), "cluster name length 0; want 1 to 64"},
		{"cluster length 65", build(lp(strings.Repeat("c", 65)), lp("a@b"), 0), "cluster name length 65"},
		{"cluster past the MAC", build([]byte{60, 'c'}, lp("a@b"), 0), "cluster name of 60 bytes, but only"},
		{"cluster chars", build(lp("my cluster"), lp("a@b"), 0), `cluster name "my cluster" has byte 0x20`},
		{"node length 2", build(lp("cc"), lp("ab"), 0), "node name length 2; want 3 to 255"},
		{"node past the MAC", build(lp("c"), []byte{200, 'a', '@', 'b'}, 0), "node name of 200 bytes"},
		{"no node length", build(lp(strings.Repeat("c", 40)), nil, 0), "no room for the node name length"},
		{"trailing bytes", build(lp("c"), lp("a@b"), 3), "3 bytes between the node name and the MAC"},
		{"node without @", build(lp("c"), lp("abc"), 0), "no '@'"},
		{"node bad char", build(lp("c"), lp("a b@h"), 0), "not allowed"},
		{"node not canonical", build(lp("c"), lp("a@[::1]"), 0), `not in canonical form; want "a@::1"`},
		{"node control char", build(lp("c"), lp("a@h\n"), 0), "hostname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(tt.b)
			if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parse = %v; want errMalformed containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParse feeds arbitrary datagrams to the decoder and to the whole
// receive path: nothing may panic, a packet that parses must re-encode to
// the same bytes, and only a packet signed with the cookie may be accepted.
func FuzzParse(f *testing.F) {
	f.Add(mustHex(f, goldenAnnounce))
	f.Add(mustHex(f, goldenAnswer))
	f.Add([]byte("EKMC"))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 401))
	m, err := New(Config{Name: "self@127.0.0.1", Cluster: "ekka", Cookie: goldenCookie})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, mac, err := parse(b)
		if err == nil {
			if len(mac) != macLen {
				t.Fatalf("parse returned a %d-byte MAC", len(mac))
			}
			again, err := encode(nil, p, "k")
			if err != nil {
				t.Fatalf("a parsed packet does not encode: %v (%+v)", err, p)
			}
			if !bytes.Equal(again[:len(again)-macLen], b[:len(b)-macLen]) {
				t.Fatalf("re-encoded %x; want %x", again[:len(again)-macLen], b[:len(b)-macLen])
			}
		}
		before := m.Stats()
		_, _, ok := m.accept(b, goldenSrc, typeAnnounce, nonce{})
		_, _, ok2 := m.accept(b, goldenSrc, typeAnswer, seq(0))
		if (ok || ok2) && (err != nil || !verifyMAC(b[:len(b)-macLen], mac, goldenCookie)) {
			t.Fatalf("accepted a packet that is malformed or not signed with the cookie: %x", b)
		}
		after := m.Stats()
		if after.Received-before.Received != 2 {
			t.Fatalf("Received went from %d to %d for two datagrams", before.Received, after.Received)
		}
		if got := (after.Dropped() + after.Accepted + after.Self) - (before.Dropped() + before.Accepted + before.Self); got != 2 {
			t.Fatalf("two datagrams were counted %d times in the outcome counters", got)
		}
	})
}
