package autoheal_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testDelay is the autoheal delay of these tests: long enough for every
// link to come back after the network does, short enough for quick tests.
const testDelay = 500 * time.Millisecond

// healWait bounds every wait for a heal (a loaded machine is slow).
const healWait = 45 * time.Second

// hookCalls counts the hooks each node ran.
type hookCalls struct {
	mu            sync.Mutex
	prepare       map[string]int
	reboot        map[string]int
	reasons       []string // the Prepare hooks'
	rebootReasons []string
}

func (h *hookCalls) count(m map[string]int) map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps(m)
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// healCluster is a formed cluster with autoheal attached to every node.
type healCluster struct {
	*meshtest.Cluster
	hooks *hookCalls
	ahs   []*autoheal.Autoheal
	log   *testnet.SyncBuffer
}

// options adjust one node's autoheal Config.
type options func(i int, name string, cfg *autoheal.Config)

// startHealing forms a cluster of n nodes and attaches autoheal to each.
func startHealing(t *testing.T, n int, opts options) *healCluster {
	t.Helper()
	hc := formCluster(t, n)
	hc.attach(t, opts)
	return hc
}

// formCluster forms a cluster of n nodes, without autoheal yet.
func formCluster(t *testing.T, n int) *healCluster {
	t.Helper()
	return formClusterWith(t, n, nil)
}

// formClusterWith is formCluster with tweak adjusting each node's Config.
func formClusterWith(t *testing.T, n int, tweak func(i int, cfg *mesh.Config)) *healCluster {
	t.Helper()
	c := meshtest.Formed(t, n, tweak)
	hc := &healCluster{Cluster: c, hooks: &hookCalls{prepare: map[string]int{}, reboot: map[string]int{}}, log: &testnet.SyncBuffer{}}
	t.Cleanup(func() { // before the cluster stops
		for _, ah := range hc.ahs {
			ah.Close()
		}
		if t.Failed() {
			t.Logf("autoheal log:\n%s", hc.log.String())
		}
	})
	return hc
}

// attach attaches autoheal to every node.
func (hc *healCluster) attach(t *testing.T, opts options) {
	t.Helper()
	hc.attachTo(t, opts, idx(hc.Len())...)
}

