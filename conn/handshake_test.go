package conn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/argon2"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Helpers here are prefixed hs so they cannot collide with other test files
// of the package.

const hsCookie = "s3cret-cookie-that-must-never-cross-the-wire"

func hsConfig(name string, guid byte) *Config {
	c := DefaultConfig()
	c.Name = name
	c.Cluster = "test"
	c.Cookie = hsCookie
	c.GUID[0] = 0x01
	c.GUID[15] = guid
	c.HandshakeTimeout = 2 * time.Second
	return &c
}

func hsLeakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

type hsResult struct {
	peer   Peer
	lane   uint8
	linkID uint64
	err    error
}

// hsAcceptor listens on 127.0.0.1:0 and runs the acceptor side (TLS, then the
// handshake) on the first connection. after, when set, runs on success with
// the connection and its reader. wait returns the result and closes
// everything; the connection stays open until then, so that a Reject the
// acceptor sent is never lost to a reset.
func hsAcceptor(t *testing.T, ctx context.Context, cfg *Config, after func(net.Conn, *wire.Reader)) (addr string, wait func() hsResult) {
	t.Helper()
	ln, err := listenTCP(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan hsResult, 1)
	release := make(chan struct{})
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- hsResult{err: err}
			return
		}
		defer nc.Close()
		tc, err := wrapServerTLS(ctx, cfg, nc)
		if err != nil {
			done <- hsResult{err: err}
			<-release
			return
		}
		r := wire.NewReader(tc, cfg.maxPayload(), 0)
		var res hsResult
		res.peer, res.lane, res.linkID, res.err = serverHandshake(ctx, tc, r, cfg)
		if res.err == nil && after != nil {
			after(tc, r)
		}
		done <- res
		<-release
	}()
	var once sync.Once
	var res hsResult
	return ln.Addr().String(), func() hsResult {
		once.Do(func() {
			res = <-done
			close(release)
			ln.Close()
		})
		return res
	}
}

// hsRun runs a whole handshake over loopback TCP and returns both sides' results.
func hsRun(t *testing.T, dialer, acceptor *Config, target string) (client, server hsResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, wait := hsAcceptor(t, ctx, acceptor, nil)
	defer wait()
	nc, err := dialTCP(ctx, dialer, addr)
	if err != nil {
		client.err = err
		return client, wait()
	}
	defer nc.Close()
	r := wire.NewReader(nc, dialer.maxPayload(), 0)
	client.peer, client.err = clientHandshake(ctx, nc, r, dialer, target, wire.LaneData, 42)
	return client, wait()
}

// hsRaw is a hand-driven peer for tests that break the protocol on purpose.
type hsRaw struct {
	t  *testing.T
	nc net.Conn
	r  *wire.Reader
}

func hsDialRaw(t *testing.T, addr string) *hsRaw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, nc.SetDeadline(time.Now().Add(5*time.Second)))
	return &hsRaw{t: t, nc: nc, r: wire.NewReader(nc, 0, 0)}
}

func (p *hsRaw) send(m wire.Message) {
	p.t.Helper()
	_, err := p.nc.Write(wire.AppendMessage(nil, 0, 0, m))
	require.NoError(p.t, err)
}

func (p *hsRaw) write(b []byte) {
	p.t.Helper()
	_, err := p.nc.Write(b)
	require.NoError(p.t, err)
}

func (p *hsRaw) read(want wire.Type) []byte {
	p.t.Helper()
	h, payload, err := p.r.ReadFrame()
	require.NoError(p.t, err)
	require.Equal(p.t, want, h.Type, "frame type")
	return append([]byte(nil), payload...)
}

// readReject reads the Reject the peer must have sent and returns it.
func (p *hsRaw) readReject() wire.Reject {
	p.t.Helper()
	rj := wire.Reject{T: wire.TypeReject}
	require.NoError(p.t, rj.Decode(p.read(wire.TypeReject)))
	rj.Reason = append([]byte(nil), rj.Reason...)
	return rj
}

// hsHello is the Hello a well-behaved dialer named name sends to target.
func hsHello(cfg *Config, target string) *wire.Hello {
	h := &wire.Hello{
		MinVersion: wire.Version, MaxVersion: wire.Version,
		Caps: localCaps(cfg), MaxPayload: cfg.maxPayload(),
		Lane: wire.LaneControl, LinkID: 7, GUID: cfg.GUID,
		Name: []byte(cfg.Name), Target: []byte(target), Cluster: []byte(cfg.Cluster),
	}
	for i := range h.Nonce {
		h.Nonce[i] = byte(i)
	}
	return h
}

// hsSpecProof computes a proof from the spec's layout, written out by hand
// here rather than through wire.AppendTranscript, so that the test checks
// the implementation against the spec.
var hsSpecKeys sync.Map // "cookie\x00cluster" -> key

