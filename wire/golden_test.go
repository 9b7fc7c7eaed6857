package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
)

// The files under testdata/ are written by testdata/golden.py, an encoder
// that shares no code with this package, from PROTOCOL.md.

// readHex reads testdata/<name>.hex: hex digits and white space, with
// everything from a '#' to the end of a line ignored.
func readHex(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	noErr(tb, err, "reading golden vector")
	var digits strings.Builder
	for line := range strings.SplitSeq(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	noErr(tb, err, "testdata/"+name+".hex")
	return b
}

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func guid(start byte) (g [GUIDSize]byte) { copy(g[:], seq(start, GUIDSize)); return }

func nonce(start byte) (n [NonceSize]byte) { copy(n[:], seq(start, NonceSize)); return }

func proof(start byte) (p [ProofSize]byte) { copy(p[:], seq(start, ProofSize)); return }

type goldenCase struct {
	name string
	id   uint64
	msg  Message
}

// goldenCases are the Go values of the single-frame golden vectors.
func goldenCases() []goldenCase {
	b := func(s string) []byte { return []byte(s) }
	lockID := func() (l, r, o []byte) { return b("ekka_locker"), b("res/1"), b("owner-1") }
	l, r, o := lockID()
	return []goldenCase{
		{"hello", 0, &Hello{MinVersion: 2, MaxVersion: 2, Caps: CapCompressS2, MaxPayload: DefaultMaxPayload,
			Lane: LaneData, LinkID: 0x0102030405060708, GUID: guid(0x00), Nonce: nonce(0x20),
			Name: b("a1@127.0.0.1"), Target: b("b2@127.0.0.1"), Cluster: b("prod")}},
		{"challenge", 0, &Challenge{Version: 2, Caps: CapCompressS2, MaxPayload: DefaultMaxPayload,
			GUID: guid(0x10), Nonce: nonce(0x40), Name: b("b2@127.0.0.1"), Cluster: b("prod")}},
		{"auth", 0, &Proof{T: TypeAuth, MAC: proof(0x60)}},
		{"welcome", 0, &Proof{T: TypeWelcome, MAC: proof(0x80)}},
		{"reject", 0, &Reject{T: TypeReject, Code: CodeWrongNode,
			Reason: b("dialed b2@127.0.0.1 but this is c3@127.0.0.1: all nodes of a cluster must use the same base port")}},
		{"goodbye", 0, &Reject{T: TypeGoodbye, Code: CodeShutdown, Reason: b("node stopping")}},
		{"call", 7, &Call{TimeoutMillis: 5000, Method: b("echo"), Payload: b("hello")}},
		{"reply", 7, &Reply{Payload: b("hello")}},
		{"error_reply", 8, &ErrorReply{Code: CodeNoHandler, Message: b(`no handler for method "nope"`)}},
		{"cast", 0, &Cast{Method: b("log"), Payload: b("x=1")}},
		{"ping", 42, &Ping{SentNanos: 1234567890123}},
		{"pong", 42, &Pong{SentNanos: 1234567890123}},
		{"member_table", 0, &MemberTable{Members: []MemberEntry{
			{Name: b("a1@h"), GUID: guid(0x00), Status: StatusUp, SinceMillis: 1700000000000, Incarnation: 3},
			{Name: b("b2@h"), GUID: guid(0x10), Status: StatusDown, SinceMillis: 1700000001000, Incarnation: 7},
		}}},
		{"join", 0, &Join{Node: b("c3@h"), GUID: guid(0x10)}},
		{"leave", 0, &Leave{Node: b("c3@h"), GUID: guid(0x10)}},
		{"force_leave", 0, &ForceLeave{Node: b("b2@h"), By: b("a1@h")}},
		{"member_status", 0, &MemberStatus{Node: b("b2@h"), GUID: guid(0x10), Status: StatusHealing}},
		{"member_services", 0, &MemberServices{Node: b("b2@h"), GUID: guid(0x10), Services: [][]byte{b("autoheal")}}},
		{"member_version", 0, &MemberVersion{Node: b("b2@h"), GUID: guid(0x10), Version: b("v1.2.3")}},
		{"member_tags", 0, &MemberTags{Node: b("b2@h"), GUID: guid(0x10), Tags: []Tag{{b("role"), b("db")}, {b("zone"), b("eu-1")}}}},
		{"member_suspended", 0, &MemberSuspended{Node: b("b2@h"), GUID: guid(0x10), Reason: b("keep-majority: this side has 1 of 3 members")}},
		{"partition_report", 21, &PartitionReport{Service: b("autoheal"), Reporter: b("c3@h"), Fresh: true, Partitions: [][]byte{b("b2@h")}}},
		{"partition_ack", 21, &PartitionAck{Node: b("a1@h")}},
		{"view_request", 22, &ViewRequest{Service: b("autoheal"), Round: b("a1@h#9")}},
		{"view_reply", 22, &ViewReply{Node: b("c3@h"), GUID: guid(0x10), Healing: true, Running: [][]byte{b("c3@h")},
			Stopped: [][]byte{b("a1@h"), b("b2@h")}, Partitions: [][]byte{b("b2@h")}, Heal: HealFailed, HealError: b("prepare hook: state store busy")}},
		{"heal_order", 23, &HealOrder{Service: b("autoheal"), Round: b("a1@h#9"), Leader: b("a1@h"), Coordinator: b("b2@h"),
			Victims: [][]byte{b("c3@h")}, Reason: b("c3@h is on a minority side")}},
		{"heal_reply", 23, &HealReply{Reason: b("c3@h already heals (round a1@h#8)")}},
		{"reachability", 0, &Reachability{Service: b("splitbrain"), Strategy: b("keep-majority"), Entries: []ReachEntry{
			{Node: b("b2@h"), Version: 1700000000000000001, Serving: true, Reach: [][]byte{b("a1@h"), b("c3@h")}},
			{Node: b("c3@h"), Version: 1700000000000000007, Reach: [][]byte{b("b2@h")}},
		}}},
		{"lock_acquire", 100, &LockAcquire{Locker: l, Resource: r, Owner: o, Kind: LockQuorum, LeaseMillis: 30000}},
		{"lock_release", 101, &LockRelease{Locker: l, Resource: r, Owner: o}},
		{"lock_grant", 100, &LockGrant{Resource: r, Token: 17, LeaseMillis: 30000, Reentry: true}},
		{"lock_refuse", 100, &LockRefuse{Resource: r, Reason: LockHeld, Holder: b("owner-2"), LeaseMillis: 12500}},
		{"lock_renew", 102, &LockRenew{Locker: l, Resource: r, Owner: o, LeaseMillis: 30000}},
		{"lock_fence", 103, &LockFence{Locker: l, Resource: r, Owner: o, Token: 1700000000000123}},
		{"lock_released", 101, &LockReleased{Resource: r}},
	}
}

func TestGoldenCoversEveryType(t *testing.T) {
	seen := map[Type]bool{}
	for _, c := range goldenCases() {
		seen[c.msg.Type()] = true
	}
	for i := range 256 {
		if Type(i).Known() {
			if !seen[Type(i)] {
				t.Errorf("no golden vector for %s", Type(i))
			}
		}
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			got := AppendMessage(nil, 0, c.id, c.msg)
			sameBytes(t, readHex(t, c.name), got, "encoded frame")
		})
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(readHex(t, c.name)), 0, 0)
			h, body, err := r.ReadFrame()
			noErr(t, err, "ReadFrame")
			sameValue(t, Header{Length: uint32(len(body)), Version: Version, Type: c.msg.Type(), ID: c.id}, h, "header")
			got, err := DecodeBody(h, body)
			noErr(t, err, "DecodeBody")
			sameValue(t, c.msg, got, "decoded message")
			if _, _, err = r.ReadFrame(); err != io.EOF {
				t.Fatalf("after the frame: got %v, want io.EOF", err)
			}
		})
	}
}

