package mesh_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/discovery/singleton"
	"github.com/ekka-mesh/ekka-mesh/discovery/static"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// TestSingletonNeverJoins checks ekka's singleton strategy: node 0 runs
// it. Its own Join fails with ErrSingleton; node 1's Join of it fails at
// once (not by running out of time) with the singleton's reason; node 2,
// whose static seeds name node 0, links to node 1 but never to node 0; and
// node 0 stays alone, running no autocluster pass.
func TestSingletonNeverJoins(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	c, err := meshtest.Start(ctx, 3, func(i int, cfg *mesh.Config) {
		switch i {
		case 0:
			cfg.Discovery = singleton.New()
			cfg.AutoclusterInterval = 50 * time.Millisecond
		case 2:
			d, err := static.New([]string{meshtest.Name(0), meshtest.Name(1)})
			require.NoError(t, err)
			cfg.Discovery, cfg.AutoclusterInterval = d, 50*time.Millisecond
		}
	})
	require.NoError(t, err)
	defer c.Stop(context.Background())
	single, other := c.Node(0), c.Node(1)

	err = single.Join(ctx, c.Name(1))
	require.ErrorIs(t, err, mesh.ErrSingleton)
	require.EqualError(t, err, "mesh: join "+c.Name(1)+": singleton node: it never joins a cluster: "+c.Name(0)+" runs the singleton discovery strategy (cluster.discovery = singleton)")

	err = other.Join(ctx, c.Name(0))
	require.ErrorIs(t, err, conn.ErrRefused)
	require.NoError(t, ctx.Err(), "Join gave up on the refusal, not on its deadline")
	require.ErrorContains(t, err, "mesh: join "+c.Name(0)+": handshake refused by peer (refused)")
	require.ErrorContains(t, err, "node "+c.Name(0)+" is a singleton (discovery strategy singleton, cluster.discovery = singleton): it never joins a cluster and accepts no members")

	// Node 2's autocluster links it to node 1 and keeps failing on node 0.
	require.NoError(t, c.Until(ctx, "node 2 linked to node 1 and failed on node 0 twice", func() string {
		info, st := c.Node(2).Info(), c.Node(2).Stats()
		if len(info.RunningNodes) != 2 || st.Discovery["unreachable"] < 2 {
			return fmt.Sprintf("node 2 runs with %v; passes %v", info.RunningNodes, st.Discovery)
		}
		return ""
	}))
	info := single.Info()
	require.Equal(t, []string{c.Name(0)}, info.RunningNodes)
	require.Empty(t, info.StoppedNodes)
	require.Len(t, info.Members, 1)
	for _, n := range []int{1, 2} {
		for _, m := range c.Node(n).Info().Members {
			require.NotEqual(t, c.Name(0), m.Node, "%s lists the singleton as a member", c.Name(n))
		}
	}
	st := single.Stats()
	for result, passes := range st.Discovery {
		require.Zero(t, passes, "the singleton ran an autocluster pass (%s)", result)
	}
}