// hsSpecKey is the cookie key as PROTOCOL.md 8.2 spells it, with its
// literal parameters: argon2id, 3 passes, 32 MiB, 1 lane, 32 bytes, salted
// with the acceptor's cluster. It is computed once per cookie and cluster.
func hsSpecKey(cookie, cluster string) []byte {
	id := cookie + "\x00" + cluster
	if k, ok := hsSpecKeys.Load(id); ok {
		return k.([]byte)
	}
	k := argon2.IDKey([]byte(cookie), []byte("ekka-mesh/2 cookie key, cluster:"+cluster), 3, 32*1024, 1, 32)
	hsSpecKeys.Store(id, k)
	return k
}

func hsSpecProof(cookie, label string, version uint8, nonceD, nonceA []byte, guidD, guidA []byte, dialer, acceptor, cluster string, lane uint8, linkID uint64, capsD, capsA uint32) [wire.ProofSize]byte {
	var b []byte
	str16 := func(s string) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	str16(label)
	b = append(b, version)
	b = append(b, nonceD...)
	b = append(b, nonceA...)
	b = append(b, guidD...)
	b = append(b, guidA...)
	str16(dialer)
	str16(acceptor)
	str16(cluster)
	b = append(b, lane)
	b = binary.BigEndian.AppendUint64(b, linkID)
	b = binary.BigEndian.AppendUint32(b, capsD)
	b = binary.BigEndian.AppendUint32(b, capsA)
	// The acceptor's cluster, which salts the key, is the Hello's in these tests.
	m := hmac.New(sha256.New, hsSpecKey(cookie, cluster))
	m.Write(b)
	var p [wire.ProofSize]byte
	m.Sum(p[:0])
	return p
}

func hsHandshakeError(t *testing.T, err error) *HandshakeError {
	t.Helper()
	var he *HandshakeError
	require.Error(t, err)
	require.True(t, errors.As(err, &he), "want a *HandshakeError, got %T: %v", err, err)
	return he
}

func TestHandshakeSuccess(t *testing.T) {
	hsLeakCheck(t)
	cases := []struct {
		name                   string
		dialerComp, accComp    bool
		hidden                 bool
		wantCompress           bool
		dialerMax, acceptorMax uint32
	}{
		{name: "both compress", dialerComp: true, accComp: true, wantCompress: true},
		{name: "dialer does not compress", dialerComp: false, accComp: true},
		{name: "acceptor does not compress", dialerComp: true, accComp: false},
		{name: "hidden dialer", dialerComp: true, accComp: true, hidden: true, wantCompress: true},
		{name: "payload limits", dialerComp: true, accComp: true, wantCompress: true, dialerMax: wire.MinPayloadLimit, acceptorMax: 1 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := hsConfig("ctl@127.0.0.1", 1)
			a := hsConfig("b1@127.0.0.1", 2)
			d.Compression, a.Compression = onOff(tc.dialerComp), onOff(tc.accComp)
			d.Hidden = tc.hidden
			d.MaxPayload, a.MaxPayload = tc.dialerMax, tc.acceptorMax

			client, server := hsRun(t, d, a, a.Name)
			require.NoError(t, client.err)
			require.NoError(t, server.err)

			assert.Equal(t, Peer{
				Name: a.Name, Cluster: "test", GUID: a.GUID, Version: wire.Version,
				Compress: tc.wantCompress, ChunkSize: true, MaxPayload: a.maxPayload(),
			}, client.peer)
			assert.Equal(t, Peer{
				Name: d.Name, Cluster: "test", GUID: d.GUID, Hidden: tc.hidden, Version: wire.Version,
				Compress: tc.wantCompress, ChunkSize: true, MaxPayload: d.maxPayload(),
			}, server.peer)
			assert.Equal(t, wire.LaneData, server.lane)
			assert.Equal(t, uint64(42), server.linkID)
		})
	}
}

func TestHandshakeWrongCookie(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	a.Cookie = "another-cookie"
	client, server := hsRun(t, d, a, a.Name)

	require.ErrorIs(t, client.err, ErrBadCookie)
	require.ErrorIs(t, server.err, ErrBadCookie)
	ce := hsHandshakeError(t, client.err)
	assert.True(t, ce.Remote, "the dialer learns it from the acceptor's Reject")
	assert.Contains(t, ce.Reason, "cookie mismatch")
	assert.Contains(t, client.err.Error(), "refused by peer")
	se := hsHandshakeError(t, server.err)
	assert.False(t, se.Remote)
}

