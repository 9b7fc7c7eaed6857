package conn

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

func TestStallWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const timeout, rate = 10 * time.Second, 1000 // bytes/s
	type obs struct {
		backed  bool
		written int64
		at      time.Duration
		stalled bool
	}
	for _, tc := range []struct {
		name string
		obs  []obs
	}{
		{"never backed up", []obs{{false, 0, 0, false}, {false, 0, 20 * time.Second, false}}},
		{"backed up without progress", []obs{{true, 0, 0, false}, {true, 0, 5 * time.Second, false}, {true, 0, 10 * time.Second, true}}},
		{"backed up, drains fast enough", []obs{{true, 0, 0, false}, {true, 20000, 10 * time.Second, false}, {true, 40000, 20 * time.Second, false}}},
		{"backed up, drains too slowly", []obs{{true, 0, 0, false}, {true, 9000, 10 * time.Second, true}}},
		{"fast window, then a slow one", []obs{{true, 0, 0, false}, {true, 20000, 10 * time.Second, false}, {true, 21000, 20 * time.Second, true}}},
		{"drained in between resets the window", []obs{{true, 0, 0, false}, {false, 0, 9 * time.Second, false}, {true, 0, 10 * time.Second, false}, {true, 0, 19 * time.Second, false}, {true, 0, 20 * time.Second, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w stallWindow
			for i, o := range tc.obs {
				got, _, _ := w.check(o.backed, o.written, t0.Add(o.at), timeout, rate)
				require.Equal(t, o.stalled, got, "observation %d at %v", i, o.at)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	require.True(t, b.reserve(60))
	require.False(t, b.reserve(41), "over the limit: nothing taken")
	require.EqualValues(t, 60, b.Used())
	require.True(t, b.reserve(40))
	b.release(100)
	require.EqualValues(t, 0, b.Used())
	var none *Budget
	require.True(t, none.reserve(1<<40), "a nil budget has no limit")

	m := memory{limit: 50, node: NewBudget(80)}
	require.NoError(t, m.reserve(50))
	err := m.reserve(1)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, wire.CodeTooLarge, le.Code)
	require.Contains(t, err.Error(), "of the link")
	m2 := memory{limit: 50, node: m.node}
	err = m2.reserve(40)
	require.ErrorContains(t, err, "of the node")
	require.EqualValues(t, 0, m2.held.Load(), "a refused reservation takes nothing from the link either")
}

// logBuffer is a slog handler target the tests read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hostilePair links an attacker to a victim and starts only the victim,
// with h as its handler: the attacker's Conn never reads unless the test
// reads its lanes itself, and the test writes raw frames on its sockets.
func hostilePair(t *testing.T, victim *Config, h Handler) (attacker, v *Conn, log *logBuffer) {
	t.Helper()
	log = &logBuffer{}
	victim.Logger = slog.New(slog.NewTextHandler(log, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := Listen(ctx, victim, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	ch := make(chan *Conn, 1)
	go func() {
		c, _ := l.Accept(ctx)
		ch <- c
	}()
	a, err := Dial(ctx, testConfig("evil@127.0.0.1"), victim.Name, l.Addr().String())
	require.NoError(t, err)
	v = <-ch
	require.NotNil(t, v)
	v.Start(h)
	t.Cleanup(func() {
		a.Abort(0, "test over")
		v.Abort(0, "test over")
		<-a.Done()
		<-v.Done()
	})
	return a, v, log
}

// rawFrame writes one frame on the attacker's lane, straight to the socket.
func rawFrame(c *Conn, lane uint8, t wire.Type, flags uint8, id uint64, body []byte) error {
	_, err := c.tcp[lane].Write(wire.AppendFrame(nil, t, flags, id, body))
	return err
}

// goodbyeOn reads frames on the attacker's lane until a goodbye and returns it.
func goodbyeOn(t *testing.T, c *Conn, lane uint8) wire.Reject {
	t.Helper()
	c.tcp[lane].SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		h, body, err := c.readers[lane].ReadFrame()
		require.NoError(t, err, "reading the victim's goodbye")
		if h.Type == wire.TypeGoodbye {
			g := wire.Reject{T: wire.TypeGoodbye}
			require.NoError(t, g.Decode(body))
			return g
		}
	}
}

func waitClosed(t *testing.T, c *Conn, within time.Duration) error {
	t.Helper()
	select {
	case <-c.Closed():
		return c.Err()
	case <-time.After(within):
		t.Fatalf("the link is still open after %v", within)
		return nil
	}
}

// A peer that sends calls and never reads the replies, or reads them at
// 16 KB/s: the victim's queued bytes stay at its lane budget (its reader
// stops once the lane is full) and the link is closed as stalled, with a
// log line naming the peer, the lane and the bytes queued.
func TestPeerThatDoesNotReadIsClosedAsStalled(t *testing.T) {
	for _, slow := range []bool{false, true} {
		name := map[bool]string{false: "never reads", true: "reads slowly"}[slow]
		t.Run(name, func(t *testing.T) {
			cfg := testConfig("victim@127.0.0.1")
			cfg.LaneBudget = 64 << 10
			cfg.StallTimeout = 400 * time.Millisecond
			reply := make([]byte, 16<<10)
			a, v, log := hostilePair(t, cfg, func(c *Conn, h wire.Header, body []byte, _ bool) {
				if h.Type == wire.TypeCall {
					c.Send(context.Background(), wire.TypeReply, h.ID, nil, reply)
				}
			})
			if slow {
				go func() {
					buf := make([]byte, 1600)
					for {
						if _, err := a.tcp[wire.LaneData].Read(buf); err != nil {
							return
						}
						time.Sleep(100 * time.Millisecond) // 16 KB/s
					}
				}()
			}
			go func() {
				call := wire.AppendFrame(nil, wire.TypeCall, 0, 0, (&wire.Call{Method: []byte("echo")}).Append(nil))
				var batch []byte
				for i := range 64 {
					binary.BigEndian.PutUint64(call[8:16], uint64(i+1))
					batch = append(batch, call...)
				}
				for {
					if _, err := a.tcp[wire.LaneData].Write(batch); err != nil {
						return
					}
				}
			}()
			maxQueued := int64(0)
			deadline := time.After(10 * time.Second)
		watch:
			for {
				select {
				case <-v.Closed():
					break watch
				case <-deadline:
					t.Fatal("the link to a peer that does not read is still open after 10s")
				case <-time.After(5 * time.Millisecond):
					maxQueued = max(maxQueued, v.Stats().Queued)
				}
			}
			var le *LimitError
			require.ErrorAs(t, v.Err(), &le)
			require.Contains(t, le.Reason, "data lane to evil@127.0.0.1 stalled")
			require.LessOrEqual(t, maxQueued, int64(64<<10+2*len(reply)+64), "queued bytes stay within the lane budget and the frames waiting for room")
			require.Contains(t, log.String(), "closing link")
			require.Contains(t, log.String(), "stalled")
		})
	}
}

// Chunked messages that are never finished close the link after
// ChunkTimeout, and what they held goes back to the node's budget.
func TestUnfinishedChunkedMessagesTimeOut(t *testing.T) {
	cfg := testConfig("victim@127.0.0.1")
	cfg.ChunkTimeout = 300 * time.Millisecond
	cfg.Budget = NewBudget(64 << 20)
	a, v, log := hostilePair(t, cfg, func(*Conn, wire.Header, []byte, bool) {})
	for id := uint64(1); id <= 4; id++ {
		require.NoError(t, rawFrame(a, wire.LaneData, wire.TypeCast, wire.FlagMore, id, firstChunk(a, 4<<20, 64<<10)))
	}
	require.Eventually(t, func() bool { return cfg.Budget.Used() > 0 }, 2*time.Second, time.Millisecond, "the chunks are held")
	t0 := time.Now()
	err := waitClosed(t, v, 5*time.Second)
	require.GreaterOrEqual(t, time.Since(t0), 150*time.Millisecond)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, wire.CodeTimeout, le.Code)
	require.Contains(t, le.Reason, "4 chunked messages unfinished")
	g := goodbyeOn(t, a, wire.LaneData)
	require.Equal(t, wire.CodeTimeout, g.Code)
	<-v.Done()
	require.Zero(t, cfg.Budget.Used(), "the node's budget is released")
	require.Zero(t, v.Stats().Reassembly)
	require.Contains(t, log.String(), "ChunkTimeout")
}

// firstChunk is the payload of a chunked message's first chunk of n bytes
// for a message of size bytes, with the size announcement when the link
// makes one.
func firstChunk(c *Conn, size, n int) []byte {
	var b []byte
	if c.peer.ChunkSize {
		b = binary.BigEndian.AppendUint64(b, uint64(size))
	}
	return append(b, make([]byte, n)...)
}

// Unfinished chunked messages past the link's or the node's budget close
// the link with "too large" at once.
func TestReassemblyBudgets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		perLink  int64
		node     int64
		wantText string
	}{
		{"per link", 2 << 20, 64 << 20, "of the link"},
		{"per node", 4 << 20, 1 << 20, "of the node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("victim@127.0.0.1")
			cfg.MaxMessage = 1 << 20
			cfg.MaxReassembly = tc.perLink
			cfg.Budget = NewBudget(tc.node)
			a, v, _ := hostilePair(t, cfg, func(*Conn, wire.Header, []byte, bool) {})
			go func() {
				for id := uint64(1); id <= 16; id++ {
					if rawFrame(a, wire.LaneData, wire.TypeCast, wire.FlagMore, id, firstChunk(a, 1<<20, 256<<10)) != nil {
						return
					}
				}
			}()
			err := waitClosed(t, v, 5*time.Second)
			var le *LimitError
			require.ErrorAs(t, err, &le)
			require.Equal(t, wire.CodeTooLarge, le.Code)
			require.Contains(t, le.Reason, tc.wantText)
			g := goodbyeOn(t, a, wire.LaneData)
			require.Equal(t, wire.CodeTooLarge, g.Code)
			<-v.Done()
			require.Zero(t, cfg.Budget.Used())
		})
	}
}

// A compressed frame of a few bytes that claims to decode to more than
// the victim's payload limit (or, within it, more than the message limit
// or the budget has room for) is refused before it is decoded: the victim
// allocates nothing of the claimed size, says goodbye "too large", logs
// why and closes. A chunk is held to the same rule as a whole message.
func TestS2BombRefusedBeforeDecoding(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxMsg   int
		budget   int64
		flags    uint8
		claim    int
		wantText string
	}{
		{"one byte over the payload limit", 0, 64 << 20, 0, wire.DefaultMaxPayload + 1, "claims to decode to 4194305 bytes, above the payload limit of 4194304"},
		{"255 MiB", 0, 64 << 20, 0, 255 << 20, "claims to decode to 267386880 bytes, above the payload limit"},
		{"a chunk over the payload limit", 0, 64 << 20, wire.FlagMore, wire.DefaultMaxPayload + 1, "claims to decode to 4194305 bytes, above the payload limit"},
		{"over the message limit", 64 << 10, 64 << 20, 0, 1 << 20, "claims to decode to 1048576 bytes, above the message limit of 65536"},
		{"over the node budget", 0, 1 << 20, 0, 2 << 20, "reassembly budget of the node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("victim@127.0.0.1")
			cfg.Compression = CompressOn
			cfg.MaxMessage = tc.maxMsg
			cfg.Budget = NewBudget(tc.budget)
			handled := make(chan int, 1)
			a, v, log := hostilePair(t, cfg, func(_ *Conn, _ wire.Header, body []byte, _ bool) { handled <- len(body) })
			require.True(t, a.peer.Compress, "compression negotiated")
			bomb := append(binary.AppendUvarint(nil, uint64(tc.claim)), 0x00, 'x')
			if tc.flags&wire.FlagMore != 0 && a.peer.ChunkSize {
				bomb = append(binary.BigEndian.AppendUint64(nil, 8<<20), bomb...)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			require.NoError(t, rawFrame(a, wire.LaneData, wire.TypeCast, wire.FlagCompressed|tc.flags, 1, bomb))
			err := waitClosed(t, v, 5*time.Second)
			runtime.ReadMemStats(&after)
			require.ErrorContains(t, err, tc.wantText)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(tc.claim/2), "no buffer for the claimed size was allocated")
			g := goodbyeOn(t, a, wire.LaneData)
			require.Equal(t, wire.CodeTooLarge, g.Code, "goodbye %q", g.Reason)
			require.Contains(t, log.String(), "closing link")
			require.Empty(t, handled)
			<-v.Done()
			require.Zero(t, cfg.Budget.Used())
		})
	}
}

