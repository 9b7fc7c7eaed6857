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

func linkTo(links []mesh.LinkInfo, peer string) (mesh.LinkInfo, bool) {
	i := slices.IndexFunc(links, func(l mesh.LinkInfo) bool { return l.Peer == peer })
	if i < 0 {
		return mesh.LinkInfo{}, false
	}
	return links[i], true
}

func TestLinksDescribeEachLink(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 30*time.Second)
	n0, n1 := c.Node(0), c.Node(1)
	require.NoError(t, n1.Handle("echo", func(_ context.Context, _ string, p []byte) ([]byte, error) { return p, nil }))
	for range 10 {
		_, err := n0.Call(ctx, n1.Name(), "echo", make([]byte, 100))
		require.NoError(t, err)
	}

	links := n0.Links()
	require.Equal(t, []string{c.Name(1), c.Name(2)}, []string{links[0].Peer, links[1].Peer}, "sorted by peer")
	for _, l := range links {
		require.NotEmpty(t, l.Addr)
		require.False(t, l.Since.IsZero())
		require.False(t, l.Since.After(time.Now()))
		require.Len(t, l.Lanes, 3)
		require.Equal(t, []string{"control", "data", "large"}, []string{l.Lanes[0].Lane, l.Lanes[1].Lane, l.Lanes[2].Lane})
		back, ok := linkTo(c.Node(slices.Index(c.Names(), l.Peer)).Links(), n0.Name())
		require.True(t, ok)
		require.NotEqual(t, l.Dialed, back.Dialed, "one end of a link dialed it, the other accepted it")
	}
	require.NoError(t, c.Wait(ctx, "the data lane's counts to agree at both ends", func() bool {
		mine, _ := linkTo(n0.Links(), n1.Name())
		theirs, _ := linkTo(n1.Links(), n0.Name())
		d, e := mine.Lanes[1], theirs.Lanes[1]
		return d.FramesSent >= 10 && d.FramesReceived >= 10 && d.BytesSent > 10*100 &&
			d.BytesSent == e.BytesReceived && d.FramesSent == e.FramesReceived &&
			d.BytesReceived == e.BytesSent && d.FramesReceived == e.FramesSent
	}))
	require.NoError(t, c.Wait(ctx, "a heartbeat round trip to be measured on every link", func() bool {
		for _, l := range n0.Links() {
			if l.RTT <= 0 || l.RTT > 10*time.Second {
				return false
			}
		}
		return true
	}))

	b, err := json.Marshal(links[0])
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(b, &fields))
	for _, k := range []string{"peer", "addr", "dialed", "since", "rtt_ns", "lanes"} {
		require.Contains(t, fields, k)
	}

	// A link that is gone is not listed.
	require.NoError(t, c.Kill(ctx, 2))
	require.NoError(t, c.Wait(ctx, "n1 to drop the link to n3", func() bool { return len(n0.Links()) == 1 }))
	require.Equal(t, c.Name(1), n0.Links()[0].Peer)
}

func TestStatsCountDiscoveryPasses(t *testing.T) {
	f := &fakeDiscovery{discover: func(call int) ([]string, error) {
		switch call {
		case 1:
			return nil, errors.New("discovery backend unavailable")
		case 2:
			return nil, nil
		case 3:
			return []string{"solo1@127.0.0.1"}, nil
		}
		return []string{"solo1@127.0.0.1", "ghost1@127.0.0.1"}, nil // never reachable
	}}
	nd := startWithDiscovery(t, f)
	defer nd.Stop(context.Background())
	require.Eventually(t, func() bool { return nd.Stats().Discovery["unreachable"] >= 1 }, 20*time.Second, 5*time.Millisecond)
	st := nd.Stats()
	require.Equal(t, uint64(1), st.Discovery["error"])
	require.Equal(t, uint64(2), st.Discovery["alone"])
	require.Zero(t, st.Discovery["ok"])
	require.Equal(t, 2, st.Discovered, "the last pass found this node and the ghost")
}

func TestStatsWithoutDiscovery(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	st := c.Node(0).Stats()
	require.Equal(t, -1, st.Discovered)
	require.Zero(t, st.Discovery["ok"]+st.Discovery["error"]+st.Discovery["alone"]+st.Discovery["unreachable"])
	require.Len(t, st.CallErrors, len(mesh.CallErrorKinds))
	require.Empty(t, c.Node(0).Links())
}
