package refclient

import (
	"bytes"
	"encoding/hex"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The golden vectors in wire/testdata are written by golden.py, the
// independent Python encoder, from PROTOCOL.md; this client is written from
// the same document. Agreeing on them byte for byte keeps the two honest.

func readHex(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "wire", "testdata", name+".hex"))
	if err != nil {
		t.Fatalf("golden vector %s: %v", name, err)
	}
	var digits strings.Builder
	for line := range strings.SplitSeq(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("golden vector %s: %v", name, err)
	}
	return b
}

func same(t *testing.T, what string, want, got []byte) {
	t.Helper()
	if !bytes.Equal(want, got) {
		t.Fatalf("%s:\n want %x\n got  %x", what, want, got)
	}
}

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestGoldenFramesEncode(t *testing.T) {
	var gA, gB [16]byte
	var nD [32]byte
	copy(gA[:], seq(0x00, 16))
	copy(gB[:], seq(0x10, 16))
	copy(nD[:], seq(0x20, 32))
	hello := Hello{MinVersion: 2, MaxVersion: 2, Caps: CapCompressS2, MaxPayload: DefaultMaxPayload, Lane: LaneData,
		LinkID: 0x0102030405060708, GUID: gA, Nonce: nD, Name: "a1@127.0.0.1", Target: "b2@127.0.0.1", Cluster: "prod"}
	for _, c := range []struct {
		name string
		got  []byte
	}{
		{"hello", AppendFrame(nil, TypeHello, 0, 0, hello.Append(nil))},
		{"auth", AppendFrame(nil, TypeAuth, 0, 0, seq(0x60, 32))},
		{"welcome", AppendFrame(nil, TypeWelcome, 0, 0, seq(0x80, 32))},
		{"reject", AppendFrame(nil, TypeReject, 0, 0, (&Reject{Code: CodeWrongNode,
			Reason: "dialed b2@127.0.0.1 but this is c3@127.0.0.1: all nodes of a cluster must use the same base port"}).Append(nil))},
		{"goodbye", AppendFrame(nil, TypeGoodbye, 0, 0, (&Reject{Code: CodeShutdown, Reason: "node stopping"}).Append(nil))},
		{"call", AppendFrame(nil, TypeCall, 0, 7, (&Call{TimeoutMillis: 5000, Method: "echo", Payload: []byte("hello")}).Append(nil))},
		{"pong", AppendFrame(nil, TypePong, 0, 42, (&Enc{}).U64(1234567890123).B)},
	} {
		t.Run(c.name, func(t *testing.T) { same(t, c.name, readHex(t, c.name), c.got) })
	}
}

func TestGoldenFramesDecode(t *testing.T) {
	f, n, err := parseFrame(readHex(t, "challenge"), MinPayloadLimit)
	if err != nil || n == 0 {
		t.Fatalf("challenge frame: %v", err)
	}
	var ch Challenge
	if err := ch.Decode(f.Body); err != nil {
		t.Fatal(err)
	}
	if ch.Version != 2 || ch.Caps != CapCompressS2 || ch.MaxPayload != DefaultMaxPayload || ch.Name != "b2@127.0.0.1" ||
		ch.Cluster != "prod" || !bytes.Equal(ch.GUID[:], seq(0x10, 16)) || !bytes.Equal(ch.Nonce[:], seq(0x40, 32)) {
		t.Fatalf("challenge decoded as %+v", ch)
	}

	f, _, err = parseFrame(readHex(t, "reply"), MinPayloadLimit)
	if err != nil || f.Type != TypeReply || f.ID != 7 || string(f.Body) != "hello" {
		t.Fatalf("reply: %+v, %v", f, err)
	}
	f, _, err = parseFrame(readHex(t, "error_reply"), MinPayloadLimit)
	var e ErrorReply
	if err != nil || f.Type != TypeErrorReply || f.ID != 8 || e.Decode(f.Body) != nil ||
		e.Code != CodeNoHandler || e.Message != `no handler for method "nope"` {
		t.Fatalf("error reply: %+v %+v, %v", f, e, err)
	}
	f, _, err = parseFrame(readHex(t, "ping"), MinPayloadLimit)
	v, perr := DecodePing(f.Body)
	if err != nil || perr != nil || f.Type != TypePing || f.ID != 42 || v != 1234567890123 {
		t.Fatalf("ping: %+v %d, %v %v", f, v, err, perr)
	}
	var g Reject
	f, _, err = parseFrame(readHex(t, "goodbye"), MinPayloadLimit)
	if err != nil || g.Decode(f.Body) != nil || g.Code != CodeShutdown || g.Reason != "node stopping" {
		t.Fatalf("goodbye: %+v %+v, %v", f, g, err)
	}
}

func TestGoldenProofs(t *testing.T) {
	key := CookieKey("secret-cookie", "prod")
	same(t, "cookie key", readHex(t, "cookie_key"), key)
	tr := Transcript{Version: 2, Dialer: "a1@127.0.0.1", Acceptor: "b2@127.0.0.1", Clust: "prod",
		Lane: LaneData, LinkID: 0x0102030405060708, CapsD: 1, CapsA: 3}
	copy(tr.NonceD[:], seq(0x20, 32))
	copy(tr.NonceA[:], seq(0x40, 32))
	copy(tr.GUIDD[:], seq(0x00, 16))
	copy(tr.GUIDA[:], seq(0x10, 16))
	same(t, "dialer transcript", readHex(t, "transcript_dialer"), tr.Append(nil, LabelDialer))
	same(t, "acceptor transcript", readHex(t, "transcript_acceptor"), tr.Append(nil, LabelAcceptor))
	same(t, "dialer proof", readHex(t, "transcript_dialer_proof"), tr.Proof(key, LabelDialer))
	same(t, "acceptor proof", readHex(t, "transcript_acceptor_proof"), tr.Proof(key, LabelAcceptor))
}