// A compressed frame that decodes to exactly the payload limit is within
// the rule: delivered whole.
func TestCompressedFrameAtThePayloadLimit(t *testing.T) {
	cfg := testConfig("victim@127.0.0.1")
	cfg.Compression = CompressOn
	handled := make(chan []byte, 1)
	a, v, _ := hostilePair(t, cfg, func(_ *Conn, _ wire.Header, body []byte, _ bool) { handled <- bytes.Clone(body) })
	body := make([]byte, wire.DefaultMaxPayload)
	body[len(body)-1] = 1
	require.NoError(t, rawFrame(a, wire.LaneLarge, wire.TypeCast, wire.FlagCompressed, 0, s2.Encode(nil, body)))
	select {
	case got := <-handled:
		require.Equal(t, body, got)
	case <-time.After(5 * time.Second):
		t.Fatalf("a compressed frame of %d decoded bytes was not delivered; link error %v", len(body), v.Err())
	}
	require.NoError(t, v.Err())
}

// A large message that compresses to almost nothing (64 MiB of zeros)
// round-trips with compression on: the sender compresses it one frame's
// worth at a time, so no frame claims more than the receiver's payload
// limit, and the receiver decodes the chunks one by one into the message.
func TestLargeCompressedMessageRoundTrips(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Compression, cb.Compression = CompressOn, CompressOn
	a, b := linkPair(t, ca, cb)
	require.True(t, a.c.Peer().Compress, "compression negotiated")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zeros := make([]byte, 64<<20)
	for _, tt := range []wire.Type{wire.TypeCall, wire.TypeCast} {
		framesBefore := a.c.Stats().FramesSent
		require.NoError(t, a.c.Send(ctx, tt, 5, []byte("head"), zeros))
		m := recv(t, b)
		require.Equal(t, tt, m.h.Type)
		require.Len(t, m.body, len(zeros)+4)
		require.Equal(t, []byte("head"), m.body[:4])
		require.Equal(t, -1, bytes.IndexFunc(m.body[4:], func(r rune) bool { return r != 0 }), "the body is all zeros")
		// One frame per payload limit's worth (or per data-lane chunk).
		frames := a.c.Stats().FramesSent - framesBefore
		require.GreaterOrEqual(t, frames, uint64((len(zeros)+4)/wire.DefaultMaxPayload), "pieces of at most the payload limit")
	}
	require.EqualValues(t, 2, a.c.Stats().Compressed, "both messages went compressed")
	require.NoError(t, a.c.Err())
	require.NoError(t, b.c.Err())
	require.Zero(t, b.c.Stats().Reassembly, "the reassembly budget is released")
}

