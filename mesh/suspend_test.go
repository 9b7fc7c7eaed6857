package mesh_test

import (
	"context"
	"errors"
	"fmt"
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

// suspendedAs reports "" once node i's member table shows member's
// suspension reason as want ("" for serving), else what it shows.
func suspendedAs(c *meshtest.Cluster, i int, member, want string) func() string {
	return func() string {
		for _, m := range c.Node(i).Members() {
			if m.Node == member {
				if m.Suspended == want {
					return ""
				}
				return fmt.Sprintf("%s sees %s suspended %q, want %q", c.Name(i), member, m.Suspended, want)
			}
		}
		return fmt.Sprintf("%s has no member %s", c.Name(i), member)
	}
}

// TestMembersSeeASuspension: every member's table shows a suspended node
// and why (MemberInfo.Suspended, in Info and ctl status), the node's own
// entry included; a resume clears it everywhere, a member cut off while
// the node resumed learns it when the link comes back, and a control
// character in a peer's reason is not recorded as it is.
func TestMembersSeeASuspension(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 30*time.Second)
	why := "keep-majority: this side has 1 of 3 members"
	require.NoError(t, c.Node(2).Suspend(why))
	for i := range 3 {
		require.NoError(t, c.Until(ctx, "the suspension to show", suspendedAs(c, i, c.Name(2), why)))
	}
	for _, m := range c.Node(0).Info().Members {
		if m.Node != c.Name(2) {
			require.Empty(t, m.Suspended, "%s serves", m.Node)
		}
	}
	require.Equal(t, why, c.Node(0).Report(c.Name(2)).Suspended, "ctl status NODE")

	sub := c.Node(0).Subscribe()
	defer sub.Close()
	c.Cut(0, 2)
	nextEvent(t, sub, mesh.EventNodeDown, c.Name(2), 20*time.Second)
	require.NoError(t, c.Node(2).Resume("the split healed"))
	require.NoError(t, c.Until(ctx, "n2 to see the resume", suspendedAs(c, 1, c.Name(2), "")))
	require.NoError(t, c.Until(ctx, "n3's own entry to clear", suspendedAs(c, 2, c.Name(2), "")))
	require.Empty(t, suspendedAs(c, 0, c.Name(2), why)(), "n1, cut off, still holds the suspension")
	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx), "the link back after the cut")
	require.NoError(t, c.Until(ctx, "n1 to learn the resume over the new link", suspendedAs(c, 0, c.Name(2), "")))

	require.NoError(t, c.Node(1).Suspend("down-all: \x1b[31mred\x1b[0m"))
	require.NoError(t, c.Until(ctx, "a reason with control characters", suspendedAs(c, 0, c.Name(1), "down-all: ?[31mred?[0m")))
}