// TestSmuxBytes pins the control lane's smux framing to the examples of
// PROTOCOL.md section 2.1.
func TestSmuxBytes(t *testing.T) {
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	same(t, "SYN of stream 3", mustHex("02 00 00 00 03 00 00 00"), AppendSmux(nil, SmuxSYN, 3, nil))
	same(t, "PSH of 16 bytes on stream 3", mustHex("02 02 10 00 03 00 00 00"), AppendSmux(nil, SmuxPSH, 3, make([]byte, 16))[:8])
	upd := []byte{0x10, 0, 0, 0, 0, 0, 0x10, 0}
	same(t, "UPD of stream 3: consumed 16, window 1 MiB", mustHex("02 04 08 00 03 00 00 00 10 00 00 00 00 00 10 00"), AppendSmux(nil, SmuxUPD, 3, upd))
	same(t, "NOP", mustHex("02 03 00 00 00 00 00 00"), AppendSmux(nil, SmuxNOP, 0, nil))
	spec := readSpec(t)
	for _, ex := range []string{"02 00 00 00 03 00 00 00", "02 02 10 00 03 00 00 00",
		"02 04 08 00 03 00 00 00 10 00 00 00 00 00 10 00", "02 03 00 00 00 00 00 00"} {
		if !strings.Contains(spec, "`"+ex+"`") {
			t.Errorf("PROTOCOL.md section 2.1 no longer gives the example %s", ex)
		}
	}

	// A wire frame split over two PSH frames comes out whole, and the
	// window update the reader owes follows.
	frame := AppendFrame(nil, TypeReply, 0, 5, []byte("pong"))
	in := AppendSmux(nil, SmuxPSH, ControlStreamID, frame[:10])
	in = AppendSmux(in, SmuxNOP, 0, nil)
	in = AppendSmux(in, SmuxPSH, ControlStreamID, frame[10:])
	var out bytes.Buffer
	s := newSmuxSession(&out)
	f, err := s.readFrame(bytes.NewReader(in), MinPayloadLimit)
	if err != nil || f.Type != TypeReply || f.ID != 5 || string(f.Body) != "pong" {
		t.Fatalf("frame over two PSH: %+v, %v", f, err)
	}
	var want [8]byte
	want[0] = byte(len(frame))
	want[6] = 0x10 // 1 MiB, little-endian
	same(t, "window update after the first frame", AppendSmux(nil, SmuxUPD, ControlStreamID, want[:]), out.Bytes())
}

// readSpec returns PROTOCOL.md with its lines joined, so that an example
// wrapped over two lines is still found.
func readSpec(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "wire", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// TestCallExample checks the example Call of PROTOCOL.md section 11.1.
func TestCallExample(t *testing.T) {
	body := (&Call{TimeoutMillis: 5000, Method: "$ekka.pong"}).Append(nil)
	ex := "00 00 13 88 00 0a 24 65 6b 6b 61 2e 70 6f 6e 67"
	same(t, "call body", body, func() []byte { b, _ := hex.DecodeString(strings.ReplaceAll(ex, " ", "")); return b }())
	if !strings.Contains(readSpec(t), "`"+ex+"`") {
		t.Errorf("PROTOCOL.md section 11.1 no longer gives the example call %s", ex)
	}
}

// TestIndependent keeps the client independent of the code it checks: it
// imports only the standard library and golang.org/x/crypto.
func TestIndependent(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !strings.HasPrefix(path, "golang.org/x/crypto/") {
				t.Errorf("%s imports %s: the reference client may use only the standard library and golang.org/x/crypto", f, path)
			}
		}
	}
}

// TestPortRule checks the port rule against the examples of section 10.
func TestPortRule(t *testing.T) {
	for name, want := range map[string]int{
		"emqx@h": 4370, "emqx12@h": 4382, "emqx-12@h": 4382, "emqx007@h": 4377,
		"emqx1a@h": 4370, "n60000@h": 4370, "n60001@h": 4371, "n123456789@h": 4370 + 123456789%60000,
	} {
		got, err := Port(name, DefaultBasePort)
		if err != nil || got != want {
			t.Errorf("Port(%s) = %d, %v; want %d", name, got, err, want)
		}
	}
	if _, err := Port("n600@h", 65000); err == nil {
		t.Error("Port(n600@h, 65000): want an error, 65600 is above 65535")
	}
	for _, name := range []string{"remsh@h", "remsh12@h", "remshell@h"} {
		if _, err := Port(name, DefaultBasePort); err == nil {
			t.Errorf("Port(%s): want an error, a remote shell's name has no port", name)
		}
	}
	if _, err := Port("n1@h", 0); err == nil {
		t.Error("Port(n1@h, 0): want an error, the base is 1..65535")
	}
	if addr, err := Addr("n1@[::1]", 4370); err != nil || addr != "[::1]:4371" {
		t.Errorf("Addr(n1@[::1]) = %s, %v; want [::1]:4371", addr, err)
	}
}
