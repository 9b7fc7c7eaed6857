package meshtest_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// downEvent waits for the event saying node went down, skipping others.
func downEvent(t *testing.T, s *mesh.Subscription, node string, within time.Duration) mesh.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.C():
			if ev.Kind == mesh.EventNodeDown && ev.Node == node {
				return ev
			}
		case <-deadline:
			t.Fatalf("no node-down event for %s within %v", node, within)
		}
	}
}

// stopped reports whether node i lists node j among its stopped nodes.
func stopped(c *meshtest.Cluster, i, j int) bool {
	return slices.Contains(c.Node(i).Info().StoppedNodes, c.Name(j))
}

func TestNamesAndStart(t *testing.T) {
	require.Equal(t, "n1@127.0.0.1", meshtest.Name(0))
	require.Equal(t, "n12@127.0.0.1", meshtest.Name(11))

	ctx := testnet.Context(t, 10*time.Second)
	_, err := meshtest.Start(ctx, 0, nil)
	require.ErrorContains(t, err, "at least 1")

	var tweaked []int
	c, err := meshtest.Start(ctx, 3, func(i int, cfg *mesh.Config) {
		tweaked = append(tweaked, i)
		cfg.Cluster = "tweaked"
	})
	require.NoError(t, err)
	defer c.Stop(context.Background())
	require.Equal(t, []int{0, 1, 2}, tweaked, "tweak runs once per node, in order")
	require.Equal(t, 3, c.Len())
	require.Equal(t, []string{"n1@127.0.0.1", "n2@127.0.0.1", "n3@127.0.0.1"}, c.Names())
	require.Equal(t, []string{"n1@127.0.0.1", "n3@127.0.0.1"}, c.Names(2, 0), "sorted")
	for i := range 3 {
		nd := c.Node(i)
		require.Equal(t, c.Name(i), nd.Name())
		require.Equal(t, "tweaked", nd.Cluster())
		require.Equal(t, []string{c.Name(i)}, nd.Info().RunningNodes, "no node knows another before FormCluster")
	}
	cfg := c.Config(1)
	require.Equal(t, c.Name(1), cfg.Name)
	require.Equal(t, "127.0.0.1:0", cfg.ListenAddr)
	require.Equal(t, 100*time.Millisecond, cfg.HeartbeatInterval)
	require.Equal(t, 600*time.Millisecond, cfg.HeartbeatTimeout)
	addr, err := cfg.Resolve(c.Name(2))
	require.NoError(t, err)
	require.Equal(t, c.Node(2).Addr().String(), addr)
	_, err = cfg.Resolve("ghost@127.0.0.1")
	require.ErrorContains(t, err, "ghost@127.0.0.1")

	// A node outside the cluster cannot be joined.
	err = c.Node(0).Join(ctx, "ghost@127.0.0.1")
	require.ErrorIs(t, err, mesh.ErrUnknownNode)
}

func TestWaitNamesWhatItWaitedFor(t *testing.T) {
	ctx := testnet.Context(t, 10*time.Second)
	c, err := meshtest.Start(ctx, 2, nil)
	require.NoError(t, err)
	defer c.Stop(context.Background())
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = c.WaitRunning(short, 0, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "n1@127.0.0.1 n2@127.0.0.1")
	require.ErrorContains(t, err, "run together")
}

func TestUntilSaysWhatItSawLast(t *testing.T) {
	c := meshtest.Started(t, 2, nil)
	short, cancel := context.WithTimeout(testnet.Context(t, 10*time.Second), 50*time.Millisecond)
	defer cancel()
	err := c.WaitRunning(short, 0, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "n1@127.0.0.1 runs [n1@127.0.0.1]", "the last state seen")

	err = c.WaitRunning(short)
	require.ErrorContains(t, err, "[n1@127.0.0.1 n2@127.0.0.1]", "no node given: every node")

	n := 0
	require.NoError(t, c.Until(testnet.Context(t, 5*time.Second), "three looks", func() string {
		if n++; n < 3 {
			return "not yet"
		}
		return ""
	}))
}