// A dialer whose own cookie is right but whose acceptor does not know it can
// only be caught by the Welcome proof: an acceptor that fakes Welcome.
func TestHandshakeBadWelcomeProof(t *testing.T) {
	hsLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	a := hsConfig("b@127.0.0.1", 2)
	got := make(chan wire.Reject, 1)
	go func() {
		defer close(got)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		r := wire.NewReader(nc, 0, 0)
		if _, _, err := r.ReadFrame(); err != nil {
			return
		}
		ch := wire.Challenge{Version: wire.Version, MaxPayload: a.maxPayload(), GUID: a.GUID, Name: []byte(a.Name), Cluster: []byte(a.Cluster)}
		nc.Write(wire.AppendMessage(nil, 0, 0, &ch))
		if _, _, err := r.ReadFrame(); err != nil {
			return
		}
		nc.Write(wire.AppendMessage(nil, 0, 0, &wire.Proof{T: wire.TypeWelcome})) // all zero: a guess
		h, p, err := r.ReadFrame()
		if err != nil || h.Type != wire.TypeReject {
			return
		}
		rj := wire.Reject{T: wire.TypeReject}
		if rj.Decode(p) == nil {
			rj.Reason = append([]byte(nil), rj.Reason...)
			got <- rj
		}
	}()
	d := hsConfig("a@127.0.0.1", 1)
	ctx := context.Background()
	nc, err := dialTCP(ctx, d, ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = clientHandshake(ctx, nc, wire.NewReader(nc, 0, 0), d, a.Name, wire.LaneControl, 1)
	require.ErrorIs(t, err, ErrBadCookie)
	assert.False(t, hsHandshakeError(t, err).Remote)
	rj, ok := <-got
	require.True(t, ok, "the dialer must tell the acceptor with a Reject")
	assert.Equal(t, wire.CodeBadCookie, rj.Code)
}

func TestHandshakeWrongCluster(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	d.Cluster = "blue"
	client, server := hsRun(t, d, a, a.Name)

	require.ErrorIs(t, client.err, ErrWrongCluster)
	require.ErrorIs(t, server.err, ErrWrongCluster)
	ce := hsHandshakeError(t, client.err)
	assert.True(t, ce.Remote)
	assert.Contains(t, ce.Reason, `"blue"`)
	assert.Contains(t, ce.Reason, `"test"`)
}

func TestHandshakeWrongNode(t *testing.T) {
	hsLeakCheck(t)
	var logs bytes.Buffer
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("c3@127.0.0.1", 2)
	a.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	client, server := hsRun(t, d, a, "b3@127.0.0.1")

	require.ErrorIs(t, client.err, ErrWrongNode)
	require.ErrorIs(t, server.err, ErrWrongNode)
	ce := hsHandshakeError(t, client.err)
	assert.True(t, ce.Remote)
	assert.Contains(t, ce.Reason, "this is node c3@127.0.0.1, not b3@127.0.0.1")
	assert.Contains(t, ce.Reason, "same base port")

	// wait() in hsRun ordered the acceptor's log write before this read.
	line := logs.String()
	assert.Contains(t, line, "handshake rejected")
	assert.Contains(t, line, "peer_addr=127.0.0.1:")
	assert.Contains(t, line, "peer=a@127.0.0.1")
	assert.Contains(t, line, "same base port")
}

// The dialer checks the Challenge too: the acceptor's name must be the target.
func TestHandshakeDialerChecksChallenge(t *testing.T) {
	hsLeakCheck(t)
	cases := []struct {
		name   string
		mutate func(*wire.Challenge)
		want   error
	}{
		{"other name", func(c *wire.Challenge) { c.Name = []byte("x@127.0.0.1") }, ErrWrongNode},
		{"other cluster", func(c *wire.Challenge) { c.Cluster = []byte("red") }, ErrWrongCluster},
		{"other version", func(c *wire.Challenge) { c.Version = 9 }, ErrVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			a := hsConfig("b@127.0.0.1", 2)
			got := make(chan wire.Code, 1)
			go func() {
				defer close(got)
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				r := wire.NewReader(nc, 0, 0)
				if _, _, err := r.ReadFrame(); err != nil {
					return
				}
				ch := wire.Challenge{Version: wire.Version, GUID: a.GUID, Name: []byte(a.Name), Cluster: []byte(a.Cluster)}
				tc.mutate(&ch)
				nc.Write(wire.AppendMessage(nil, 0, 0, &ch))
				h, p, err := r.ReadFrame()
				if err != nil || h.Type != wire.TypeReject {
					return
				}
				rj := wire.Reject{T: wire.TypeReject}
				if rj.Decode(p) == nil {
					got <- rj.Code
				}
			}()
			d := hsConfig("a@127.0.0.1", 1)
			ctx := context.Background()
			nc, err := dialTCP(ctx, d, ln.Addr().String())
			require.NoError(t, err)
			defer nc.Close()
			_, err = clientHandshake(ctx, nc, wire.NewReader(nc, 0, 0), d, a.Name, wire.LaneControl, 1)
			require.ErrorIs(t, err, tc.want)
			code, ok := <-got
			require.True(t, ok, "the dialer must send a Reject")
			assert.Equal(t, hsHandshakeError(t, err).Code, code)
		})
	}
}

