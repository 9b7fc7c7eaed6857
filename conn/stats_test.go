package conn

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// What one end sent on each lane is what the other received, frame for
// frame and byte for byte, chunked messages included.
func TestLaneStatsBothEndsAgree(t *testing.T) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Compression, cb.Compression = CompressOff, CompressOff
	a, b := linkPair(t, ca, cb)
	ctx := context.Background()
	big := make([]byte, 3<<20+17)
	rand.Read(big)
	require.NoError(t, a.c.Send(ctx, wire.TypeCall, 1, []byte("head"), []byte("small")))
	require.NoError(t, a.c.Send(ctx, wire.TypeCall, 2, []byte("head"), big))
	require.NoError(t, a.c.Send(ctx, wire.TypeCast, 0, nil, big)) // chunked on the data lane
	for range 3 {
		recv(t, b)
	}
	sa, sb := a.c.LaneStats(), b.c.LaneStats()
	for lane := range Lanes {
		name := LaneName(uint8(lane))
		if lane == int(wire.LaneControl) {
			// The control lane carries nothing in this test but what
			// the handshake set up, which Start does not count.
			continue
		}
		require.Equal(t, sa[lane].FramesSent, sb[lane].FramesReceived, name+" frames")
		require.Equal(t, sa[lane].BytesSent, sb[lane].BytesReceived, name+" bytes")
		require.Zero(t, sa[lane].Queued, name+" queued")
	}
	data, large := sa[wire.LaneData], sa[wire.LaneLarge]
	require.Greater(t, data.FramesSent, uint64(len(big)/chunkSize), "the cast went in chunks")
	require.Greater(t, data.BytesSent, uint64(len(big)))
	require.GreaterOrEqual(t, large.FramesSent, uint64(1))
	require.Greater(t, large.BytesSent, uint64(len(big)))
	st := a.c.Stats()
	require.Equal(t, sa[0].FramesSent+sa[1].FramesSent+sa[2].FramesSent, st.FramesSent, "Stats sums the lanes")
	require.Equal(t, "unknown", LaneName(7))
}

// The listener counts what it accepted: three connections, three
// handshakes and one link per dialed link.
func TestListenerCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cb := testConfig("b@127.0.0.1")
	l, err := Listen(ctx, cb, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	require.Equal(t, ListenerCounts{}, l.Counts())
	for i := range 2 {
		done := make(chan *Conn, 1)
		go func() {
			c, _ := l.Accept(ctx)
			done <- c
		}()
		c, err := Dial(ctx, testConfig("a@127.0.0.1"), cb.Name, l.Addr().String())
		require.NoError(t, err)
		peer := <-done
		require.NotNil(t, peer)
		c.Close(0, "test over")
		peer.Close(0, "test over")
		<-c.Done()
		<-peer.Done()
		require.Equal(t, ListenerCounts{Accepted: uint64(3 * (i + 1)), Handshakes: uint64(3 * (i + 1)), Links: uint64(i + 1)}, l.Counts())
	}
}