// TestReserveResolvesNamesBeforeTheirNodesStart: a node of a Reserve
// cluster whose seed is not up yet keeps retrying, and joins once the seed
// starts on the port reserved for it; a restart keeps the port.
func TestReserveResolvesNamesBeforeTheirNodesStart(t *testing.T) {
	ctx := testnet.Context(t, 20*time.Second)
	c, err := meshtest.Reserve(2, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Stop(context.Background())) }()
	require.Nil(t, c.Node(0), "Reserve starts no node")
	require.NoError(t, c.StartNode(ctx, 1))
	require.ErrorContains(t, c.StartNode(ctx, 1), "n2@127.0.0.1 is already running")
	require.ErrorContains(t, c.StartNode(ctx, 2), "node 2 of a cluster of 2")
	err = c.Node(1).Join(testnet.Context(t, time.Second), c.Name(0))
	require.Error(t, err, "the seed's port refuses connections until it starts")
	require.NotErrorIs(t, err, mesh.ErrUnknownNode, "its name resolves all the same")
	require.NotContains(t, err.Error(), "no node named", "its name resolves all the same")

	require.NoError(t, c.StartNode(ctx, 0))
	addr := c.Node(0).Addr().String()
	require.NoError(t, c.Node(1).Join(ctx, c.Name(0)))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.Restart(ctx, 0))
	require.Equal(t, addr, c.Node(0).Addr().String(), "a restarted node keeps its reserved port")
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
}

// TestDirectLinksBypassTheFaultNetwork: nodes tweaked with DirectLinks
// link over plain loopback TCP, so the network sees no connection of
// theirs and its cuts do not reach them.
func TestDirectLinksBypassTheFaultNetwork(t *testing.T) {
	c := meshtest.Formed(t, 2, meshtest.DirectLinks)
	require.Zero(t, c.Net.Conns(c.Name(0), c.Name(1)))
	c.Cut(0, 1)
	_, err := c.Node(0).Call(testnet.Context(t, 5*time.Second), c.Name(1), mesh.MethodPong, nil)
	require.NoError(t, err, "a cut of the fault network does not reach direct links")
	f := meshtest.Formed(t, 2, nil)
	require.Positive(t, f.Net.Conns(f.Name(0), f.Name(1)), "without DirectLinks the links cross the network")
}

func TestWaitHeartbeats(t *testing.T) {
	c := meshtest.Formed(t, 3, nil) // heartbeats every 100 ms
	ctx := testnet.Context(t, 10*time.Second)
	total := func() (sum uint64) {
		for i := range c.Len() {
			sum += c.Node(i).Stats().HeartbeatsSent
		}
		return sum
	}
	before := total()
	require.NoError(t, c.WaitHeartbeats(ctx, 2))
	require.GreaterOrEqual(t, total(), before+6, "two per link, three links")

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := c.WaitHeartbeats(short, 1000)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "1000 more heartbeats on each of the 3 links")

	require.NoError(t, c.Kill(ctx, 1))
	require.NoError(t, c.Kill(ctx, 2))
	require.ErrorContains(t, c.WaitHeartbeats(ctx, 1), "1 node(s) running: no link")
}

func TestCutBothSidesSeeEachOtherDown(t *testing.T) {
	var refused atomic.Int64 // n1's dials that failed
	c := meshtest.Formed(t, 3, func(i int, cfg *mesh.Config) {
		if i == 0 {
			dial := cfg.Dial
			cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := dial(ctx, network, addr)
				if err != nil {
					refused.Add(1)
				}
				return conn, err
			}
		}
	})
	ctx := testnet.Context(t, 15*time.Second)
	s0, s1 := c.Node(0).Subscribe(), c.Node(1).Subscribe()
	defer s0.Close()
	defer s1.Close()

	c.Cut(0, 1)
	downEvent(t, s0, c.Name(1), 5*time.Second)
	downEvent(t, s1, c.Name(0), 5*time.Second)
	require.True(t, stopped(c, 0, 1))
	require.True(t, stopped(c, 1, 0))
	// n3 is not concerned: it still runs with both.
	require.Equal(t, c.Names(), c.Node(2).Info().RunningNodes)
	// The cut holds: redials are refused while it lasts.
	before := refused.Load()
	require.NoError(t, c.Until(ctx, "three redials from n1 to n2 refused", func() string {
		if n := refused.Load() - before; n < 3 {
			return fmt.Sprintf("%d refused so far", n)
		}
		return ""
	}))
	require.True(t, stopped(c, 0, 1))
	_, err := c.Node(0).Call(ctx, c.Name(1), "echo", nil)
	require.ErrorIs(t, err, mesh.ErrNodeDown)

	c.Heal(0, 1)
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
}

