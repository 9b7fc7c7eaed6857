package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// release is a LockRelease body for the locker named svc.
func release(svc, resource string) []byte {
	return (&wire.LockRelease{Locker: []byte(svc), Resource: []byte(resource), Owner: []byte("o")}).Append(nil)
}

// grantOf answers a lock message with a grant naming its resource.
func grantOf(ctx context.Context, from string, t wire.Type, body []byte) (wire.Type, []byte, error) {
	var m wire.LockRelease
	if err := m.Decode(body); err != nil {
		return 0, nil, err
	}
	return wire.TypeLockGrant, (&wire.LockGrant{Resource: append(m.Resource, []byte(" from "+from)...), Token: 7}).Append(nil), nil
}

func TestServiceMessageRequestAnswer(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	a, b := c.Node(0), c.Node(1)
	require.NoError(t, b.HandleMessage(wire.TypeLockRelease, "svc", grantOf))

	before := controlFramesSent(a, c.Name(1))
	at, body, err := a.Request(ctx, c.Name(1), wire.TypeLockRelease, release("svc", "r1"))
	require.NoError(t, err)
	require.Equal(t, wire.TypeLockGrant, at)
	var g wire.LockGrant
	require.NoError(t, g.Decode(body))
	require.Equal(t, "r1 from "+c.Name(0), string(g.Resource))
	require.Equal(t, uint64(7), g.Token)
	require.Greater(t, controlFramesSent(a, c.Name(1)), before, "the request travels on the control lane")

	// Another instance of the service, on the same node, is another name.
	_, _, err = a.Request(ctx, c.Name(1), wire.TypeLockRelease, release("other", "r1"))
	require.ErrorIs(t, err, mesh.ErrNoHandler)
	require.ErrorContains(t, err, `no service "other" for lock-release messages on `+c.Name(1))

	// RequestAll reaches this node too; this node runs no such service.
	res := a.RequestAll(ctx, nil, wire.TypeLockRelease, release("svc", "r2"))
	require.Len(t, res, 2)
	require.Equal(t, c.Name(0), res[0].Node)
	require.ErrorIs(t, res[0].Err, mesh.ErrNoHandler)
	require.Equal(t, c.Name(1), res[1].Node)
	require.NoError(t, res[1].Err)
	require.Equal(t, wire.TypeLockGrant, res[1].Type)

	// A request to this node itself runs its own handler.
	require.NoError(t, a.HandleMessage(wire.TypeLockRelease, "svc", grantOf))
	at, body, err = a.Request(ctx, c.Name(0), wire.TypeLockRelease, release("svc", "r3"))
	require.NoError(t, err)
	require.Equal(t, wire.TypeLockGrant, at)
	require.NoError(t, g.Decode(body))
	require.Equal(t, "r3 from "+c.Name(0), string(g.Resource))
}

func controlFramesSent(n *mesh.Node, peer string) uint64 {
	for _, li := range n.Links() {
		if li.Peer == peer {
			return li.Lanes[wire.LaneControl].FramesSent
		}
	}
	return 0
}

