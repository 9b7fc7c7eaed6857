package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// nextEvent waits for an event of kind about node, skipping others.
func nextEvent(t *testing.T, s *mesh.Subscription, kind mesh.EventKind, node string, within time.Duration) mesh.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.C():
			if ev.Kind == kind && ev.Node == node {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event for %s within %v", kind, node, within)
		}
	}
}

func TestThreeNodesFormAFullMesh(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	for i := 0; i < 3; i++ {
		info := c.Node(i).Info()
		require.Equal(t, c.Names(), info.RunningNodes)
		require.Empty(t, info.StoppedNodes)
		require.Empty(t, info.Partitions)
		require.Len(t, info.Members, 3)
		for _, m := range info.Members {
			require.Equal(t, mesh.StatusUp, m.Status, "%s on %s", m.Node, c.Name(i))
			require.False(t, m.GUID.IsZero())
		}
	}
}

func TestTenNodesFormAFullMesh(t *testing.T) {
	meshtest.Formed(t, 10, nil)
}

func TestCallCastMulticall(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 10*time.Second)
	var mu sync.Mutex
	var casts []string
	castDone := make(chan struct{})
	for i := 0; i < 3; i++ {
		nd := c.Node(i)
		require.NoError(t, nd.Handle("echo", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			return []byte(fmt.Sprintf("%s from %s: %s", nd.Name(), from, p)), nil
		}))
		require.NoError(t, nd.Handle("fail", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			return nil, errors.New("refused on purpose")
		}))
		require.NoError(t, nd.Handle("panic", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			panic("boom")
		}))
		require.NoError(t, nd.Handle("slow", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		require.NoError(t, nd.Handle("log", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			mu.Lock()
			casts = append(casts, string(p))
			if len(casts) == 1000 {
				close(castDone)
			}
			mu.Unlock()
			return nil, nil
		}))
	}
	a := c.Node(0)
	reply, err := a.Call(ctx, c.Name(1), "echo", []byte("hi"))
	require.NoError(t, err)
	require.Equal(t, "n2@127.0.0.1 from n1@127.0.0.1: hi", string(reply))

	// Errors are typed.
	_, err = a.Call(ctx, c.Name(1), "nope", nil)
	require.ErrorIs(t, err, mesh.ErrNoHandler)
	require.ErrorIs(t, err, mesh.ErrRemote)
	require.ErrorContains(t, err, "nope")
	_, err = a.Call(ctx, c.Name(1), "fail", nil)
	require.ErrorIs(t, err, mesh.ErrRemote)
	require.ErrorContains(t, err, "refused on purpose")
	_, err = a.Call(ctx, c.Name(1), "panic", nil)
	require.ErrorIs(t, err, mesh.ErrPanic)
	require.ErrorContains(t, err, "boom")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	t0 := time.Now()
	_, err = a.Call(short, c.Name(1), "slow", nil)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(t0), time.Second, "a call never outlives its context")
	_, err = a.Call(ctx, "ghost@127.0.0.1", "echo", nil)
	require.ErrorIs(t, err, mesh.ErrUnknownNode)

	// Casts keep their order.
	for i := 0; i < 1000; i++ {
		require.NoError(t, a.Cast(c.Name(2), "log", []byte(fmt.Sprint(i))))
	}
	select {
	case <-castDone:
	case <-time.After(10 * time.Second):
		t.Fatal("casts did not all arrive")
	}
	mu.Lock()
	for i, s := range casts {
		require.Equal(t, fmt.Sprint(i), s)
	}
	mu.Unlock()

	// Multicall with every node up, then with one down.
	res := a.Multicall(ctx, c.Names(), "echo", []byte("all"))
	require.Len(t, res.Replies, 3)
	require.Empty(t, res.Failed)
	require.NoError(t, c.Kill(ctx, 2))
	require.NoError(t, c.Wait(ctx, "n3 down on n1", func() bool { return slices.Contains(a.Info().StoppedNodes, c.Name(2)) }))
	res = a.Multicall(ctx, c.Names(), "echo", []byte("all"))
	require.Len(t, res.Replies, 2)
	require.Equal(t, []string{c.Name(2)}, res.Failed)
	require.ErrorIs(t, res.Errors[c.Name(2)], mesh.ErrNodeDown)
}

func TestCrashSeenDownAndRestartSeenAsRestart(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	sub := c.Node(0).Subscribe()
	defer sub.Close()
	old := c.Node(2).GUID()
	require.NoError(t, c.Kill(ctx, 2))
	ev := nextEvent(t, sub, mesh.EventNodeDown, c.Name(2), 5*time.Second)
	require.Equal(t, old, ev.GUID)
	require.NoError(t, c.Restart(ctx, 2))
	ev = nextEvent(t, sub, mesh.EventNodeUp, c.Name(2), 5*time.Second)
	require.NotEqual(t, old, ev.GUID)
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
	require.Empty(t, c.Node(0).Info().Partitions, "a restart is not a partition")
}