// A hidden client (ekka-mesh ctl) may leave its cluster empty: it reaches a
// node of any cluster, and the cookie still decides. A non-hidden dialer with
// an empty cluster is refused like any other cluster mismatch.
func TestHandshakeHiddenEmptyCluster(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("ctl@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	d.Hidden, d.Cluster = true, ""
	client, server := hsRun(t, d, a, a.Name)
	require.NoError(t, client.err)
	require.NoError(t, server.err)
	assert.True(t, server.peer.Hidden)
	assert.Equal(t, "test", client.peer.Cluster)

	d.Cookie = "wrong"
	client, server = hsRun(t, d, a, a.Name)
	require.ErrorIs(t, client.err, ErrBadCookie)
	require.ErrorIs(t, server.err, ErrBadCookie)

	d = hsConfig("a@127.0.0.1", 1)
	d.Cluster = ""
	client, server = hsRun(t, d, a, a.Name)
	require.ErrorIs(t, client.err, ErrWrongCluster)
	require.ErrorIs(t, server.err, ErrWrongCluster)
}

// An acceptor that refuses members (a singleton node) refuses a member
// dialer after its proof, with the reason it was given, and still accepts a
// hidden client; a wrong cookie is reported as such, not as the refusal.
func TestHandshakeRefuseMembers(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	a.RefuseMembers = "node b@127.0.0.1 is a singleton: it never joins a cluster"
	client, server := hsRun(t, d, a, a.Name)
	require.ErrorIs(t, client.err, ErrRefused)
	require.ErrorIs(t, server.err, ErrRefused)
	ce := hsHandshakeError(t, client.err)
	assert.True(t, ce.Remote)
	assert.True(t, strings.HasSuffix(ce.Reason, ": "+a.RefuseMembers), "reason %q", ce.Reason)

	d.Hidden = true
	client, server = hsRun(t, d, a, a.Name)
	require.NoError(t, client.err)
	require.NoError(t, server.err)
	assert.True(t, server.peer.Hidden)

	d.Hidden, d.Cookie = false, "wrong"
	client, _ = hsRun(t, d, a, a.Name)
	require.ErrorIs(t, client.err, ErrBadCookie)
}

func TestHandshakeUnsupportedVersion(t *testing.T) {
	hsLeakCheck(t)
	a := hsConfig("b@127.0.0.1", 2)
	ctx := context.Background()
	addr, wait := hsAcceptor(t, ctx, a, nil)
	defer wait()
	p := hsDialRaw(t, addr)
	defer p.nc.Close()
	hello := hsHello(hsConfig("a@127.0.0.1", 1), a.Name)
	hello.MinVersion, hello.MaxVersion = 9, 9
	p.send(hello)

	rj := p.readReject()
	assert.Equal(t, wire.CodeVersion, rj.Code)
	assert.Contains(t, string(rj.Reason), "9..9")
	res := wait()
	require.ErrorIs(t, res.err, ErrVersion)
}

func TestHandshakeHiddenAcceptorRefuses(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	a.Hidden = true
	client, server := hsRun(t, d, a, a.Name)
	require.Error(t, server.err)
	assert.Equal(t, wire.CodeRefused, hsHandshakeError(t, server.err).Code)
	ce := hsHandshakeError(t, client.err)
	assert.True(t, ce.Remote)
	assert.Contains(t, ce.Reason, "hidden")
}

// Anything but a proper Hello is refused with a Reject and an error that
// says what arrived.
func TestHandshakeGarbage(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	good := wire.AppendMessage(nil, 0, 0, hsHello(d, a.Name))
	random := make([]byte, 300)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	oversize := append([]byte(nil), good[:wire.HeaderSize]...)
	binary.BigEndian.PutUint32(oversize, wire.MinPayloadLimit+1)
	cases := []struct {
		name     string
		send     []byte
		closeW   bool // half-close after sending
		code     wire.Code
		inReason string
	}{
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, wire.CodeMalformed, "not a valid frame"},
		{"random bytes", random, false, wire.CodeMalformed, "not a valid frame"},
		{"auth first", wire.AppendMessage(nil, 0, 0, &wire.Proof{T: wire.TypeAuth}), false, wire.CodeUnexpected, "got a auth frame, want hello"},
		{"call first", wire.AppendFrame(nil, wire.TypeCall, 0, 1, []byte("x")), false, wire.CodeUnexpected, "want hello"},
		{"hello with trailing bytes", append(wire.AppendFrame(nil, wire.TypeHello, 0, 0, append(hsHello(d, a.Name).Append(nil), 0xff)), 0), false, wire.CodeMalformed, "hello does not decode"},
		{"hello with flags", wire.AppendMessage(nil, wire.FlagCompressed, 0, hsHello(d, a.Name)), false, wire.CodeMalformed, "flags"},
		{"truncated hello", good[:len(good)-5], true, wire.CodeMalformed, "truncated"},
		{"oversize frame", oversize, false, wire.CodeTooLarge, "exceeds the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, wait := hsAcceptor(t, context.Background(), a, nil)
			defer wait()
			p := hsDialRaw(t, addr)
			defer p.nc.Close()
			p.write(tc.send)
			if tc.closeW {
				require.NoError(t, p.nc.(*net.TCPConn).CloseWrite())
			}
			rj := p.readReject()
			assert.Equal(t, tc.code, rj.Code)
			res := wait()
			he := hsHandshakeError(t, res.err)
			assert.Equal(t, tc.code, he.Code)
			assert.False(t, he.Remote)
			assert.Contains(t, res.err.Error(), tc.inReason)
		})
	}
	t.Run("closed before hello", func(t *testing.T) {
		addr, wait := hsAcceptor(t, context.Background(), a, nil)
		defer wait()
		p := hsDialRaw(t, addr)
		p.nc.Close()
		res := wait()
		require.ErrorIs(t, res.err, io.EOF)
		assert.Contains(t, res.err.Error(), "closed the connection")
	})
}