// attachTo attaches autoheal to the nodes numbered nodes.
func (hc *healCluster) attachTo(t *testing.T, opts options, nodes ...int) {
	t.Helper()
	c := hc.Cluster
	logger := slog.New(slog.NewTextHandler(hc.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, i := range nodes {
		name := c.Name(i)
		cfg := autoheal.Config{
			Delay:       testDelay,
			HealTimeout: 5 * time.Second,
			CallTimeout: 2 * time.Second,
			Logger:      logger,
			Hooks: autoheal.Hooks{
				Prepare: func(ctx context.Context, reason string) error {
					hc.hooks.mu.Lock()
					defer hc.hooks.mu.Unlock()
					hc.hooks.prepare[name]++
					hc.hooks.reasons = append(hc.hooks.reasons, reason)
					return nil
				},
				Reboot: func(ctx context.Context, reason string) error {
					hc.hooks.mu.Lock()
					defer hc.hooks.mu.Unlock()
					hc.hooks.reboot[name]++
					hc.hooks.rebootReasons = append(hc.hooks.rebootReasons, reason)
					return nil
				},
			},
		}
		if opts != nil {
			opts(i, name, &cfg)
		}
		ah, err := autoheal.Attach(c.Node(i), cfg)
		require.NoError(t, err)
		hc.ahs = append(hc.ahs, ah)
	}
}

func idx(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// waitSplit waits until each group runs on its own.
func (hc *healCluster) waitSplit(t *testing.T, groups ...[]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	for _, g := range groups {
		require.NoError(t, hc.WaitRunning(ctx, g...))
	}
}

// healed is the end state of every scenario: one cluster, every member up
// everywhere, no partition recorded.
func (hc *healCluster) healed() (bool, string) {
	names := hc.Names()
	for i := 0; i < hc.Len(); i++ {
		info := hc.Node(i).Info()
		if !slices.Equal(info.RunningNodes, names) {
			return false, fmt.Sprintf("%s runs with %v", hc.Name(i), info.RunningNodes)
		}
		if len(info.Partitions) != 0 {
			return false, fmt.Sprintf("%s records partitions with %v", hc.Name(i), info.Partitions)
		}
		for _, m := range info.Members {
			if m.Status != mesh.StatusUp {
				return false, fmt.Sprintf("%s sees %s %s", hc.Name(i), m.Node, m.Status)
			}
		}
	}
	return true, ""
}

func (hc *healCluster) waitHealed(t *testing.T) time.Duration {
	t.Helper()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	var why string
	err := hc.Wait(ctx, "one cluster, all up, no partition", func() bool {
		var ok bool
		ok, why = hc.healed()
		return ok
	})
	require.NoError(t, err, "last: %s", why)
	return time.Since(t0)
}

// requireHooksOn checks that prepare and reboot ran exactly once on each
// victim and nowhere else.
func (hc *healCluster) requireHooksOn(t *testing.T, victims ...int) {
	t.Helper()
	want := map[string]int{}
	for _, v := range victims {
		want[hc.Name(v)] = 1
	}
	require.Equal(t, want, hc.hooks.count(hc.hooks.prepare), "prepare hooks")
	require.Equal(t, want, hc.hooks.count(hc.hooks.reboot), "reboot hooks")
}

// quiet reports "" once autoheal can start nothing more: no node records a
// partition, and no autoheal heals or has a decision pending. Autoheal acts
// only on recorded partitions, and one is recorded only when a link comes
// back to a member marked down; so in a cluster whose members are all up,
// quiet lasts until the network fails again.
func (hc *healCluster) quiet() string {
	for i := range hc.Len() {
		if nd := hc.Node(i); nd != nil {
			if p := nd.Info().Partitions; len(p) > 0 {
				return fmt.Sprintf("%s records partitions with %v", hc.Name(i), p)
			}
		}
	}
	for _, ah := range hc.ahs {
		if st := ah.Status(); st.Healing || st.Pending {
			return fmt.Sprintf("an autoheal is busy: %+v", st)
		}
	}
	return ""
}

// requireStable checks that, healed, the cluster has come to rest: every
// member up, nothing recorded, nothing pending (so no heal can follow), and
// no hook ran after the heal.
func (hc *healCluster) requireStable(t *testing.T) {
	t.Helper()
	before := hc.hooks.count(hc.hooks.prepare)
	testnet.Eventually(t, healWait, "the healed cluster to come to rest", func() string {
		if ok, why := hc.healed(); !ok {
			return why
		}
		return hc.quiet()
	})
	require.Equal(t, before, hc.hooks.count(hc.hooks.prepare), "no heal after the heal")
}

func TestHealThreeNodesOneMinority(t *testing.T) {
	hc := startHealing(t, 3, nil)
	sub := hc.Node(0).Subscribe()
	defer sub.Close()
	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	hc.waitHealed(t)
	hc.requireHooksOn(t, 2)
	hc.requireStable(t)

	// n1 saw n3 heal: healing, then the partition healed.
	var kinds []mesh.EventKind
	for !slices.Contains(kinds, mesh.EventPartitionHealed) {
		select {
		case ev := <-sub.C():
			if ev.Node == hc.Name(2) {
				kinds = append(kinds, ev.Kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("events of n1 about n3: %v; want a partition-healed", kinds)
		}
	}
	require.Contains(t, kinds, mesh.EventNodeHealing)
	require.Contains(t, kinds, mesh.EventPartitionOccurred)
	require.Contains(t, kinds, mesh.EventPartitionHealed)
	hc.hooks.mu.Lock()
	require.Contains(t, hc.hooks.reasons[0], "n3@127.0.0.1 is on a minority side of a partition and rejoins the cluster of n1@127.0.0.1")
	hc.hooks.mu.Unlock()
}

func TestHealPartitionRecordedBeforeAttach(t *testing.T) {
	hc := formCluster(t, 3)
	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	require.NoError(t, hc.Wait(ctx, "every node to record the partition", func() bool {
		for i := 0; i < hc.Len(); i++ {
			if len(hc.Node(i).Info().Partitions) == 0 {
				return false
			}
		}
		return true
	}))
	// No partition-occurred event reaches autoheal: it finds the records.
	hc.attach(t, nil)
	hc.waitHealed(t)
	hc.requireHooksOn(t, 2)
	hc.requireStable(t)
}

// waitLeader waits until every node sees leader as autoheal's leader: each
// learns that the others run autoheal over its link to them.
func (hc *healCluster) waitLeader(t *testing.T, leader string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	require.NoError(t, hc.Wait(ctx, "every node to see "+leader+" as the leader", func() bool {
		for i := 0; i < hc.Len(); i++ {
			if autoheal.Leader(hc.Node(i).Members()) != leader {
				return false
			}
		}
		return true
	}))
}

func TestHealFiveNodesLeaderOnMinority(t *testing.T) {
	hc := startHealing(t, 5, nil)
	// Node 0 started first: it is the oldest, the leader.
	hc.waitLeader(t, hc.Name(0))
	hc.Partition([]int{0, 1}, []int{2, 3, 4})
	hc.waitSplit(t, []int{0, 1}, []int{2, 3, 4})
	hc.HealAll()
	hc.waitHealed(t)
	hc.requireHooksOn(t, 0, 1)
	hc.requireStable(t)
}

// TestLeaderRunsAutoheal: the oldest member runs no autoheal (a node that
// links the mesh as a library only). It is never the leader: the oldest node
// that runs autoheal leads, every member shows which nodes run it, and a
// partition heals within a few delays, the library node included, instead
// of waiting on reports sent to a node that cannot answer them.
func TestLeaderRunsAutoheal(t *testing.T) {
	hc := formCluster(t, 4)
	hc.attachTo(t, nil, 1, 2, 3)
	hc.waitLeader(t, hc.Name(1))
	// Services travel on their own message: node 0 may learn them after the
	// others have agreed on the leader.
	testnet.Eventually(t, 10*time.Second, "autoheal on every node but "+hc.Name(0)+", as node 0 sees them", func() string {
		for _, m := range hc.Node(0).Members() {
			if (m.Node != hc.Name(0)) != slices.Contains(m.Services, autoheal.Service) {
				return fmt.Sprintf("%s's services as node 0 sees them: %v", m.Node, m.Services)
			}
		}
		return ""
	})
	hc.Partition([]int{0, 1, 2}, []int{3})
	hc.waitSplit(t, []int{0, 1, 2}, []int{3})
	hc.HealAll()
	took := hc.waitHealed(t)
	hc.requireHooksOn(t, 3)
	// One delay for the reports to settle, one for the heal; a leader that
	// runs no autoheal never healed at all.
	require.Less(t, took, 20*testDelay+10*time.Second, "heal took %v", took)
	hc.requireStable(t)
	// Closed, a node no longer advertises autoheal, and leadership moves.
	hc.ahs[0].Close()
	hc.waitLeader(t, hc.Name(2))
}

func TestHealFourWaySplit(t *testing.T) {
	hc := startHealing(t, 4, nil)
	hc.Partition([]int{0}, []int{1}, []int{2}, []int{3})
	hc.waitSplit(t, []int{0}, []int{1}, []int{2}, []int{3})
	hc.HealAll()
	hc.waitHealed(t)
	// Four sides of one: the tie goes to the oldest node's side.
	hc.requireHooksOn(t, 1, 2, 3)
	hc.requireStable(t)
}

func TestHealAsymmetricSplit(t *testing.T) {
	stopped := func(hc *healCluster, on, of int) func() bool {
		return func() bool { return slices.Contains(hc.Node(on).Info().StoppedNodes, hc.Name(of)) }
	}
	t.Run("cut", func(t *testing.T) {
		// n1 sees n2, n2 sees n3, n1 does not see n3.
		hc := startHealing(t, 3, nil)
		hc.Cut(0, 2)
		ctx, cancel := context.WithTimeout(context.Background(), healWait)
		defer cancel()
		require.NoError(t, hc.Wait(ctx, "n1 and n3 to see each other down", func() bool {
			return stopped(hc, 0, 2)() && stopped(hc, 2, 0)()
		}))
		require.Equal(t, hc.Names(), hc.Node(1).Info().RunningNodes)
		// While the cut lasts there is nothing autoheal could do: nothing
		// is recorded until a link comes back.
		testnet.Eventually(t, healWait, "autoheal to be idle during the cut", hc.quiet)
		require.Empty(t, hc.hooks.count(hc.hooks.prepare))
		hc.HealAll()
		hc.waitHealed(t)
		hc.requireHooksOn(t, 2)
		hc.requireStable(t)
	})
	t.Run("one-way blackholes", func(t *testing.T) {
		// n1 -> n3 and n2 -> n4 are dropped, the other way works: silence
		// marks the links down; n1 and n3, n2 and n4 lose each other.
		hc := startHealing(t, 4, nil)
		hc.Blackhole(0, 2)
		hc.Blackhole(1, 3)
		ctx, cancel := context.WithTimeout(context.Background(), healWait)
		defer cancel()
		require.NoError(t, hc.Wait(ctx, "the blackholed pairs to see each other down", func() bool {
			return stopped(hc, 0, 2)() && stopped(hc, 2, 0)() && stopped(hc, 1, 3)() && stopped(hc, 3, 1)()
		}))
		hc.HealAll()
		hc.waitHealed(t)
		// Sides {n1,n2} (the oldest pair that runs together) and {n3,n4}.
		hc.requireHooksOn(t, 2, 3)
		hc.requireStable(t)
	})
}

func TestHealFlappingNetwork(t *testing.T) {
	hc := startHealing(t, 3, func(_ int, _ string, cfg *autoheal.Config) { cfg.Delay = time.Second })
	// Cut and restored every 150-350 ms for 4 s: each restore records the
	// partition again, so reports never stop for the delay.
	flapUntil := time.Now().Add(4 * time.Second)
	for i := 0; time.Now().Before(flapUntil); i++ {
		hc.Partition([]int{0, 1}, []int{2})
		time.Sleep(time.Duration(150+(i*73)%200) * time.Millisecond)
		hc.HealAll()
		time.Sleep(time.Duration(150+(i*41)%200) * time.Millisecond)
	}
	during := hc.hooks.count(hc.hooks.prepare)
	require.LessOrEqual(t, during[hc.Name(2)], 1, "a heal storm while the network flaps: %v", during)
	hc.waitHealed(t)
	prep := hc.hooks.count(hc.hooks.prepare)
	require.Equal(t, []string{hc.Name(2)}, keys(prep), "only the minority heals: %v", prep)
	require.LessOrEqual(t, prep[hc.Name(2)], 2, "no storm of heals: %v", prep)
	hc.requireStable(t)
}

func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestHealPartitionDuringAHeal(t *testing.T) {
	inPrepare := make(chan struct{}, 4)
	release := make(chan struct{})
	var once sync.Once
	hc := startHealing(t, 3, func(i int, name string, cfg *autoheal.Config) {
		prep := cfg.Hooks.Prepare
		cfg.HealTimeout = 2 * time.Second
		cfg.Hooks.Prepare = func(ctx context.Context, reason string) error {
			err := prep(ctx, reason)
			first := false
			once.Do(func() { first = true })
			if first {
				inPrepare <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return err
		}
	})
	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	select {
	case <-inPrepare:
	case <-time.After(healWait):
		t.Fatal("no heal started")
	}
	// The network splits again while the victim prepares: its rejoin fails.
	hc.Partition([]int{0, 1}, []int{2})
	close(release)
	// The heal times out (HealTimeout 2s) and ends on every node.
	testnet.Eventually(t, healWait, "the interrupted heal to end", func() string {
		for _, ah := range hc.ahs {
			if st := ah.Stats(); st.Healing {
				return fmt.Sprintf("still healing: %+v", st)
			}
		}
		return ""
	})
	hc.HealAll()
	hc.waitHealed(t)
	prep := hc.hooks.count(hc.hooks.prepare)
	require.Equal(t, []string{hc.Name(2)}, keys(prep), "only the minority heals: %v", prep)
	require.GreaterOrEqual(t, prep[hc.Name(2)], 2, "the interrupted heal was retried")
	// Reboot follows every Prepare, the failed heal's too: the victim
	// served again where it was, and the application must not be left with
	// its state dropped (the next heal need not make it a victim again).
	require.Equal(t, prep, hc.hooks.count(hc.hooks.reboot), "a reboot after each prepare")
	hc.hooks.mu.Lock()
	require.Contains(t, hc.hooks.rebootReasons[0], "the rejoin failed", "the first reboot says why")
	require.NotContains(t, hc.hooks.rebootReasons[len(hc.hooks.rebootReasons)-1], "the rejoin failed", "the last heal worked")
	hc.hooks.mu.Unlock()
	hc.requireStable(t)
}

func TestHealRetriesAfterAFailedPrepare(t *testing.T) {
	var mu sync.Mutex
	failures := 1
	hc := startHealing(t, 3, func(i int, name string, cfg *autoheal.Config) {
		prep := cfg.Hooks.Prepare
		cfg.Hooks.Prepare = func(ctx context.Context, reason string) error {
			_ = prep(ctx, reason)
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				return errors.New("state store busy")
			}
			return nil
		}
		if i == 2 {
			cfg.Hooks.Reboot = func(context.Context, string) error { panic("reboot hook bug") }
		}
	})
	hc.Partition([]int{0, 1}, []int{2})
	hc.waitSplit(t, []int{0, 1}, []int{2})
	hc.HealAll()
	hc.waitHealed(t)
	require.Equal(t, map[string]int{hc.Name(2): 2}, hc.hooks.count(hc.hooks.prepare))
	require.Contains(t, hc.log.String(), "autoheal: prepare hook: state store busy")
	require.Contains(t, hc.log.String(), "autoheal: reboot hook panicked: reboot hook bug")
	hc.requireStable(t)
}

func TestNoSplitNoHeal(t *testing.T) {
	hc := startHealing(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), healWait)
	defer cancel()
	// A crash and a restart are no partition.
	hc.Isolate(2)
	require.NoError(t, hc.Kill(ctx, 2))
	require.NoError(t, hc.WaitRunning(ctx, 0, 1))
	hc.HealAll()
	require.NoError(t, hc.Restart(ctx, 2))
	require.NoError(t, hc.WaitRunning(ctx, 0, 1, 2))
	testnet.Eventually(t, healWait, "autoheal to be idle after the restart", hc.quiet)
	require.Empty(t, hc.hooks.count(hc.hooks.prepare))
	for i := 0; i < 3; i++ {
		require.Empty(t, hc.Node(i).Info().Partitions)
	}
}

func TestAttachErrors(t *testing.T) {
	_, err := autoheal.Attach(nil, autoheal.Config{})
	require.ErrorContains(t, err, "node is nil")

	ctx := testnet.Context(t, 10*time.Second)
	c := meshtest.Started(t, 1, nil)
	nd := c.Node(0)
	for _, cfg := range []autoheal.Config{{Delay: -1}, {HealTimeout: -time.Second}, {CallTimeout: -time.Millisecond}} {
		_, err := autoheal.Attach(nd, cfg)
		require.ErrorContains(t, err, "want a positive duration")
	}
	ah, err := autoheal.Attach(nd, autoheal.Config{})
	require.NoError(t, err)
	_, err = autoheal.Attach(nd, autoheal.Config{})
	require.ErrorContains(t, err, "autoheal already runs on node n1@127.0.0.1")
	require.ErrorIs(t, err, mesh.ErrHandlerExists)
	view := (&wire.ViewRequest{Service: []byte(autoheal.Service), Round: []byte("r")}).Append(nil)
	at, _, err := nd.Request(ctx, nd.Name(), wire.TypeViewRequest, view)
	require.NoError(t, err, "the refused Attach left the first one's registrations alone")
	require.Equal(t, wire.TypeViewReply, at)
	ah.Close()
	ah.Close()
	_, _, err = nd.Request(ctx, nd.Name(), wire.TypeViewRequest, view)
	require.ErrorIs(t, err, mesh.ErrNoHandler, "Close unregisters the messages")
	ah, err = autoheal.Attach(nd, autoheal.Config{})
	require.NoError(t, err, "attach again after Close")
	// Closing after the node stopped works too.
	require.NoError(t, c.Stop(ctx))
	ah.Close()
}