func TestBlackholedPeerSeenDownWithinHeartbeatTimeout(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	sub := c.Node(0).Subscribe()
	defer sub.Close()
	c.Blackhole(2, 0) // n3's packets to n1 vanish; no RST
	t0 := time.Now()
	ev := nextEvent(t, sub, mesh.EventNodeDown, c.Name(2), 5*time.Second)
	took := time.Since(t0)
	require.Contains(t, ev.Reason, "heartbeat")
	require.Less(t, took, 3*time.Second)
	t.Logf("blackholed peer detected in %v (timeout 600ms)", took)
	c.HealAll()
	nextEvent(t, sub, mesh.EventPartitionOccurred, c.Name(2), 10*time.Second)
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
	require.Contains(t, c.Node(0).Info().Partitions, c.Name(2))
}

func TestPartitionDetectedOnBothSides(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 20*time.Second)
	c.Partition([]int{0, 1}, []int{2})
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.WaitRunning(ctx, 2))
	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
	require.NoError(t, c.Wait(ctx, "partitions recorded", func() bool {
		return slices.Equal(c.Node(0).Info().Partitions, []string{c.Name(2)}) &&
			slices.Equal(c.Node(2).Info().Partitions, c.Names(0, 1))
	}))
	require.True(t, c.Node(0).ClearPartition(c.Name(2)))
	require.Empty(t, c.Node(0).Info().Partitions)
}

func TestForceLeaveAndAutoclean(t *testing.T) {
	c := meshtest.Formed(t, 3, func(i int, cfg *mesh.Config) {
		if i == 1 {
			cfg.Autoclean = 500 * time.Millisecond
		}
	})
	ctx := testnet.Context(t, 15*time.Second)
	require.NoError(t, c.Kill(ctx, 2))
	// n2 autocleans the dead n3 on its own.
	require.NoError(t, c.Wait(ctx, "autoclean of n3 on n2", func() bool {
		for _, m := range c.Node(1).Members() {
			if m.Node == c.Name(2) {
				return false
			}
		}
		return true
	}))
	// n1 has no autoclean: n3 stays stopped until force-left.
	require.Contains(t, c.Node(0).Info().StoppedNodes, c.Name(2))
	require.NoError(t, c.Node(0).ForceLeave(ctx, c.Name(2)))
	require.NotContains(t, c.Node(0).Info().StoppedNodes, c.Name(2))
	require.ErrorIs(t, c.Node(0).ForceLeave(ctx, "ghost@127.0.0.1"), mesh.ErrNotMember)
}

func TestLeaveAndRejoin(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	sub := c.Node(0).Subscribe()
	defer sub.Close()
	require.NoError(t, c.Node(2).Leave(ctx))
	nextEvent(t, sub, mesh.EventNodeLeaving, c.Name(2), 5*time.Second)
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.Equal(t, []string{c.Name(2)}, c.Node(2).Info().RunningNodes)
	require.NotContains(t, c.Node(0).Info().StoppedNodes, c.Name(2), "a node that left is no longer a member")
	require.NoError(t, c.Node(2).Join(ctx, c.Name(1)))
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
}

// A member that missed the leave (cut off at the time) redials the node
// that left; it is told, and does not pull it back into the cluster.
func TestLeaveMissedByAMember(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 15*time.Second)
	c.Cut(0, 1)
	require.NoError(t, c.WaitRunning(ctx, 0))
	require.NoError(t, c.WaitRunning(ctx, 1))
	require.NoError(t, c.Node(0).Leave(ctx))
	require.Contains(t, c.Node(1).Info().StoppedNodes, c.Name(0), "the member missed the leave")
	sub := c.Node(1).Subscribe()
	defer sub.Close()

	c.HealAll()
	ev := nextEvent(t, sub, mesh.EventNodeLeaving, c.Name(0), 10*time.Second)
	require.Contains(t, ev.Reason, "left the cluster")
	for i := range 2 {
		info := c.Node(i).Info()
		require.Equal(t, c.Names(i), info.RunningNodes, "on %s", c.Name(i))
		require.Empty(t, info.StoppedNodes, "on %s", c.Name(i))
	}
	time.Sleep(300 * time.Millisecond)
	for i := range 2 {
		require.Equal(t, c.Names(i), c.Node(i).Info().RunningNodes, "still alone, on %s", c.Name(i))
	}

	// Joining again is what brings it back.
	require.NoError(t, c.Node(0).Join(ctx, c.Name(1)))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
}