func TestHandshakeTimeoutSilentDialer(t *testing.T) {
	hsLeakCheck(t)
	a := hsConfig("b@127.0.0.1", 2)
	a.HandshakeTimeout = 200 * time.Millisecond
	addr, wait := hsAcceptor(t, context.Background(), a, nil)
	defer wait()
	p := hsDialRaw(t, addr)
	defer p.nc.Close()
	start := time.Now()
	p.send(hsHello(hsConfig("a@127.0.0.1", 1), a.Name))
	p.read(wire.TypeChallenge)
	// ... and say nothing more.
	res := wait()
	elapsed := time.Since(start)
	require.ErrorIs(t, res.err, ErrHandshakeTimeout)
	assert.NotErrorIs(t, res.err, context.DeadlineExceeded, "the context had no deadline")
	assert.Contains(t, res.err.Error(), "waiting for auth")
	assert.GreaterOrEqual(t, elapsed, 150*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second)
	rj := p.readReject()
	assert.Equal(t, wire.CodeTimeout, rj.Code, "the silent peer is told why")
}

func TestHandshakeTimeoutSilentAcceptor(t *testing.T) {
	hsLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
		close(accepted)
	}()
	d := hsConfig("a@127.0.0.1", 1)
	d.HandshakeTimeout = 200 * time.Millisecond
	ctx := context.Background()
	nc, err := dialTCP(ctx, d, ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	if sc := <-accepted; sc != nil {
		defer sc.Close()
	}
	start := time.Now()
	_, err = clientHandshake(ctx, nc, wire.NewReader(nc, 0, 0), d, "b@127.0.0.1", wire.LaneControl, 1)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, ErrHandshakeTimeout)
	assert.Contains(t, err.Error(), "waiting for challenge")
	assert.GreaterOrEqual(t, elapsed, 150*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second)
}

func TestHandshakeContextDeadline(t *testing.T) {
	hsLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		io.Copy(io.Discard, nc) // read everything, answer nothing
	}()
	d := hsConfig("a@127.0.0.1", 1) // HandshakeTimeout 2s: the context ends first
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	nc, err := dialTCP(ctx, d, ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	start := time.Now()
	_, err = clientHandshake(ctx, nc, wire.NewReader(nc, 0, 0), d, "b@127.0.0.1", wire.LaneControl, 1)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, ErrHandshakeTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "waiting for challenge")
	assert.Less(t, elapsed, time.Second)
}

func TestHandshakeContextCancel(t *testing.T) {
	hsLeakCheck(t)
	a := hsConfig("b@127.0.0.1", 2)
	a.HandshakeTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := hsAcceptor(t, ctx, a, nil)
	defer wait()
	p := hsDialRaw(t, addr)
	defer p.nc.Close()
	p.send(hsHello(hsConfig("a@127.0.0.1", 1), a.Name))
	p.read(wire.TypeChallenge) // the acceptor now blocks waiting for Auth

	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res := wait()
	elapsed := time.Since(start)
	require.ErrorIs(t, res.err, context.Canceled)
	assert.NotErrorIs(t, res.err, ErrHandshakeTimeout)
	assert.Contains(t, res.err.Error(), "aborted while waiting for auth")
	assert.Less(t, elapsed, time.Second)

	t.Run("already cancelled", func(t *testing.T) {
		d := hsConfig("a@127.0.0.1", 1)
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		_, err := clientHandshake(ctx, c1, wire.NewReader(c1, 0, 0), d, a.Name, wire.LaneControl, 1)
		require.ErrorIs(t, err, context.Canceled)
	})
}

// hsRecorder records every byte read and written through a connection.
type hsRecorder struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (c *hsRecorder) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.in.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *hsRecorder) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *hsRecorder) bytes() (in, out []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in.Bytes()), bytes.Clone(c.out.Bytes())
}

// hsRecordingDial makes cfg dial through a recorder and returns where to find it.
func hsRecordingDial(cfg *Config) *[]*hsRecorder {
	var recs []*hsRecorder
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rec := &hsRecorder{Conn: nc}
		recs = append(recs, rec)
		return rec, nil
	}
	return &recs
}

