package autoheal_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// linkKey names one link as a node sees it; a link that came back after a
// drop is another link (another Since), whose counters start at zero.
type linkKey struct {
	node, peer string
	since      time.Time
}

// laneFrames is the frames every node sent on each lane of each of its
// links.
func laneFrames(hc *healCluster) map[linkKey][3]uint64 {
	out := map[linkKey][3]uint64{}
	for i := range hc.Len() {
		for _, li := range hc.Node(i).Links() {
			var f [3]uint64
			for lane, l := range li.Lanes {
				f[lane] = l.FramesSent
			}
			out[linkKey{hc.Name(i), li.Peer, li.Since}] = f
		}
	}
	return out
}

// framesSince sums, by lane, the frames sent between two laneFrames.
func framesSince(before, after map[linkKey][3]uint64) (sum [3]uint64) {
	for k, f := range after {
		b := before[k]
		for lane := range f {
			sum[lane] += f[lane] - b[lane]
		}
	}
	return sum
}

// TestHealTrafficRidesTheControlLane: everything autoheal sends before the
// victim's Prepare hook runs (the reports, the leader's view requests, its
// order to the coordinator, the coordinator's order to the victim, and
// their answers) travels on the control lane: the data lane, which carries
// application calls, sees no frame from the partition to the Prepare hook.
// (The victim's rejoin, after Prepare, calls the node's built-in methods,
// which do ride the data lane.)
func TestHealTrafficRidesTheControlLane(t *testing.T) {
	hc := formCluster(t, 3)
	var mu sync.Mutex
	var atPrepare map[linkKey][3]uint64
	hc.attach(t, func(i int, name string, cfg *autoheal.Config) {
		prep := cfg.Hooks.Prepare
		cfg.Hooks.Prepare = func(ctx context.Context, reason string) error {
			mu.Lock()
			atPrepare = laneFrames(hc)
			mu.Unlock()
			return prep(ctx, reason)
		}
	})
	before := laneFrames(hc)
	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	hc.waitHealed(t)
	hc.requireHooksOn(t, 2)

	mu.Lock()
	defer mu.Unlock()
	sent := framesSince(before, atPrepare)
	require.Zero(t, sent[wire.LaneData], "frames on the data lane while autoheal reported, gathered views and ordered the heal")
	require.Zero(t, sent[wire.LaneLarge], "frames on the large lane")
	require.Positive(t, sent[wire.LaneControl], "frames on the control lane")
	// The heal went as planned: the leader (n1, the oldest) handed it to
	// the coordinator (n1 too), which healed n3.
	require.Positive(t, hc.ahs[0].Stats().Planned, "the leader planned a round")
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	require.NoError(t, hc.Wait(ctx, "the coordinator counts the heal", func() bool { return hc.ahs[0].Stats().Coordinated > 0 }))
}

// TestHealWhileTheDataLaneIsCongested: the victim and the coordinator
// flood each other with 1 MiB casts that their handlers never take, so each
// side's data lane to the other holds megabytes the other does not read,
// and a heal still completes: its messages ride the control lane, which
// does not wait behind the data lane.
//
// The congestion is made deterministic by the victim's first Prepare hook:
// it starts the floods, waits until both data lanes are backed up and
// fails, so the leader plans a second round from scratch (reports, views,
// orders, status polls) while the data lanes stay congested; the second
// Prepare checks they still are.
func TestHealWhileTheDataLaneIsCongested(t *testing.T) {
	hc := formClusterWith(t, 3, func(_ int, cfg *mesh.Config) {
		cfg.MaxCastQueueBytes = 1 << 20 // a small queue: the lane backs up sooner
	})
	const victim, coordinator = 2, 0
	release := make(chan struct{}) // the sinks take their casts once closed
	for i := range hc.Len() {
		require.NoError(t, hc.Node(i).Handle("sink", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, nil
		}))
	}
	var floods sync.WaitGroup
	var stop atomic.Bool
	t.Cleanup(func() { // before the cluster stops (cleanups run last first)
		stop.Store(true)
		close(release)
		floods.Wait()
	})
	flood := func(from, to int) {
		floods.Add(1)
		go func() {
			defer floods.Done()
			payload := make([]byte, 1<<20)
			for !stop.Load() {
				// Cast waits while the lane is backed up; it fails
				// once the link is gone (the victim rejoins).
				if hc.Node(from).Cast(hc.Name(to), "sink", payload) != nil {
					return
				}
			}
		}()
	}
	// backedUp reports whether from's data lane to to is congested: at
	// least backlog bytes that from sent on it are not read by to (whose
	// reader waits for room in its cast queue, which its sink never
	// empties), so a frame sent on it now would wait behind them. since
	// pins the link: the first that backed up.
	const backlog = 2 << 20
	backedUp := func(from, to int, since *time.Time) bool {
		var sent, read uint64
		var at time.Time
		for _, li := range hc.Node(from).Links() {
			if li.Peer == hc.Name(to) {
				sent, at = li.Lanes[wire.LaneData].BytesSent, li.Since
			}
		}
		for _, li := range hc.Node(to).Links() {
			if li.Peer == hc.Name(from) {
				read = li.Lanes[wire.LaneData].BytesReceived
			}
		}
		if sent < read+backlog || at.IsZero() || (!since.IsZero() && !at.Equal(*since)) {
			return false
		}
		*since = at
		return true
	}

	var mu sync.Mutex
	var prepares int
	var sinceVC, sinceCV time.Time // the congested links
	var stillCongested bool
	hc.attach(t, func(i int, name string, cfg *autoheal.Config) {
		if i != victim {
			return
		}
		prep := cfg.Hooks.Prepare
		cfg.Hooks.Prepare = func(ctx context.Context, reason string) error {
			mu.Lock()
			defer mu.Unlock()
			prepares++
			if prepares == 1 {
				flood(victim, coordinator)
				flood(coordinator, victim)
				err := hc.Wait(ctx, "both data lanes backed up", func() bool {
					return backedUp(victim, coordinator, &sinceVC) && backedUp(coordinator, victim, &sinceCV)
				})
				return errors.Join(errors.New("not yet: the data lanes are being congested"), err)
			}
			stillCongested = backedUp(victim, coordinator, &sinceVC) && backedUp(coordinator, victim, &sinceCV)
			return prep(ctx, reason)
		}
	})
	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	hc.waitHealed(t)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, prepares, "the victim's Prepare ran twice: the congesting failure, then the heal")
	require.False(t, sinceVC.IsZero(), "the victim's data lane to the coordinator backed up")
	require.True(t, stillCongested, "the second round ran while both data lanes were backed up")
	require.Contains(t, hc.log.String(), "not yet: the data lanes are being congested")
}