func TestBlackholeSilentSideDetectedByHeartbeat(t *testing.T) {
	c := meshtest.Formed(t, 2, nil) // heartbeat 100 ms, timeout 600 ms
	ctx := testnet.Context(t, 15*time.Second)
	s0 := c.Node(0).Subscribe()
	defer s0.Close()

	c.Blackhole(1, 0) // what n2 sends n1 vanishes; no FIN, no RST
	t0 := time.Now()
	ev := downEvent(t, s0, c.Name(1), 5*time.Second)
	took := ev.Time.Sub(t0)
	require.Contains(t, ev.Reason, "heartbeat")
	require.GreaterOrEqual(t, took, 400*time.Millisecond, "detected by silence, not by a connection error")
	require.Less(t, took, 3*time.Second)
	t.Logf("blackholed peer detected down after %v (heartbeat timeout 600ms)", took)

	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
}

func TestResetLinkComesBack(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 15*time.Second)
	s0 := c.Node(0).Subscribe()
	defer s0.Close()
	guid := c.Node(1).GUID()

	c.Reset(0, 1)
	ev := downEvent(t, s0, c.Name(1), 5*time.Second)
	require.Equal(t, guid, ev.GUID)
	// Reset is a one-time event: the redial succeeds without any heal, and
	// since n2 kept running (same GUID) the reconnect is a partition.
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.Wait(ctx, "partition recorded on n1", func() bool {
		return slices.Equal(c.Node(0).Info().Partitions, c.Names(1))
	}))
	require.Equal(t, guid, c.Node(1).GUID())
	_, err := c.Node(0).Ping(ctx, c.Name(1))
	require.NoError(t, err)
}

func TestDelayCallTakesAtLeastTheDelay(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 15*time.Second)
	require.NoError(t, c.Node(1).Handle("echo", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		return p, nil
	}))
	const d = 200 * time.Millisecond
	c.Delay(1, 0, d) // replies from n2 to n1 are held for d

	t0 := time.Now()
	reply, err := c.Node(0).Call(ctx, c.Name(1), "echo", []byte("slow"))
	took := time.Since(t0)
	require.NoError(t, err)
	require.Equal(t, "slow", string(reply))
	require.GreaterOrEqual(t, took, d)

	c.Heal(0, 1)
	t0 = time.Now()
	_, err = c.Node(0).Call(ctx, c.Name(1), "echo", []byte("fast"))
	require.NoError(t, err)
	require.Less(t, time.Since(t0), d, "heal removes the delay")
}

func TestIsolate(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	c.Isolate(2)
	require.NoError(t, c.WaitRunning(ctx, 2))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.Equal(t, c.Names(0, 1), c.Node(2).Info().StoppedNodes)

	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
}

func TestPartitionAndHealAll(t *testing.T) {
	c := meshtest.Formed(t, 4, nil)
	ctx := testnet.Context(t, 20*time.Second)
	c.Partition([]int{0, 1}, []int{2, 3})
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.WaitRunning(ctx, 2, 3))
	for i := range 4 {
		require.Len(t, c.Node(i).Info().StoppedNodes, 2, "%s", c.Name(i))
	}

	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2, 3))
	require.NoError(t, c.Wait(ctx, "every node records the other side as partitioned", func() bool {
		return slices.Equal(c.Node(0).Info().Partitions, c.Names(2, 3)) &&
			slices.Equal(c.Node(1).Info().Partitions, c.Names(2, 3)) &&
			slices.Equal(c.Node(2).Info().Partitions, c.Names(0, 1)) &&
			slices.Equal(c.Node(3).Info().Partitions, c.Names(0, 1))
	}))
}