// A message compressed piece by piece where some pieces shrink and some do
// not (text, then random bytes) arrives intact: each chunk says on its own
// whether it is compressed.
func TestMixedChunksRoundTrip(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Compression, cb.Compression = CompressOn, CompressOn
	a, b := linkPair(t, ca, cb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// On the large lane the pieces are 4 MiB: text, random bytes (sent as
	// they are), text; on the data lane, 256 KiB pieces of each.
	r := make([]byte, 4<<20)
	rand.Read(r)
	p := append(append(textPayload(4<<20), r...), textPayload(1<<20)...)
	for _, tt := range []wire.Type{wire.TypeCall, wire.TypeCast} {
		require.NoError(t, a.c.Send(ctx, tt, 3, nil, p))
		m := recv(t, b)
		require.Equal(t, p, m.body)
	}
	require.EqualValues(t, 2, a.c.Stats().Compressed)
}

// A message above the message limit is refused by Send with an error that
// names its size and the limit; the link stays up and carries the next.
func TestSendAboveMessageLimitRefusedLocally(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.MaxMessage = 256 << 10
	a, b := linkPair(t, ca, cb)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tt := range []wire.Type{wire.TypeCall, wire.TypeCast, wire.TypeReply} {
		err := a.c.Send(ctx, tt, 7, []byte("head"), make([]byte, 256<<10))
		require.ErrorIs(t, err, ErrMessageTooLarge)
		require.ErrorIs(t, err, wire.ErrTooLarge)
		require.ErrorContains(t, err, "of 262148 bytes to b@127.0.0.1 exceeds the message limit of 262144 bytes")
	}
	require.NoError(t, a.c.Send(ctx, wire.TypeCall, 8, nil, make([]byte, 256<<10)), "a message at the limit goes")
	m := recv(t, b)
	require.Equal(t, uint64(8), m.h.ID)
	require.Len(t, m.body, 256<<10)
	require.NoError(t, a.c.Err(), "the link stays up")
}

// Frames that break the protocol are answered with the goodbye that names
// the rule before the link closes.
func TestProtocolViolationsSayGoodbye(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		code  wire.Code
	}{
		{"unknown critical type", wire.AppendFrame(nil, wire.Type(0x7e), 0, 0, []byte("?")), wire.CodeUnknownType},
		{"length above the limit", func() []byte {
			b := make([]byte, wire.HeaderSize)
			wire.PutHeader(b, wire.Header{Length: wire.DefaultMaxPayload + 1, Version: wire.Version, Type: wire.TypeCast})
			return b
		}(), wire.CodeTooLarge},
		{"unknown flag", wire.AppendFrame(nil, wire.TypeCast, 0x80, 0, []byte("x")), wire.CodeMalformed},
		{"handshake type", wire.AppendFrame(nil, wire.TypeHello, 0, 0, nil), wire.CodeUnexpected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, v, log := hostilePair(t, testConfig("victim@127.0.0.1"), func(*Conn, wire.Header, []byte, bool) {})
			_, err := a.tcp[wire.LaneData].Write(tc.frame)
			require.NoError(t, err)
			g := goodbyeOn(t, a, wire.LaneData)
			require.Equal(t, tc.code, g.Code, "goodbye %q", g.Reason)
			err = waitClosed(t, v, 5*time.Second)
			var fe *wire.FrameError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.code, fe.Code)
			require.Contains(t, log.String(), "closing link")
			// The stream ends after the goodbye.
			a.tcp[wire.LaneData].SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadAll(a.tcp[wire.LaneData])
			require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the victim closed the lane")
		})
	}
}
