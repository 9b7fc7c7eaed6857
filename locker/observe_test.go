package locker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Held lists the grants of this node's table, sorted, and leaves out those
// whose lease has run out before the sweep drops them; Stats counts the
// table's answers and the lockers' outcomes.
func TestHeldAndStats(t *testing.T) {
	lc := startLockCluster(t, 2, Config{SweepInterval: time.Hour}, nil)
	l0, l1 := lc.locker(0), lc.locker(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.Empty(t, l0.Held())

	for _, r := range []string{"zebra", "apple", "mango"} {
		res, err := l0.Acquire(ctx, r, Options{Type: Local})
		require.NoError(t, err)
		require.True(t, res.OK)
	}
	brief, err := l0.Acquire(ctx, "brief", Options{Type: Local, Lease: time.Millisecond})
	require.NoError(t, err)
	require.True(t, brief.OK)
	require.Eventually(t, func() bool { return len(l0.Held()) == 3 }, 5*time.Second, time.Millisecond,
		"the brief grant is not held once its lease ran out")
	held := l0.Held()
	require.Equal(t, []string{"apple", "mango", "zebra"}, []string{held[0].Resource, held[1].Resource, held[2].Resource})
	for _, h := range held {
		require.Equal(t, l0.Owner(), h.Owner)
		require.NotZero(t, h.Token)
		require.True(t, h.Expires.After(time.Now()))
	}
	require.Empty(t, l1.Held(), "local locks are in n1's table only")

	// Another owner is refused by n1's table.
	res, err := l0.Acquire(ctx, "apple", Options{Type: Local, Owner: "someone-else"})
	require.NoError(t, err)
	require.False(t, res.OK)

	st := l0.Stats()
	require.Equal(t, uint64(4), st.Granted)
	require.Equal(t, uint64(1), st.Refused)
	require.Equal(t, 3, st.Held)
	require.LessOrEqual(t, st.Expired, uint64(1))
	require.Eventually(t, func() bool { return l0.Stats().Expired == 1 }, 5*time.Second, time.Millisecond,
		"the sweep counts the brief grant as expired")
	count := func(op, result string) uint64 {
		for _, tc := range st.Table {
			if tc.Op == op && tc.Result == result {
				return tc.Count
			}
		}
		t.Fatalf("no count for %s/%s in %v", op, result, st.Table)
		return 0
	}
	require.Equal(t, uint64(4), count("acquire", "granted"))
	require.Equal(t, uint64(1), count("acquire", "refused"))
	require.Zero(t, count("release", "released"))
	require.Len(t, st.Table, 4*6, "every request and result is present")

	rel, err := l0.Release(ctx, "mango", Options{Type: Local})
	require.NoError(t, err)
	require.True(t, rel.OK)
	require.Len(t, l0.Held(), 2)
	require.Equal(t, uint64(1), l0.Stats().Table[2*6+int(stReleased)].Count, "release/released")
}