func TestHandshakeCookieNeverOnWire(t *testing.T) {
	hsLeakCheck(t)
	for _, acceptorCookie := range []string{hsCookie, "wrong"} {
		t.Run("acceptor cookie "+acceptorCookie, func(t *testing.T) {
			d := hsConfig("a@127.0.0.1", 1)
			a := hsConfig("b@127.0.0.1", 2)
			a.Cookie = acceptorCookie
			recs := hsRecordingDial(d)
			client, server := hsRun(t, d, a, a.Name)
			if acceptorCookie == hsCookie {
				require.NoError(t, client.err)
				require.NoError(t, server.err)
			} else {
				require.ErrorIs(t, client.err, ErrBadCookie)
			}
			require.Len(t, *recs, 1)
			in, out := (*recs)[0].bytes()
			require.NotEmpty(t, in)
			require.NotEmpty(t, out)
			for _, b := range [][]byte{in, out} {
				assert.False(t, bytes.Contains(b, []byte(hsCookie)), "cookie on the wire")
				assert.False(t, bytes.Contains(b, []byte(hsCookie[:8])), "part of the cookie on the wire")
			}
		})
	}
}

// A recorded Auth is worthless against a new Challenge: the acceptor's nonce
// is fresh every time.
func TestHandshakeReplayedAuth(t *testing.T) {
	hsLeakCheck(t)
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	recs := hsRecordingDial(d)
	client, server := hsRun(t, d, a, a.Name)
	require.NoError(t, client.err)
	require.NoError(t, server.err)
	_, out := (*recs)[0].bytes()

	// Split the recording into its two frames: Hello and Auth.
	rr := wire.NewReader(bytes.NewReader(out), 0, 0)
	h, p, err := rr.ReadFrame()
	require.NoError(t, err)
	require.Equal(t, wire.TypeHello, h.Type)
	hello := wire.AppendFrame(nil, h.Type, h.Flags, h.ID, p)
	h, p, err = rr.ReadFrame()
	require.NoError(t, err)
	require.Equal(t, wire.TypeAuth, h.Type)
	auth := wire.AppendFrame(nil, h.Type, h.Flags, h.ID, p)

	addr, wait := hsAcceptor(t, context.Background(), a, nil)
	defer wait()
	raw := hsDialRaw(t, addr)
	defer raw.nc.Close()
	raw.write(hello)
	raw.read(wire.TypeChallenge)
	raw.write(auth)
	rj := raw.readReject()
	assert.Equal(t, wire.CodeBadCookie, rj.Code)
	require.ErrorIs(t, wait().err, ErrBadCookie)
}

