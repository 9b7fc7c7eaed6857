package autoheal_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
)

// TestHealTime measures, for 3, 5 and 10 nodes split into a majority and a
// minority, the time from the network being restored to a single cluster
// (every node running with every other, every member up, no partition
// recorded), beside the configured delay. Run it with
//
//	go test -run TestHealTime -v ./autoheal/
func TestHealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("measures heals of 3, 5 and 10 nodes")
	}
	const delay = time.Second
	const reps = 3
	for _, n := range []int{3, 5, 10} {
		minority := (n - 1) / 2
		var linksBack, healed []time.Duration
		for range reps {
			hc := startHealing(t, n, func(_ int, _ string, cfg *autoheal.Config) { cfg.Delay = delay })
			big, small := idx(n)[:n-minority], idx(n)[n-minority:]
			hc.Partition(big, small)
			hc.waitSplit(t, big, small)
			t0 := time.Now()
			hc.HealAll()
			ctx, cancel := context.WithTimeout(context.Background(), healWait)
			require.NoError(t, hc.WaitRunning(ctx, idx(n)...))
			cancel()
			linksBack = append(linksBack, time.Since(t0))
			hc.waitHealed(t)
			healed = append(healed, time.Since(t0))
			hc.requireHooksOn(t, small...)
			for _, ah := range hc.ahs {
				ah.Close()
			}
			hc.ahs = nil
			ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
			require.NoError(t, hc.Stop(ctx))
			cancel()
		}
		slices.Sort(healed)
		slices.Sort(linksBack)
		med := healed[len(healed)/2]
		t.Logf("%2d nodes, split %d|%d, delay %v: one cluster %v after the network was restored (median of %d; min %v, max %v) = delay + %v; links back after %v (median)",
			n, n-minority, minority, delay, med.Round(time.Millisecond), reps, healed[0].Round(time.Millisecond), healed[reps-1].Round(time.Millisecond),
			(med - delay).Round(time.Millisecond), linksBack[len(linksBack)/2].Round(time.Millisecond))
	}
}
