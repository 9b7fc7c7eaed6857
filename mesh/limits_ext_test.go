package mesh_test

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// hostileLink dials node 0 of c as a node named evil@127.0.0.1 holding the
// cookie, with a Conn the test drives frame by frame.
func hostileLink(t *testing.T, c *meshtest.Cluster) *conn.Conn {
	t.Helper()
	cc := conn.DefaultConfig()
	cc.Name = "evil@127.0.0.1"
	cc.Cookie = c.Config(0).Cookie
	cc.Cluster = c.Config(0).Cluster
	if cc.Cluster == "" {
		cc.Cluster = "ekka"
	}
	rand.Read(cc.GUID[:])
	ctx := testnet.Context(t, 5*time.Second)
	a, err := conn.Dial(ctx, &cc, c.Name(0), c.Node(0).Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() {
		a.Abort(0, "test over")
		<-a.Done()
	})
	return a
}

// A peer with the cookie sends calls and never reads the replies: the node
// serves at most MaxServingCalls of them at once (no goroutine per call
// beyond that, its reader waits), and closes the link as stalled after
// StallTimeout, saying why in the member's down event.
func TestCallsFromAPeerThatDoesNotReadAreBounded(t *testing.T) {
	c := meshtest.Formed(t, 1, func(i int, cfg *mesh.Config) {
		cfg.HeartbeatTimeout = 30 * time.Second
		cfg.StallTimeout = 500 * time.Millisecond
		cfg.LaneBudget = 64 << 10
		cfg.MaxServingCalls = 16
	})
	n := c.Node(0)
	var served atomic.Int64
	require.NoError(t, n.Handle("echo", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		served.Add(1)
		return p, nil
	}))
	events := n.Subscribe()
	defer events.Close()
	base := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	a := hostileLink(t, c)
	head := (&wire.Call{Method: []byte("echo")}).Append(nil)
	payload := make([]byte, 16<<10)
	go func() {
		ctx := context.Background()
		for id := uint64(1); ; id++ {
			if a.Send(ctx, wire.TypeCall, id, head, payload) != nil {
				return
			}
		}
	}()
	peak := 0
	var peakHeap uint64
	var ms runtime.MemStats
	down := make(chan mesh.Event, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case e := <-events.C():
				if e.Kind == mesh.EventNodeDown && e.Node == "evil@127.0.0.1" {
					down <- e
					return
				}
			case <-stop:
				return
			}
		}
	}()
	var e mesh.Event
	timeout := time.After(15 * time.Second)
wait:
	for {
		select {
		case e = <-down:
			break wait
		case <-timeout:
			t.Fatalf("the link to a peer that does not read is still up after 15s (%d calls served)", served.Load())
		case <-time.After(10 * time.Millisecond):
			peak = max(peak, runtime.NumGoroutine())
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
	}
	require.Contains(t, e.Reason, "stalled")
	require.Contains(t, e.Reason, "evil@127.0.0.1")
	require.LessOrEqual(t, peak, base+16+40, "goroutines: at most MaxServingCalls for the peer's calls")
	require.Less(t, peakHeap, before.HeapInuse+64<<20, "heap in use stays bounded")
	require.Greater(t, served.Load(), int64(16), "calls were served until the lane backed up")
}

// A call, cast or reply above MaxMessage is refused locally with
// ErrTooLarge; the link stays up and the calls around it succeed.
func TestMessageAboveLimitRefusedLocally(t *testing.T) {
	c := meshtest.Formed(t, 2, func(i int, cfg *mesh.Config) { cfg.MaxMessage = 1 << 20 })
	a, b := c.Node(0), c.Node(1)
	ctx := testnet.Context(t, 10*time.Second)
	started := make(chan struct{}, 1)
	require.NoError(t, b.Handle("slow", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		time.Sleep(200 * time.Millisecond) // the work: the call stays in flight
		return p, nil
	}))
	require.NoError(t, b.Handle("big", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		return make([]byte, 2<<20), nil
	}))
	slow := make(chan error, 1)
	go func() {
		r, err := a.Call(ctx, b.Name(), "slow", []byte("in flight"))
		if err == nil && string(r) != "in flight" {
			err = errors.New("wrong reply " + string(r))
		}
		slow <- err
	}()
	select {
	case <-started: // the first call is in flight
	case err := <-slow:
		t.Fatalf("the first call ended before its handler ran: %v", err)
	}
	_, err := a.Call(ctx, b.Name(), "slow", make([]byte, 2<<20))
	require.ErrorIs(t, err, mesh.ErrTooLarge)
	require.NotErrorIs(t, err, mesh.ErrNodeDown)
	require.ErrorContains(t, err, "exceeds the message limit of 1048576 bytes")
	err = a.Cast(b.Name(), "slow", make([]byte, 2<<20))
	require.ErrorIs(t, err, mesh.ErrTooLarge)

	_, err = a.Call(ctx, b.Name(), "big", nil)
	var re *mesh.RemoteError
	require.ErrorAs(t, err, &re)
	require.EqualValues(t, wire.CodeTooLarge, re.Code)
	require.Contains(t, re.Message, "reply of 2097152 bytes")

	require.NoError(t, <-slow, "the call in flight on the same link succeeds")
	r, err := a.Call(ctx, b.Name(), "slow", make([]byte, 1<<20-64))
	require.NoError(t, err, "a message within the limit still goes")
	require.Len(t, r, 1<<20-64)
}

// A Ping must carry its u64 body: a 3-byte one is a protocol error that
// closes the link with a goodbye "truncated", not echoed.
func TestShortPingIsAProtocolError(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	a := hostileLink(t, c)
	pongs := make(chan []byte, 4)
	a.Start(func(_ *conn.Conn, h wire.Header, body []byte, _ bool) {
		if h.Type == wire.TypePong {
			pongs <- append([]byte(nil), body...)
		}
	})
	ctx := testnet.Context(t, 5*time.Second)
	ok := (&wire.Ping{SentNanos: 42}).Append(nil)
	require.NoError(t, a.Send(ctx, wire.TypePing, 1, ok, nil))
	select {
	case p := <-pongs:
		require.Equal(t, ok, p, "a valid ping is answered with its time")
	case <-ctx.Done():
		t.Fatal("no pong for a valid ping")
	}
	// The goodbye may close the link before Send returns: its error is not the point.
	a.Send(ctx, wire.TypePing, 2, []byte{1, 2, 3}, nil)
	select {
	case <-a.Closed():
	case <-ctx.Done():
		t.Fatal("the link is still up after a 3-byte ping")
	}
	var pc *conn.PeerClosedError
	require.ErrorAs(t, a.Err(), &pc)
	require.True(t, strings.Contains(pc.Reason, "truncated"), "goodbye %q", pc.Reason)
	require.Len(t, pongs, 0, "the short ping was not echoed")
}
