package autoheal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
)

// Status and Stats follow a heal: the victim shows healing while its
// prepare hook runs, and each node tells how its part of the round ended.
func TestStatusFollowsAHeal(t *testing.T) {
	inPrepare := make(chan struct{})
	release := make(chan struct{})
	hc := startHealing(t, 3, func(i int, name string, cfg *autoheal.Config) {
		if i != 2 {
			return
		}
		cfg.Hooks.Prepare = func(ctx context.Context, reason string) error {
			close(inPrepare)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	for i, ah := range hc.ahs {
		st := ah.Status()
		require.False(t, st.Healing, hc.Name(i))
		require.Zero(t, st.Round)
		require.Empty(t, st.LastRound)
		require.True(t, st.LastHeal.IsZero())
		require.Empty(t, st.LastResult)
		require.Empty(t, st.Partitions)
	}
	require.NoError(t, hc.Wait(ctx, "every node to name the same leader", func() bool {
		l := hc.ahs[0].Status().Leader
		return l != "" && l == hc.ahs[1].Status().Leader && l == hc.ahs[2].Status().Leader
	}))

	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	select {
	case <-inPrepare:
	case <-ctx.Done():
		t.Fatal("the victim never started healing")
	}
	victim := hc.ahs[2]
	st := victim.Status()
	require.True(t, st.Healing, "the victim heals")
	require.True(t, victim.Stats().Healing)
	require.NotEmpty(t, st.Partitions, "the victim still records the partition")
	require.NotZero(t, st.Round)
	require.True(t, strings.HasPrefix(st.LastRound, st.Leader+"#"), "round %q is named after the leader %q", st.LastRound, st.Leader)
	close(release)
	hc.waitHealed(t)

	require.NoError(t, hc.Wait(ctx, "the victim to record its heal", func() bool { return victim.Stats().Healed == 1 }))
	st = victim.Status()
	require.False(t, st.Healing)
	require.Empty(t, st.Partitions)
	require.False(t, st.LastHeal.IsZero())
	require.Contains(t, st.LastResult, "rejoined the cluster of")
	vs := victim.Stats()
	require.Equal(t, uint64(1), vs.Rounds)
	require.Zero(t, vs.HealFailed)

	// The coordinator learns the victim's outcome when it next polls it.
	require.NoError(t, hc.Wait(ctx, "one of the majority to record the heal it coordinated", func() bool {
		return hc.ahs[0].Stats().Coordinated+hc.ahs[1].Stats().Coordinated == 1
	}))

	b, err := json.Marshal(st)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(b, &fields))
	for _, k := range []string{"leader", "healing", "round", "last_round", "partitions", "last_heal", "last_result"} {
		require.Contains(t, fields, k)
	}
}
