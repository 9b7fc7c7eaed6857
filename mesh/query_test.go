package mesh_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

const ghost = "ghost@127.0.0.1"

// ClusterStatus, IsMember, NodeList and Report answer like ekka's status/1,
// is_member/1 and nodelist/0,1, from the node's own member table: running,
// then stopped once a member is killed, and not a member for a stranger.
func TestClusterStatusIsMemberNodeList(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 15*time.Second)
	n := c.Node(0)
	all := c.Names(0, 1, 2)

	for _, name := range all {
		require.Equal(t, mesh.NodeRunning, n.ClusterStatus(name), "%s", name)
		require.True(t, n.IsMember(name), "%s", name)
	}
	require.Equal(t, mesh.NodeNotMember, n.ClusterStatus(ghost))
	require.False(t, n.IsMember(ghost))
	require.Equal(t, mesh.NodeNotMember, n.ClusterStatus("not a name"))
	require.Equal(t, all, n.NodeList())
	require.Equal(t, all, n.NodeList(mesh.StatusUp))
	require.Equal(t, []string{}, n.NodeList(mesh.StatusDown))

	killed := c.Node(2).GUID()
	require.NoError(t, c.Kill(ctx, 2))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.Equal(t, mesh.NodeStopped, n.ClusterStatus(c.Name(2)))
	require.True(t, n.IsMember(c.Name(2)), "a member that is down is still a member")
	require.Equal(t, all, n.NodeList())
	require.Equal(t, c.Names(0, 1), n.NodeList(mesh.StatusUp))
	require.Equal(t, c.Names(2), n.NodeList(mesh.StatusDown))
	require.Equal(t, all, n.NodeList(mesh.StatusUp, mesh.StatusDown))

	r := n.Report(c.Name(2))
	require.Equal(t, c.Name(2), r.Node)
	require.Equal(t, c.Name(0), r.SeenFrom)
	require.Equal(t, mesh.NodeStopped, r.Status)
	require.Equal(t, mesh.StatusDown, r.MemberStatus)
	require.Equal(t, killed, r.GUID)
	require.False(t, r.Since.IsZero(), "a member's report says since when: %+v", r)
	require.False(t, r.Partitioned)

	self := n.Report(c.Name(0))
	require.Equal(t, mesh.NodeRunning, self.Status)
	require.Equal(t, mesh.StatusUp, self.MemberStatus)
	require.Equal(t, n.GUID(), self.GUID)

	// A stranger's report is its name, who answered and "not a member".
	b, err := json.Marshal(n.Report(ghost))
	require.NoError(t, err)
	require.JSONEq(t, `{"node":"`+ghost+`","seen_from":"`+c.Name(0)+`","status":"not a member"}`, string(b))
	var back mesh.NodeReport
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, n.Report(ghost), back, "round trip")
}

func TestNodeStatusText(t *testing.T) {
	for s, name := range map[mesh.NodeStatus]string{mesh.NodeRunning: "running", mesh.NodeStopped: "stopped", mesh.NodeNotMember: "not a member"} {
		require.Equal(t, name, s.String())
		b, err := s.MarshalText()
		require.NoError(t, err)
		require.Equal(t, name, string(b))
		var back mesh.NodeStatus
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, s, back)
	}
	require.Equal(t, "node-status(9)", mesh.NodeStatus(9).String())
	_, err := mesh.NodeStatus(9).MarshalText()
	require.ErrorContains(t, err, "want 0..2")
	_, err = mesh.ParseNodeStatus("up")
	require.ErrorContains(t, err, `node status "up": want one of running, stopped, not a member`)
}

// Joining a node of one's own cluster answers ErrAlreadyInCluster, naming
// both nodes and what to do, and changes nothing; the same reaches a client
// of the built-in method as an error that matches it.
func TestJoinAlreadyInCluster(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 15*time.Second)
	err := c.Node(1).Join(ctx, c.Name(0))
	require.ErrorIs(t, err, mesh.ErrAlreadyInCluster)
	require.EqualError(t, err, "mesh: join "+c.Name(0)+": already in the cluster: "+c.Name(1)+
		" runs with it already, there is nothing to join (to join another cluster, leave this one first)")
	require.Equal(t, mesh.StatusUp, c.Node(1).Status(), "the failed join announced nothing")
	require.NoError(t, c.WaitRunning(ctx, 0, 1))

	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: c.Config(1).Cookie, Addr: c.Node(1).Addr().String()}, c.Name(1))
	require.NoError(t, err)
	defer cl.Close()
	_, err = cl.Admin(ctx, mesh.MethodJoin, mesh.AdminRequest{Node: c.Name(0)})
	require.ErrorIs(t, err, mesh.ErrAlreadyInCluster)
	var re *mesh.RemoteError
	require.ErrorAs(t, err, &re)
	require.Contains(t, re.Message, "already in the cluster")

	// $ekka.status answers as Report does.
	raw, err := cl.Admin(ctx, mesh.MethodStatus, mesh.AdminRequest{Node: c.Name(0)})
	require.NoError(t, err)
	var r mesh.NodeReport
	require.NoError(t, json.Unmarshal(raw, &r))
	require.Equal(t, mesh.NodeRunning, r.Status)
	require.Equal(t, c.Name(1), r.SeenFrom)
	require.Equal(t, c.Node(0).GUID(), r.GUID)
	_, err = cl.Admin(ctx, mesh.MethodStatus, mesh.AdminRequest{})
	require.ErrorContains(t, err, `"node" is empty`)
}

// Joining a member this node records down is no "already in the cluster":
// it dials the member until the link is back.
func TestJoinMemberThatIsDown(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 20*time.Second)
	c.Cut(0, 1)
	require.NoError(t, c.WaitRunning(ctx, 0))
	require.Equal(t, mesh.NodeStopped, c.Node(0).ClusterStatus(c.Name(1)))
	joined := make(chan error, 1)
	go func() { joined <- c.Node(0).Join(ctx, c.Name(1)) }()
	require.NoError(t, c.Wait(ctx, "the join under way", func() bool { return c.Node(0).Status() == mesh.StatusJoining }))
	c.HealAll()
	require.NoError(t, <-joined)
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
}

// Leave on a node with no other member answers ErrNotInCluster and changes
// nothing; a node that left is alone, so a second Leave answers the same.
func TestLeaveNotInCluster(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 15*time.Second)
	require.NoError(t, c.Node(1).Leave(ctx))
	err := c.Node(1).Leave(ctx)
	require.ErrorIs(t, err, mesh.ErrNotInCluster)
	require.EqualError(t, err, "mesh: leave "+c.Name(1)+": not in a cluster: it has no other member, there is nothing to leave (join a node to form a cluster)")
	require.Equal(t, mesh.StatusUp, c.Node(1).Status(), "the refused leave announced nothing")

	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: c.Config(1).Cookie, Addr: c.Node(1).Addr().String()}, c.Name(1))
	require.NoError(t, err)
	defer cl.Close()
	_, err = cl.Admin(ctx, mesh.MethodLeave, mesh.AdminRequest{})
	require.ErrorIs(t, err, mesh.ErrNotInCluster)
	require.False(t, errors.Is(err, mesh.ErrAlreadyInCluster))

	// Alone, it joins again as before.
	require.NoError(t, c.Node(1).Join(ctx, c.Name(0)))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
}

// A node that never joined is alone from the start.
func TestLeaveNeverJoined(t *testing.T) {
	c := meshtest.Started(t, 1, nil)
	err := c.Node(0).Leave(testnet.Context(t, 5*time.Second))
	require.ErrorIs(t, err, mesh.ErrNotInCluster)
}
