package conn

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

type msg struct {
	h    wire.Header
	body []byte
}

// side is one end of a test link with everything it received.
type side struct {
	c  *Conn
	in chan msg
}

func testConfig(name string) *Config {
	cfg := DefaultConfig()
	cfg.Name = name
	cfg.Cookie = "secret-cookie"
	cfg.HandshakeTimeout = 2 * time.Second
	rand.Read(cfg.GUID[:])
	return &cfg
}

func collect(in chan msg) Handler {
	return func(c *Conn, h wire.Header, body []byte, _ bool) {
		in <- msg{h, bytes.Clone(body)}
	}
}

// linkPair dials b from a over loopback and starts both ends.
func linkPair(t testing.TB, ca, cb *Config) (*side, *side) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := Listen(ctx, cb, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept(ctx)
		ch <- res{c, err}
	}()
	a, err := Dial(ctx, ca, cb.Name, l.Addr().String())
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	sa := &side{a, make(chan msg, 1024)}
	sb := &side{r.c, make(chan msg, 1024)}
	a.Start(collect(sa.in))
	r.c.Start(collect(sb.in))
	t.Cleanup(func() {
		a.Close(0, "test over")
		r.c.Close(0, "test over")
		<-a.Done()
		<-r.c.Done()
	})
	return sa, sb
}

func recv(t testing.TB, s *side) msg {
	t.Helper()
	select {
	case m := <-s.in:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return msg{}
	}
}

func TestLinkEveryTypeRoundTrips(t *testing.T) {
	a, b := linkPair(t, testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"))
	require.Equal(t, "b@127.0.0.1", a.c.Peer().Name)
	require.Equal(t, "a@127.0.0.1", b.c.Peer().Name)
	require.True(t, a.c.Dialed())
	require.False(t, b.c.Dialed())
	require.Equal(t, a.c.LinkID(), b.c.LinkID())

	ctx := context.Background()
	var types []wire.Type
	for t := wire.Type(wire.TypeGoodbye + 1); t < 0x80; t++ {
		if t.Known() {
			types = append(types, t)
		}
	}
	require.GreaterOrEqual(t, len(types), 20)
	for i, typ := range types {
		body := bytes.Repeat([]byte{byte(i)}, 10+i)
		require.NoError(t, a.c.Send(ctx, typ, uint64(i+1), []byte("hd"), body))
		m := recv(t, b)
		require.Equal(t, typ, m.h.Type)
		require.Equal(t, uint64(i+1), m.h.ID)
		require.Equal(t, append([]byte("hd"), body...), m.body)
	}
	// and the other way
	require.NoError(t, b.c.Send(ctx, wire.TypePong, 7, nil, []byte("x")))
	m := recv(t, a)
	require.Equal(t, wire.TypePong, m.h.Type)
}

func TestLinkLargeAndChunkedMessages(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Compression, cb.Compression = CompressOff, CompressOff
	a, b := linkPair(t, ca, cb)
	ctx := context.Background()
	big := make([]byte, 3<<20+17)
	rand.Read(big)
	// A large call goes on the large lane in chunks and arrives whole.
	require.NoError(t, a.c.Send(ctx, wire.TypeCall, 1, []byte("head"), big))
	m := recv(t, b)
	require.Equal(t, wire.TypeCall, m.h.Type)
	require.Equal(t, append([]byte("head"), big...), m.body)

	// Casts keep FIFO order even when one of them is chunked.
	require.NoError(t, a.c.Send(ctx, wire.TypeCast, 0, nil, []byte("first")))
	require.NoError(t, a.c.Send(ctx, wire.TypeCast, 0, nil, big))
	require.NoError(t, a.c.Send(ctx, wire.TypeCast, 0, nil, []byte("last")))
	require.Equal(t, []byte("first"), recv(t, b).body)
	require.Equal(t, big, recv(t, b).body)
	require.Equal(t, []byte("last"), recv(t, b).body)
}

func TestLinkSmallCallsOvertakeALargeOne(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Compression, cb.Compression = CompressOff, CompressOff
	a, b := linkPair(t, ca, cb)
	ctx := context.Background()
	big := make([]byte, 64<<20)
	done := make(chan error, 1)
	go func() { done <- a.c.Send(ctx, wire.TypeCall, 1, nil, big) }()
	// Small calls sent after the large one started arrive before it.
	testnet.Eventually(t, 10*time.Second, "the 64 MiB call's first chunk on the large lane", func() string {
		if st := a.c.LaneStats()[wire.LaneLarge]; st.FramesSent == 0 {
			return fmt.Sprintf("large lane: %+v", st)
		}
		return ""
	})
	for i := 0; i < 10; i++ {
		require.NoError(t, a.c.Send(ctx, wire.TypeCall, uint64(100+i), nil, []byte("small")))
	}
	var order []uint64
	for len(order) < 11 {
		order = append(order, recv(t, b).h.ID)
	}
	require.NoError(t, <-done)
	require.Equal(t, uint64(1), order[len(order)-1], "the 64 MiB call should arrive after the small ones: %v", order)
}

// onOff maps a test case's bool to CompressOn or CompressOff.
func onOff(on bool) Compression {
	if on {
		return CompressOn
	}
	return CompressOff
}

func TestLinkCompressionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ca, cb bool
		want   bool
	}{
		{"both on", true, true, true},
		{"dialer off", false, true, false},
		{"acceptor off", true, false, false},
		{"both off", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
			ca.Compression, cb.Compression = onOff(tc.ca), onOff(tc.cb)
			ca.CompressThreshold, cb.CompressThreshold = 128, 128
			a, b := linkPair(t, ca, cb)
			require.Equal(t, tc.want, a.c.Peer().Compress)
			require.Equal(t, tc.want, b.c.Peer().Compress)
			text := bytes.Repeat([]byte("compressible text "), 20000)
			ctx := context.Background()
			for _, p := range [][]byte{text, text[:100], text[:5000]} {
				require.NoError(t, a.c.Send(ctx, wire.TypeCast, 0, []byte("m"), p))
				require.Equal(t, append([]byte("m"), p...), recv(t, b).body)
				require.NoError(t, b.c.Send(ctx, wire.TypeCall, 9, nil, p))
				require.Equal(t, p, recv(t, a).body)
			}
		})
	}
}

