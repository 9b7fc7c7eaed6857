package mesh_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// statusOn returns the status node on sees member with.
func statusOn(on *mesh.Node, member string) mesh.Status {
	for _, m := range on.Members() {
		if m.Node == member {
			return m.Status
		}
	}
	return 0
}

// splitAndRestore cuts {0,1} from {2}, waits until each side runs alone,
// restores the network and waits until every node records the partition.
func splitAndRestore(t *testing.T, c *meshtest.Cluster) {
	t.Helper()
	ctx := testnet.Context(t, 20*time.Second)
	c.Partition([]int{0, 1}, []int{2})
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.WaitRunning(ctx, 2))
	c.HealAll()
	require.NoError(t, c.Wait(ctx, "every side to record the partition", func() bool {
		return slices.Equal(c.Node(0).Info().Partitions, c.Names(2)) &&
			slices.Equal(c.Node(1).Info().Partitions, c.Names(2)) &&
			slices.Equal(c.Node(2).Info().Partitions, c.Names(0, 1))
	}))
}

// requireHealed checks that every node runs with all and records no partition.
func requireHealed(t *testing.T, c *meshtest.Cluster) {
	t.Helper()
	ctx := testnet.Context(t, 20*time.Second)
	all := make([]int, c.Len())
	for i := range all {
		all[i] = i
	}
	require.NoError(t, c.WaitRunning(ctx, all...))
	require.NoError(t, c.Wait(ctx, "no partition recorded anywhere", func() bool {
		for i := range all {
			if len(c.Node(i).Info().Partitions) != 0 {
				return false
			}
		}
		return true
	}))
}

func TestSetStatus(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	sub := c.Node(1).Subscribe()
	defer sub.Close()
	a := c.Node(0)
	require.Equal(t, mesh.StatusUp, a.Status())

	require.NoError(t, a.SetStatus(mesh.StatusHealing))
	require.Equal(t, mesh.StatusHealing, a.Status())
	nextEvent(t, sub, mesh.EventNodeHealing, c.Name(0), 10*time.Second)
	require.Equal(t, mesh.StatusHealing, statusOn(c.Node(1), c.Name(0)))
	require.Equal(t, c.Names(), c.Node(1).Info().RunningNodes, "a healing member still runs")

	require.NoError(t, a.SetStatus(mesh.StatusJoining))
	nextEvent(t, sub, mesh.EventNodeJoining, c.Name(0), 10*time.Second)
	require.NoError(t, a.SetStatus(mesh.StatusUp))
	nextEvent(t, sub, mesh.EventNodeUp, c.Name(0), 10*time.Second)
	require.Equal(t, mesh.StatusUp, statusOn(c.Node(1), c.Name(0)))

	for _, s := range []mesh.Status{mesh.StatusLeaving, mesh.StatusDown, 0, 9} {
		err := a.SetStatus(s)
		require.Error(t, err, "%v", s)
		require.Contains(t, err.Error(), "want joining, up or healing")
	}
	require.Equal(t, mesh.StatusUp, a.Status())

	ctx := testnet.Context(t, 10*time.Second)
	require.NoError(t, c.Kill(ctx, 0))
	require.ErrorIs(t, a.SetStatus(mesh.StatusUp), mesh.ErrStopped)
}

func TestRejoinHealsAPartition(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	splitAndRestore(t, c)
	subs := []*mesh.Subscription{c.Node(0).Subscribe(), c.Node(1).Subscribe()}
	for _, s := range subs {
		defer s.Close()
	}
	victim := c.Node(2)
	guid := victim.GUID()
	vsub := victim.Subscribe()
	defer vsub.Close()

	ctx := testnet.Context(t, 20*time.Second)
	require.NoError(t, victim.Rejoin(ctx, c.Name(0)))
	for i := 0; i < 2; i++ {
		ev := nextEvent(t, vsub, mesh.EventPartitionHealed, c.Name(i), 10*time.Second)
		require.Contains(t, ev.Reason, "rejoins the cluster of "+c.Name(0))
	}

	require.Equal(t, mesh.StatusHealing, victim.Status(), "Rejoin leaves the node healing")
	require.Empty(t, victim.Info().Partitions)
	require.Equal(t, guid, victim.GUID(), "a rejoin is no restart")
	for i, s := range subs {
		ev := nextEvent(t, s, mesh.EventPartitionHealed, c.Name(2), 10*time.Second)
		require.Equal(t, guid, ev.GUID, "on %s", c.Name(i))
		require.Empty(t, c.Node(i).Info().Partitions, "on %s", c.Name(i))
	}
	require.NoError(t, c.Wait(ctx, "the victim to show healing everywhere", func() bool {
		return statusOn(c.Node(0), c.Name(2)) == mesh.StatusHealing && statusOn(c.Node(1), c.Name(2)) == mesh.StatusHealing
	}))
	require.NoError(t, victim.SetStatus(mesh.StatusUp))
	requireHealed(t, c)
	require.NoError(t, c.Wait(ctx, "the victim up everywhere", func() bool {
		return statusOn(c.Node(0), c.Name(2)) == mesh.StatusUp && statusOn(c.Node(1), c.Name(2)) == mesh.StatusUp
	}))
	// The heal records no new partition: the victim went down while healing.
	// Three heartbeats on every link give a late one its chance.
	require.NoError(t, c.WaitHeartbeats(ctx, 3))
	for i := 0; i < 3; i++ {
		require.Empty(t, c.Node(i).Info().Partitions, "on %s", c.Name(i))
	}
	reply, err := c.Node(0).Call(ctx, c.Name(2), mesh.MethodPong, nil)
	require.NoError(t, err)
	require.Equal(t, "pong", string(reply))
}