func TestServiceMessageRegistration(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	a := c.Node(0)
	require.NoError(t, a.HandleMessage(wire.TypeLockAcquire, "svc", grantOf))
	err := a.HandleMessage(wire.TypeLockAcquire, "svc", grantOf)
	require.ErrorIs(t, err, mesh.ErrHandlerExists)
	require.ErrorContains(t, err, `lock-acquire messages for service "svc"`)
	require.NoError(t, a.HandleMessage(wire.TypeLockAcquire, "svc2", grantOf), "another service name is free")
	require.NoError(t, a.HandleMessage(wire.TypeLockRelease, "svc", grantOf), "another type is free")
	require.NoError(t, a.HandleMessage(wire.TypeLockAcquire, "svc", nil))
	require.NoError(t, a.HandleMessage(wire.TypeLockAcquire, "svc", grantOf), "free again once removed")

	for _, tc := range []struct {
		t    wire.Type
		svc  string
		want string
	}{
		{wire.TypeCall, "svc", "call is not a service message type"},
		{wire.TypeLockGrant, "svc", "lock-grant is not a service message type"},
		{wire.TypeLockAcquire, "", "empty service name"},
		{wire.TypeLockAcquire, strings.Repeat("x", 70000), "service name is 70000 bytes, want at most 65535"},
	} {
		require.ErrorContains(t, a.HandleMessage(tc.t, tc.svc, grantOf), tc.want)
	}

	ctx := testnet.Context(t, 5*time.Second)
	_, _, err = a.Request(ctx, c.Name(0), wire.TypeCall, release("svc", "r"))
	require.ErrorContains(t, err, "call is not a service message type")
	_, _, err = a.Request(ctx, c.Name(0), wire.TypeLockRelease, []byte{0, 9, 'x'})
	require.ErrorContains(t, err, "its body must begin with the str16 service name")
}

func TestServiceMessageFailures(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	a, b := c.Node(0), c.Node(1)
	require.NoError(t, b.HandleMessage(wire.TypeLockAcquire, "fail", func(context.Context, string, wire.Type, []byte) (wire.Type, []byte, error) {
		return 0, nil, errors.New("table on fire")
	}))
	require.NoError(t, b.HandleMessage(wire.TypeLockRenew, "panic", func(context.Context, string, wire.Type, []byte) (wire.Type, []byte, error) {
		panic("boom")
	}))
	require.NoError(t, b.HandleMessage(wire.TypeLockRelease, "wrong", func(context.Context, string, wire.Type, []byte) (wire.Type, []byte, error) {
		return wire.TypeLockAcquire, nil, nil
	}))
	body := func(svc string) []byte { return release(svc, "r") }

	_, _, err := a.Request(ctx, c.Name(1), wire.TypeLockAcquire, body("fail"))
	require.ErrorIs(t, err, mesh.ErrRemote)
	require.ErrorContains(t, err, "table on fire")
	_, _, err = a.Request(ctx, c.Name(1), wire.TypeLockRenew, body("panic"))
	require.ErrorIs(t, err, mesh.ErrPanic)
	_, _, err = a.Request(ctx, c.Name(1), wire.TypeLockRelease, body("wrong"))
	require.ErrorIs(t, err, mesh.ErrRemote)
	require.ErrorContains(t, err, "answered with lock-acquire, which answers nothing")

	// A request the peer never answers ends with its context.
	block := make(chan struct{})
	defer close(block)
	require.NoError(t, b.HandleMessage(wire.TypeLockRelease, "slow", func(ctx context.Context, _ string, _ wire.Type, _ []byte) (wire.Type, []byte, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return 0, nil, ctx.Err()
	}))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, _, err = a.Request(short, c.Name(1), wire.TypeLockRelease, body("slow"))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The link survives all of it.
	_, _, err = a.Request(ctx, c.Name(1), wire.TypeLockAcquire, body("fail"))
	require.ErrorContains(t, err, "table on fire")
}

func TestServiceMessageTell(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	a, b := c.Node(0), c.Node(1)
	var got atomic.Value
	done := make(chan struct{}, 2)
	require.NoError(t, b.HandleMessage(wire.TypeLockRelease, "told", func(_ context.Context, from string, _ wire.Type, body []byte) (wire.Type, []byte, error) {
		got.Store(from)
		done <- struct{}{}
		return 0, nil, nil // one-way: no answer
	}))
	rep := release("told", "r")
	require.NoError(t, a.Tell(ctx, c.Name(1), wire.TypeLockRelease, rep))
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the told message never arrived")
	}
	require.Equal(t, c.Name(0), got.Load())
	err := a.Tell(ctx, "ghost@127.0.0.1", wire.TypeLockRelease, rep)
	require.ErrorIs(t, err, mesh.ErrUnknownNode)
}