func TestGoldenChunked(t *testing.T) {
	want := &Call{TimeoutMillis: 5000, Method: []byte("echo"), Payload: []byte("hello, chunked world")}

	// Encode: the whole body split after 10 bytes, FlagMore on the first chunk.
	body := want.Append(nil)
	enc := AppendFrame(nil, TypeCall, FlagMore, 9, body[:10])
	enc = AppendFrame(enc, TypeCall, 0, 9, body[10:])
	sameBytes(t, readHex(t, "call_chunked"), enc, "chunked frames")

	// Decode: reassemble chunks of one type and id until FlagMore is clear.
	r := NewReader(bytes.NewReader(readHex(t, "call_chunked")), 0, 0)
	var whole []byte
	for {
		h, p, err := r.ReadFrame()
		noErr(t, err, "ReadFrame")
		if h.Type != TypeCall || h.ID != 9 {
			t.Fatalf("chunk header %+v, want type call and id 9", h)
		}
		whole = append(whole, p...)
		if h.Flags&FlagMore == 0 {
			break
		}
	}
	var got Call
	noErr(t, got.Decode(whole), "Decode")
	sameValue(t, want, &got, "reassembled call")
}

func TestGoldenCompressed(t *testing.T) {
	want := &Cast{Method: []byte("log"), Payload: []byte("x=1")}
	r := NewReader(bytes.NewReader(readHex(t, "cast_compressed")), 0, 0)
	h, p, err := r.ReadFrame()
	noErr(t, err, "ReadFrame")
	if h.Flags != FlagCompressed {
		t.Fatalf("flags %#x, want FlagCompressed", h.Flags)
	}
	body, err := s2.Decode(nil, p)
	noErr(t, err, "the body must be an S2 block")
	var got Cast
	noErr(t, got.Decode(body), "Decode")
	sameValue(t, want, &got, "decompressed cast")
}