func TestSimultaneousJoinsKeepOneLinkPerPair(t *testing.T) {
	ctx := testnet.Context(t, 20*time.Second)
	c, err := meshtest.Start(ctx, 4, nil)
	require.NoError(t, err)
	defer c.Stop(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			if i != j {
				wg.Add(1)
				go func() { defer wg.Done(); c.Node(i).Join(ctx, c.Name(j)) }()
			}
		}
	}
	wg.Wait()
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2, 3))
	// One link per pair: after things settle, exactly one proxied connection
	// set (3 lanes) between every pair.
	require.NoError(t, c.Wait(ctx, "one link per pair", func() bool {
		for i := 0; i < 4; i++ {
			for j := i + 1; j < 4; j++ {
				if c.Net.Conns(c.Name(i), c.Name(j)) != 3 {
					return false
				}
			}
		}
		return true
	}))
	require.Empty(t, c.Node(0).Info().Partitions)
}

func TestEventOrder(t *testing.T) {
	ctx := testnet.Context(t, 15*time.Second)
	c, err := meshtest.Start(ctx, 2, nil)
	require.NoError(t, err)
	defer c.Stop(context.Background())
	sub := c.Node(0).Subscribe()
	defer sub.Close()
	require.NoError(t, c.Node(1).Join(ctx, c.Name(0)))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	c.Isolate(1)
	require.NoError(t, c.WaitRunning(ctx, 0))
	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	var kinds []mesh.EventKind
	var last uint64
	timeout := time.After(5 * time.Second)
	for len(kinds) < 4 {
		select {
		case ev := <-sub.C():
			require.Greater(t, ev.Seq, last)
			last = ev.Seq
			if ev.Node == c.Name(1) && ev.Kind != mesh.EventNodeJoining {
				kinds = append(kinds, ev.Kind)
			}
		case <-timeout:
			t.Fatalf("events so far: %v", kinds)
		}
	}
	require.Equal(t, []mesh.EventKind{mesh.EventNodeUp, mesh.EventNodeDown, mesh.EventNodeUp, mesh.EventPartitionOccurred}, kinds)
}

func TestNodeDyingMidCall(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	call, err := c.CallInFlight(ctx, 0, 1)
	require.NoError(t, err)
	require.NoError(t, c.Kill(ctx, 1))
	select {
	case err := <-call.Err:
		require.ErrorIs(t, err, mesh.ErrNodeDown)
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not fail when its node died")
	}
}

func TestBadConfig(t *testing.T) {
	ctx := testnet.Context(t, 5*time.Second)
	for _, tc := range []struct {
		name string
		edit func(*mesh.Config)
		want string
	}{
		{"no name", func(c *mesh.Config) { c.Name = "" }, "Name"},
		{"bad name", func(c *mesh.Config) { c.Name = "bad name@h" }, "Name"},
		{"no cookie", func(c *mesh.Config) { c.Cookie = "" }, "Cookie"},
		{"base port", func(c *mesh.Config) { c.BasePort = 70000 }, "BasePort"},
		{"port overflow", func(c *mesh.Config) { c.BasePort = 65530; c.Name = "n99@127.0.0.1" }, "65535"},
		{"heartbeat", func(c *mesh.Config) { c.HeartbeatInterval = time.Second; c.HeartbeatTimeout = time.Second }, "HeartbeatTimeout"},
		{"autoclean", func(c *mesh.Config) { c.Autoclean = -time.Second }, "Autoclean"},
		{"bind", func(c *mesh.Config) { c.Bind = "nowhere" }, "Bind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mesh.DefaultConfig()
			cfg.Name = "n1@127.0.0.1"
			cfg.Cookie = "c"
			cfg.ListenAddr = "127.0.0.1:0"
			tc.edit(&cfg)
			_, err := mesh.Start(ctx, cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestHiddenClient(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	addr := c.Node(0).Addr().String()
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: "meshtest-cookie", Addr: addr}, c.Name(0))
	require.NoError(t, err)
	info, err := cl.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, c.Names(), info.RunningNodes)
	_, err = cl.Admin(ctx, mesh.MethodPing, mesh.AdminRequest{Node: c.Name(1)})
	require.NoError(t, err)
	require.NoError(t, cl.Close())
	// The client never became a member.
	require.Len(t, c.Node(0).Members(), 2)

	_, err = mesh.Connect(ctx, mesh.ClientConfig{Cookie: "wrong", Addr: addr}, c.Name(0))
	require.Error(t, err)
	require.ErrorContains(t, err, "cookie")
}
