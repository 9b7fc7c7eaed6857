package mesh_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// TestSuspendRefusesCallsUntilResume: a suspended node answers calls to its
// methods, from a peer and from itself, with ErrSuspended and the reason,
// drops casts, still serves the built-in methods, keeps its links, reports
// the reason in Info and publishes suspended and resumed events; once
// resumed it serves again.
func TestSuspendRefusesCallsUntilResume(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 20*time.Second)
	b := c.Node(1)
	casts := make(chan string, 4)
	require.NoError(t, b.Handle("echo", func(_ context.Context, _ string, p []byte) ([]byte, error) {
		casts <- string(p)
		return p, nil
	}))
	sub := b.Subscribe()
	defer sub.Close()

	require.Error(t, b.Suspend("  "), "an empty reason is refused")
	require.NoError(t, b.Suspend("keep-majority: this side has 1 of 3 members"))
	reason, ok := b.Suspended()
	require.True(t, ok)
	require.Equal(t, "keep-majority: this side has 1 of 3 members", reason)
	require.Equal(t, reason, b.Info().Suspended)

	_, err := c.Node(0).Call(ctx, c.Name(1), "echo", []byte("x"))
	require.ErrorIs(t, err, mesh.ErrSuspended)
	require.ErrorContains(t, err, "1 of 3 members")
	_, err = b.Call(ctx, c.Name(1), "echo", []byte("x"))
	require.ErrorIs(t, err, mesh.ErrSuspended, "a call to itself is refused too")
	require.NoError(t, c.Node(0).Cast(c.Name(1), "echo", []byte("dropped")))
	_, err = c.Node(0).Call(ctx, c.Name(1), mesh.MethodInfo, nil)
	require.NoError(t, err, "built-in methods are still served")
	require.Equal(t, []string{c.Name(0)}, c.Node(0).Info().RunningNodes[:1])
	require.Len(t, b.Info().RunningNodes, 2, "the links stay up")
	require.NoError(t, c.Until(ctx, "the cast to be counted as refused", func() string {
		if b.Stats().CallsSuspended < 3 {
			return "fewer than 3 refusals counted"
		}
		return ""
	}))

	require.NoError(t, b.Resume("the split healed"))
	_, ok = b.Suspended()
	require.False(t, ok)
	reply, err := c.Node(0).Call(ctx, c.Name(1), "echo", []byte("y"))
	require.NoError(t, err)
	require.Equal(t, "y", string(reply))
	require.Equal(t, "y", <-casts, "the dropped cast never ran")

	var kinds []mesh.EventKind
	for len(kinds) < 2 {
		select {
		case ev := <-sub.C():
			if ev.Kind == mesh.EventSuspended || ev.Kind == mesh.EventResumed {
				require.Equal(t, c.Name(1), ev.Node)
				kinds = append(kinds, ev.Kind)
			}
		case <-ctx.Done():
			t.Fatalf("events seen: %v; want suspended then resumed", kinds)
		}
	}
	require.Equal(t, []mesh.EventKind{mesh.EventSuspended, mesh.EventResumed}, kinds)
	require.NoError(t, c.Stop(ctx))
	require.True(t, errors.Is(b.Suspend("late"), mesh.ErrStopped))
}