func TestHandleRefusesATakenMethod(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	a := c.Node(0)
	require.NoError(t, a.Handle("m", echo))
	err := a.Handle("m", echo)
	require.ErrorIs(t, err, mesh.ErrHandlerExists)
	require.ErrorContains(t, err, `method "m"`)
	require.ErrorIs(t, a.HandleBorrowed("m", echo), mesh.ErrHandlerExists)
	require.NoError(t, a.Handle("m", nil))
	require.NoError(t, a.Handle("m", echo), "free again once removed")
}

// A peer whose calls fill the node's serving gate (MaxServingCalls) holds up
// its further calls, but not its service messages: they have a gate of
// their own, so the control lane's reader, which brings them and the
// heartbeats, never waits behind application calls.
func TestServiceMessagesDoNotWaitBehindCalls(t *testing.T) {
	c := meshtest.Formed(t, 2, func(_ int, cfg *mesh.Config) { cfg.MaxServingCalls = 2 })
	ctx := testnet.Context(t, 10*time.Second)
	a, b := c.Node(0), c.Node(1)
	require.NoError(t, b.HandleMessage(wire.TypeLockRelease, "svc", grantOf))
	calls, cancel := context.WithCancel(ctx)
	defer cancel()
	for range 2 {
		_, err := c.CallInFlight(calls, 0, 1)
		require.NoError(t, err)
	}
	at, _, err := a.Request(ctx, c.Name(1), wire.TypeLockRelease, release("svc", "r"))
	require.NoError(t, err, "a service request while the peer's calls fill the serving gate")
	require.Equal(t, wire.TypeLockGrant, at)
	require.Contains(t, a.Info().RunningNodes, c.Name(1), "the link stayed up")
}

func TestFullServiceGateRefusesWithoutStallingTheControlLane(t *testing.T) {
	c := meshtest.Formed(t, 2, func(_ int, cfg *mesh.Config) { cfg.MaxServingCalls = 2 })
	ctx := testnet.Context(t, 10*time.Second)
	a, b := c.Node(0), c.Node(1)
	block := make(chan struct{})
	defer close(block)
	started := make(chan struct{}, 2)
	require.NoError(t, b.HandleMessage(wire.TypeLockAcquire, "stuck", func(ctx context.Context, _ string, _ wire.Type, _ []byte) (wire.Type, []byte, error) {
		started <- struct{}{}
		select {
		case <-block:
		case <-ctx.Done():
		}
		return 0, nil, errors.New("released")
	}))
	require.NoError(t, b.HandleMessage(wire.TypeLockRelease, "svc", grantOf))
	// Two requests fill b's gate for a; the handlers never return.
	for range 2 {
		go a.Request(ctx, c.Name(1), wire.TypeLockAcquire, release("stuck", "r")) //nolint:errcheck // they end with the test
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatal("the blocking handler never started")
		}
	}
	// A third is refused at once, saying why, instead of making b's control
	// reader wait (behind it: heartbeats, membership, other services).
	_, _, err := a.Request(ctx, c.Name(1), wire.TypeLockRelease, release("svc", "r"))
	require.ErrorIs(t, err, mesh.ErrRemote)
	require.ErrorContains(t, err, "serves at most 2 service messages")
	require.Equal(t, uint64(1), b.Stats().ServiceMessagesRefused)
	// The link stays up through several heartbeat timeouts, and calls pass.
	sent := func() uint64 { return a.Stats().HeartbeatsSent + b.Stats().HeartbeatsSent }
	beats := sent()
	testnet.EventuallyCtx(t, ctx, "heartbeats past a heartbeat timeout", func() string {
		if got := sent(); got < beats+10 {
			return fmt.Sprintf("%d heartbeats sent since", got-beats)
		}
		return ""
	})
	require.Contains(t, a.Info().RunningNodes, c.Name(1), "the link stayed up")
	require.Zero(t, a.Stats().HeartbeatsMissed+b.Stats().HeartbeatsMissed)
}