func TestHealOnePairOnly(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	c.Isolate(2)
	require.NoError(t, c.WaitRunning(ctx, 2))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))

	c.Heal(0, 2) // n1-n3 comes back; n2-n3 stays cut
	require.NoError(t, c.Wait(ctx, "n1 and n3 linked again", func() bool {
		return slices.Equal(c.Node(0).Info().RunningNodes, c.Names()) &&
			slices.Equal(c.Node(2).Info().RunningNodes, c.Names(0, 2))
	}))
	require.Equal(t, c.Names(0, 1), c.Node(1).Info().RunningNodes)
	require.True(t, stopped(c, 1, 2))
	require.True(t, stopped(c, 2, 1))

	c.Heal(1, 2)
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
}

func TestKillAndRestartWithANewGUID(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	s0 := c.Node(0).Subscribe()
	defer s0.Close()
	old := c.Node(2).GUID()

	require.NoError(t, c.Kill(ctx, 2))
	require.Nil(t, c.Node(2), "a killed node is nil until restarted")
	require.NoError(t, c.Kill(ctx, 2), "killing a stopped node is a no-op")
	ev := downEvent(t, s0, c.Name(2), 5*time.Second)
	require.Equal(t, old, ev.GUID)
	require.NoError(t, c.WaitRunning(ctx, 0, 1))

	require.NoError(t, c.Restart(ctx, 2))
	nu := c.Node(2).GUID()
	require.NotEqual(t, old, nu)
	require.True(t, mesh.OlderThan(old, nu), "a restarted node is the youngest")
	// The survivors redial the member they lost and find its new incarnation.
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
	for _, m := range c.Node(0).Members() {
		if m.Node == c.Name(2) {
			require.Equal(t, nu, m.GUID)
		}
	}
	require.Empty(t, c.Node(0).Info().Partitions, "a restart is not a partition")

	// Restart also works on a running node: it is killed first.
	require.NoError(t, c.Restart(ctx, 1))
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
}

func TestCallInFlightHeldUntilItsCallerGoes(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx, cancel := context.WithCancel(testnet.Context(t, 10*time.Second))
	call, err := c.CallInFlight(ctx, 0, 1)
	require.NoError(t, err)
	select {
	case err := <-call.Err:
		t.Fatalf("the call ended while in flight: %v", err)
	default:
	}
	cancel()
	require.ErrorIs(t, <-call.Err, context.Canceled, "the caller gave up")
	require.NoError(t, c.Kill(testnet.Context(t, 10*time.Second), 0))
	require.ErrorIs(t, <-call.HandlerDone, context.Canceled, "the handler's context ends when the calling node goes away")

	_, err = c.CallInFlight(testnet.Context(t, 10*time.Second), 0, 1)
	require.ErrorContains(t, err, "both must be running")
}

func TestStopLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ctx := testnet.Context(t, 20*time.Second)
	c, err := meshtest.Start(ctx, 4, nil)
	require.NoError(t, err)
	require.NoError(t, c.FormCluster(ctx))
	// Leave a call in flight, faults in force and one node killed.
	call, err := c.CallInFlight(ctx, 0, 1)
	require.NoError(t, err)
	c.Delay(2, 3, 50*time.Millisecond)
	c.Blackhole(3, 0)
	require.NoError(t, c.Kill(ctx, 2))

	require.NoError(t, c.Stop(ctx))
	require.NoError(t, c.Stop(ctx), "Stop is idempotent")
	err = <-call.Err
	require.Error(t, err)
	require.ErrorIs(t, err, mesh.ErrNodeDown, "the call in flight fails when its node stops")
	goleak.VerifyNone(t, ignore)
}