// Frames that follow the last handshake frame in the same write stay in the
// reader, the reader's limit is back to the configured one (the handshake
// allows only small frames) and the deadline is cleared.
func TestHandshakeLeavesReaderAfterLastFrame(t *testing.T) {
	hsLeakCheck(t)
	big := bytes.Repeat([]byte{0xab}, wire.MinPayloadLimit+100) // above the handshake limit
	cast := wire.AppendFrame(nil, wire.TypeCast, 0, 0, big)
	// The 100 ms step deadlines below leave no room for a first, slow key
	// derivation (argon2 under the race detector) inside a step.
	hsSpecKey(hsCookie, "test")
	cookieKey(hsCookie, "test")

	t.Run("dialer", func(t *testing.T) {
		a := hsConfig("b@127.0.0.1", 2)
		d := hsConfig("a@127.0.0.1", 1)
		d.HandshakeTimeout = 100 * time.Millisecond
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		acceptorErr := make(chan error, 1)
		go func() {
			acceptorErr <- func() error {
				nc, err := ln.Accept()
				if err != nil {
					return err
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				r := wire.NewReader(nc, 0, 0)
				_, p, err := r.ReadFrame()
				if err != nil {
					return err
				}
				var hello wire.Hello
				if err := hello.Decode(p); err != nil {
					return err
				}
				nonceD := hello.Nonce
				ch := wire.Challenge{Version: wire.Version, Caps: wire.CapCompressS2, MaxPayload: a.maxPayload(), GUID: a.GUID, Name: []byte(a.Name), Cluster: []byte(a.Cluster)}
				ch.Nonce[0] = 0x5a
				if _, err := nc.Write(wire.AppendMessage(nil, 0, 0, &ch)); err != nil {
					return err
				}
				if _, _, err := r.ReadFrame(); err != nil {
					return err
				}
				proofA := hsSpecProof(a.Cookie, "ekka-mesh acceptor", wire.Version, nonceD[:], ch.Nonce[:], d.GUID[:], a.GUID[:],
					d.Name, a.Name, "test", wire.LaneLarge, 99, hello.Caps, wire.CapCompressS2)
				out := wire.AppendMessage(nil, 0, 0, &wire.Proof{T: wire.TypeWelcome, MAC: proofA})
				out = append(out, cast...)
				if _, err := nc.Write(out); err != nil {
					return err
				}
				r.ReadFrame() // until the dialer closes; its error is that close
				return nil
			}()
		}()
		ctx := context.Background()
		nc, err := dialTCP(ctx, d, ln.Addr().String())
		require.NoError(t, err)
		defer nc.Close()
		r := wire.NewReader(nc, d.maxPayload(), 0)
		peer, err := clientHandshake(ctx, nc, r, d, a.Name, wire.LaneLarge, 99)
		require.NoError(t, err, "the dialer must accept a Welcome computed from the spec's layout")
		assert.True(t, peer.Compress)
		time.Sleep(3 * d.HandshakeTimeout) // a deadline left behind would now fire
		h, p, err := r.ReadFrame()
		require.NoError(t, err)
		assert.Equal(t, wire.TypeCast, h.Type)
		assert.Equal(t, big, p)
		nc.Close()
		require.NoError(t, <-acceptorErr)
	})

	t.Run("acceptor", func(t *testing.T) {
		a := hsConfig("b@127.0.0.1", 2)
		a.HandshakeTimeout = 100 * time.Millisecond
		d := hsConfig("a@127.0.0.1", 1)
		type frame struct {
			h   wire.Header
			p   []byte
			err error
		}
		after := make(chan frame, 1)
		addr, wait := hsAcceptor(t, context.Background(), a, func(nc net.Conn, r *wire.Reader) {
			time.Sleep(3 * a.HandshakeTimeout)
			h, p, err := r.ReadFrame()
			after <- frame{h, bytes.Clone(p), err}
		})
		defer wait()
		p := hsDialRaw(t, addr)
		defer p.nc.Close()
		hello := hsHello(d, a.Name)
		hello.Lane, hello.LinkID = wire.LaneData, 1234
		p.send(hello)
		var ch wire.Challenge
		require.NoError(t, ch.Decode(p.read(wire.TypeChallenge)))
		proofD := hsSpecProof(d.Cookie, "ekka-mesh dialer", ch.Version, hello.Nonce[:], ch.Nonce[:], d.GUID[:], a.GUID[:],
			d.Name, a.Name, "test", wire.LaneData, 1234, hello.Caps, ch.Caps)
		p.write(append(wire.AppendMessage(nil, 0, 0, &wire.Proof{T: wire.TypeAuth, MAC: proofD}), cast...))
		p.read(wire.TypeWelcome)
		res := wait()
		require.NoError(t, res.err)
		assert.Equal(t, wire.LaneData, res.lane)
		assert.Equal(t, uint64(1234), res.linkID)
		f := <-after
		require.NoError(t, f.err)
		assert.Equal(t, wire.TypeCast, f.h.Type)
		assert.Equal(t, big, f.p)
	})
}

func TestHandshakeCleanReason(t *testing.T) {
	assert.Equal(t, "a b", cleanReason("a\nb"))
	assert.Equal(t, "x\uFFFDy", cleanReason("x\xffy"))
	long := cleanReason(strings.Repeat("é", 1000))
	assert.LessOrEqual(t, len(long), maxReasonLen+3)
	assert.True(t, strings.HasSuffix(long, "..."))
	assert.True(t, strings.HasPrefix(long, "éé"))
}

func TestListenTCPSharesPortAcrossLoopbackIPs(t *testing.T) {
	hsLeakCheck(t)
	ctx := context.Background()
	ln1, err := listenTCP(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	defer ln1.Close()
	port := ln1.Addr().(*net.TCPAddr).Port
	ln2, err := listenTCP(ctx, net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	require.NoError(t, err, "a node on 127.0.0.2 binds the same port as one on 127.0.0.1")
	defer ln2.Close()

	for _, ln := range []net.Listener{ln1, ln2} {
		accepted := make(chan net.Conn, 1)
		go func() {
			nc, _ := ln.Accept()
			accepted <- nc
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		sc := <-accepted
		require.NotNil(t, sc)
		assert.Equal(t, ln.Addr().String(), sc.LocalAddr().String(), "each IP reaches its own listener")
		c.Close()
		sc.Close()
	}
}

func TestListenTCPRebindAfterClose(t *testing.T) {
	hsLeakCheck(t)
	ctx := context.Background()
	ln, err := listenTCP(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	// Leave a connection in TIME_WAIT on the listener's side: it closes first.
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	sc := <-accepted
	require.NotNil(t, sc)
	sc.Close()
	ln.Close()
	c.Close()

	ln, err = listenTCP(ctx, addr)
	require.NoError(t, err, "a restarted node rebinds its port at once")
	ln.Close()
}

func TestListenTCPBadAddress(t *testing.T) {
	_, err := listenTCP(context.Background(), "127.0.0.1:99999")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:99999")
}

func TestDialTCPLocalIP(t *testing.T) {
	hsLeakCheck(t)
	ln, err := listenTCP(context.Background(), "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	cfg := hsConfig("a@127.0.0.2", 1)
	cfg.LocalIP = net.ParseIP("127.0.0.2")
	require.NoError(t, cfg.checkLocalIP())
	nc, err := dialTCP(context.Background(), cfg, ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	sc := <-accepted
	require.NotNil(t, sc)
	defer sc.Close()
	assert.Equal(t, "127.0.0.2", sc.RemoteAddr().(*net.TCPAddr).IP.String(), "the node's own IP is the source address")
}

func TestDialTCPUsesConfigDial(t *testing.T) {
	hsLeakCheck(t)
	cfg := hsConfig("a@127.0.0.1", 1)
	var gotNetwork, gotAddr string
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		gotNetwork, gotAddr = network, addr
		return nil, errors.New("fault injected")
	}
	_, err := dialTCP(context.Background(), cfg, "127.0.0.1:1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fault injected")
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.Equal(t, "tcp", gotNetwork)
	assert.Equal(t, "127.0.0.1:1", gotAddr)
}

func TestDialTCPCancelled(t *testing.T) {
	hsLeakCheck(t)
	ln, err := listenTCP(context.Background(), "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = dialTCP(ctx, hsConfig("a@127.0.0.1", 1), ln.Addr().String())
	require.ErrorIs(t, err, context.Canceled)
}

func TestDialCheckLocalIP(t *testing.T) {
	for _, tc := range []struct {
		ip string
		ok bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.3", true},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"192.0.2.1", false}, // TEST-NET-1: never assigned to this host
	} {
		cfg := hsConfig("a@"+tc.ip, 1)
		cfg.LocalIP = net.ParseIP(tc.ip)
		err := cfg.checkLocalIP()
		if tc.ok {
			assert.NoError(t, err, tc.ip)
		} else {
			assert.ErrorContains(t, err, "LocalIP "+tc.ip, tc.ip)
		}
	}
	assert.NoError(t, (&Config{}).checkLocalIP())
}

// hsFuzzConn is a net.Conn that reads a fixed input and swallows writes, so
// that the fuzz targets exercise the handshake logic without sockets.
type hsFuzzConn struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *hsFuzzConn) Read(b []byte) (int, error)  { return c.in.Read(b) }
func (c *hsFuzzConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *hsFuzzConn) Close() error                { return nil }
func (c *hsFuzzConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4370}
}
func (c *hsFuzzConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (c *hsFuzzConn) SetDeadline(t time.Time) error      { return nil }
func (c *hsFuzzConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *hsFuzzConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzHandshakeServer feeds arbitrary dialer bytes to the acceptor: it must
// fail with an error, never panic, and never accept without the cookie.
func FuzzHandshakeServer(f *testing.F) {
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	hello := wire.AppendMessage(nil, 0, 0, hsHello(d, a.Name))
	f.Add(hello)
	f.Add(wire.AppendMessage(hello, 0, 0, &wire.Proof{T: wire.TypeAuth}))
	f.Add(wire.AppendMessage(nil, 0, 0, &wire.Reject{T: wire.TypeReject, Code: wire.CodeShutdown, Reason: []byte("bye")}))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		nc := &hsFuzzConn{in: bytes.NewReader(in)}
		_, _, _, err := serverHandshake(context.Background(), nc, wire.NewReader(nc, 0, 0), a)
		require.Error(t, err, "acceptor completed a handshake from %d fuzzed bytes", len(in))
	})
}

// FuzzHandshakeClient feeds arbitrary acceptor bytes to the dialer.
func FuzzHandshakeClient(f *testing.F) {
	a := hsConfig("b@127.0.0.1", 2)
	d := hsConfig("a@127.0.0.1", 1)
	ch := wire.AppendMessage(nil, 0, 0, &wire.Challenge{Version: wire.Version, GUID: a.GUID, Name: []byte(a.Name), Cluster: []byte(a.Cluster)})
	f.Add(ch)
	f.Add(wire.AppendMessage(ch, 0, 0, &wire.Proof{T: wire.TypeWelcome}))
	f.Add(wire.AppendMessage(nil, 0, 0, &wire.Reject{T: wire.TypeReject, Code: wire.CodeBadCookie, Reason: []byte("cookie\nmismatch\xff")}))
	f.Fuzz(func(t *testing.T, in []byte) {
		nc := &hsFuzzConn{in: bytes.NewReader(in)}
		_, err := clientHandshake(context.Background(), nc, wire.NewReader(nc, 0, 0), d, a.Name, wire.LaneControl, 1)
		require.Error(t, err, "dialer completed a handshake from %d fuzzed bytes", len(in))
		var he *HandshakeError
		if errors.As(err, &he) {
			require.False(t, strings.ContainsAny(he.Reason, "\n\r") || !utf8.ValidString(he.Reason), "reason %q is not clean", he.Reason)
		}
	})
}

// TestWithAddr: a failed dial or listen names its address once.
func TestWithAddr(t *testing.T) {
	_, err := listenTCP(context.Background(), "127.0.0.1:99999")
	assert.Equal(t, "listen tcp 127.0.0.1:99999: address 99999: invalid port", err.Error())
	var cfg Config
	cfg.Dial = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no route") }
	_, err = dialTCP(context.Background(), &cfg, "10.1.2.3:4370")
	assert.Equal(t, "dial tcp 10.1.2.3:4370: no route", err.Error())
	ln, err := listenTCP(context.Background(), "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = dialTCP(context.Background(), &Config{}, addr)
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), addr), "%q", err)
	assert.Equal(t, 1, strings.Count(err.Error(), "dial"), "%q", err)
}