func TestLinkCloseSemantics(t *testing.T) {
	a, b := linkPair(t, testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"))
	require.NoError(t, a.c.Close(wire.CodeShutdown, "node stopping"))
	select {
	case <-b.c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("peer did not notice the close")
	}
	<-a.c.Done()
	<-b.c.Done()
	var pc *PeerClosedError
	require.ErrorAs(t, b.c.Err(), &pc)
	require.Contains(t, pc.Reason, "node stopping")
	err := a.c.Send(context.Background(), wire.TypeCall, 1, nil, []byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	err = b.c.Send(context.Background(), wire.TypeCast, 0, nil, []byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	// Close twice is fine.
	require.NoError(t, a.c.Close(0, ""))
}

func TestLinkPeerVanishing(t *testing.T) {
	a, b := linkPair(t, testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"))
	// Kill b's TCP connections without a goodbye: a sees an error at once.
	for _, tc := range b.c.tcp {
		tc.Close()
	}
	select {
	case <-a.c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("the loss of the connection was not noticed")
	}
	require.Error(t, a.c.Err())
}

func TestLinkSendHonoursContext(t *testing.T) {
	a, _ := linkPair(t, testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, a.c.Send(ctx, wire.TypeCall, 1, nil, []byte("x")), context.Canceled)
}

func TestLinkByteStreams(t *testing.T) {
	a, b := linkPair(t, testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s, err := b.c.AcceptStream(ctx)
		if !assert.NoError(t, err) {
			return
		}
		defer s.Close()
		io.Copy(s, s) // echo
	}()
	s, err := a.c.OpenStream(ctx)
	require.NoError(t, err)
	data := make([]byte, 1<<20)
	rand.Read(data)
	go func() { s.Write(data) }()
	got := make([]byte, len(data))
	_, err = io.ReadFull(s, got)
	require.NoError(t, err)
	require.Equal(t, data, got)
	// Control frames still flow while the stream is open.
	require.NoError(t, a.c.Send(ctx, wire.TypePing, 1, nil, make([]byte, 8)))
	require.Equal(t, wire.TypePing, recv(t, b).h.Type)
	s.Close()
	wg.Wait()
}

func TestListenerRefusesHiddenAndBadConfig(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.Hidden = true
	_, err := Listen(context.Background(), cfg, "127.0.0.1:0")
	require.ErrorContains(t, err, "hidden")
	cfg = testConfig("a@127.0.0.1")
	cfg.Cookie = ""
	_, err = Listen(context.Background(), cfg, "127.0.0.1:0")
	require.ErrorContains(t, err, "Cookie")
	_, err = Dial(context.Background(), cfg, "b@127.0.0.1", "127.0.0.1:1")
	require.ErrorContains(t, err, "Cookie")
}

func TestDialRefusedIsAnError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cb := testConfig("b@127.0.0.1")
	l, err := Listen(ctx, cb, "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = Dial(ctx, testConfig("a@127.0.0.1"), "b@127.0.0.1", addr)
	require.Error(t, err)
	require.False(t, errors.Is(err, context.DeadlineExceeded))
}

func TestLinkHiddenClient(t *testing.T) {
	ca := testConfig("ctl-1@127.0.0.1")
	ca.Hidden = true
	a, b := linkPair(t, ca, testConfig("b@127.0.0.1"))
	require.True(t, b.c.Peer().Hidden)
	require.False(t, a.c.Peer().Hidden)
	require.NoError(t, a.c.Send(context.Background(), wire.TypeCall, 1, nil, []byte("status")))
	require.Equal(t, []byte("status"), recv(t, b).body)
}

// TestChunkedLongHead: a message whose head is longer than half the peer's
// frame limit (a method name near its 64 KiB limit) is still chunked and
// reassembled whole.
func TestChunkedLongHead(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.MaxPayload, cb.MaxPayload = wire.MinPayloadLimit, wire.MinPayloadLimit
	a, b := linkPair(t, ca, cb)
	head := bytes.Repeat([]byte("h"), wire.MinPayloadLimit)
	payload := bytes.Repeat([]byte("p"), 3*wire.MinPayloadLimit)
	require.NoError(t, a.c.Send(context.Background(), wire.TypeCast, 0, head, payload))
	require.Equal(t, append(append([]byte(nil), head...), payload...), recv(t, b).body)
}