func TestGoldenTranscript(t *testing.T) {
	nD, nA := nonce(0x20), nonce(0x40)
	gD, gA := guid(0x00), guid(0x10)
	for _, c := range []struct{ label, file string }{
		{LabelDialer, "transcript_dialer"},
		{LabelAcceptor, "transcript_acceptor"},
	} {
		t.Run(c.file, func(t *testing.T) {
			got := AppendTranscript(nil, c.label, 2, &nD, &nA, &gD, &gA,
				[]byte("a1@127.0.0.1"), []byte("b2@127.0.0.1"), []byte("prod"), LaneData, 0x0102030405060708, 1, 3)
			sameBytes(t, readHex(t, c.file), got, "transcript")
			key := CookieKey([]byte("secret-cookie"), []byte("prod"))
			p := TranscriptProof(&key, got)
			sameBytes(t, readHex(t, c.file+"_proof"), p[:], "proof")
			// The proof is keyed with the derived key, not the cookie.
			mac := hmac.New(sha256.New, []byte("secret-cookie"))
			mac.Write(got)
			if bytes.Equal(mac.Sum(nil), p[:]) {
				t.Fatal("the proof is keyed with the raw cookie")
			}
		})
	}
}

// TestGoldenCookieKey checks the key derivation against the argon2
// reference implementation's output (testdata/cookie_key.hex) and that the
// cluster name salts it.
func TestGoldenCookieKey(t *testing.T) {
	key := CookieKey([]byte("secret-cookie"), []byte("prod"))
	sameBytes(t, readHex(t, "cookie_key"), key[:], "argon2id cookie key")
	other := CookieKey([]byte("secret-cookie"), []byte("prod2"))
	if bytes.Equal(key[:], other[:]) {
		t.Fatal("the cluster name does not salt the cookie key")
	}
}

func TestTranscriptBindsEveryField(t *testing.T) {
	nD, nA := nonce(0x20), nonce(0x40)
	gD, gA := guid(0x00), guid(0x10)
	base := AppendTranscript(nil, LabelDialer, 1, &nD, &nA, &gD, &gA, []byte("a"), []byte("b"), []byte("c"), 1, 2, 3, 4)
	// Moving a byte from one name to the next must change the transcript:
	// the length prefixes keep field boundaries unambiguous.
	shifted := AppendTranscript(nil, LabelDialer, 1, &nD, &nA, &gD, &gA, []byte("ab"), []byte(""), []byte("c"), 1, 2, 3, 4)
	if bytes.Equal(base, shifted) {
		t.Fatal("moving a byte between names left the transcript unchanged")
	}
	other := AppendTranscript(nil, LabelAcceptor, 1, &nD, &nA, &gD, &gA, []byte("a"), []byte("b"), []byte("c"), 1, 2, 3, 4)
	if bytes.Equal(base, other) {
		t.Fatal("dialer and acceptor labels give the same transcript")
	}
	// Appending keeps what dst held.
	pre := AppendTranscript([]byte("xy"), LabelDialer, 1, &nD, &nA, &gD, &gA, []byte("a"), []byte("b"), []byte("c"), 1, 2, 3, 4)
	sameBytes(t, append([]byte("xy"), base...), pre, "transcript appended to a prefix")
}