func TestJoinHealsARecordedPartitionByHand(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	splitAndRestore(t, c)
	ctx := testnet.Context(t, 20*time.Second)
	require.NoError(t, c.Node(2).Join(ctx, c.Name(0)))
	require.Equal(t, mesh.StatusUp, c.Node(2).Status())
	requireHealed(t, c)
	require.NoError(t, c.Wait(ctx, "the healed node up everywhere", func() bool {
		return statusOn(c.Node(0), c.Name(2)) == mesh.StatusUp && statusOn(c.Node(1), c.Name(2)) == mesh.StatusUp
	}))
}

func TestJoinWithoutPartitionDropsNothing(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	sub := c.Node(0).Subscribe()
	defer sub.Close()
	ctx := testnet.Context(t, 10*time.Second)
	require.ErrorIs(t, c.Node(2).Join(ctx, c.Name(1)), mesh.ErrAlreadyInCluster)
	select {
	case ev := <-sub.C():
		t.Fatalf("joining a member already linked must change nothing; %s saw %s %s (%s)", c.Name(0), ev.Kind, ev.Node, ev.Reason)
	case <-time.After(300 * time.Millisecond):
	}
	require.Equal(t, c.Names(), c.Node(2).Info().RunningNodes)
}

func TestRejoinErrors(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	a := c.Node(0)
	ctx := testnet.Context(t, 10*time.Second)

	err := a.Rejoin(ctx, c.Name(0))
	require.ErrorContains(t, err, "a node cannot rejoin itself")
	err = a.Rejoin(ctx, "no-host")
	require.ErrorIs(t, err, mesh.ErrUnknownNode)
	done, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, a.Rejoin(done, c.Name(1)), context.Canceled)
	require.Equal(t, c.Names(), a.Info().RunningNodes, "a Rejoin refused up front drops nothing")

	// The coordinator cannot be reached: Rejoin gives up with ctx, and the
	// node comes back once the network does (its peer redials it).
	c.Isolate(0)
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	err = a.Rejoin(short, c.Name(1))
	cancelShort()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "mesh: rejoin "+c.Name(1))
	require.Equal(t, []string{c.Name(0)}, a.Info().RunningNodes)
	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx, 0, 1))

	require.NoError(t, c.Kill(ctx, 0))
	require.ErrorIs(t, a.Rejoin(ctx, c.Name(1)), mesh.ErrStopped)
}

func TestClearPartitionBuiltin(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	splitAndRestore(t, c)
	ctx := testnet.Context(t, 10*time.Second)
	body, err := json.Marshal(mesh.AdminRequest{Node: c.Name(2)})
	require.NoError(t, err)
	_, err = c.Node(2).Call(ctx, c.Name(0), mesh.MethodClearPartition, body)
	require.NoError(t, err)
	require.Empty(t, c.Node(0).Info().Partitions)
	_, err = c.Node(2).Call(ctx, c.Name(0), mesh.MethodClearPartition, body)
	require.NoError(t, err, "clearing what is not recorded is no error")

	_, err = c.Node(2).Call(ctx, c.Name(1), mesh.MethodClearPartition, []byte(`{}`))
	var re *mesh.RemoteError
	require.True(t, errors.As(err, &re), "%v", err)
	require.ErrorContains(t, err, `"node" is empty`)
	require.Equal(t, c.Names(2), c.Node(1).Info().Partitions, "a bad request clears nothing")
	require.Error(t, c.Node(0).Handle(mesh.MethodClearPartition, nil), "the method is reserved")
}
