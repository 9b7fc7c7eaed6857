package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/static"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// withStatic sets every node's discovery to the static seed list and the
// autocluster retry interval to every.
func withStatic(t *testing.T, seeds []string, every time.Duration) func(int, *mesh.Config) {
	return func(i int, cfg *mesh.Config) {
		d, err := static.New(seeds)
		require.NoError(t, err)
		cfg.Discovery = d
		cfg.AutoclusterInterval = every
	}
}

func TestAutoclusterStaticSeedsFormOneCluster(t *testing.T) {
	ctx := testnet.Context(t, 20*time.Second)
	all := []string{meshtest.Name(0), meshtest.Name(1), meshtest.Name(2)}
	c, err := meshtest.Start(ctx, 3, withStatic(t, all, 100*time.Millisecond))
	require.NoError(t, err)
	defer c.Stop(context.Background())
	// No Join anywhere: discovery alone forms the full mesh.
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
	for i := range 3 {
		info := c.Node(i).Info()
		require.Empty(t, info.StoppedNodes, "%s", c.Name(i))
		require.Empty(t, info.Partitions, "%s", c.Name(i))
	}
}

func TestAutoclusterTenNodesStartingAtOnce(t *testing.T) {
	ctx := testnet.Context(t, 60*time.Second)
	var all []string
	for i := range 10 {
		all = append(all, meshtest.Name(i))
	}
	c, err := meshtest.Start(ctx, 10, withStatic(t, all, 100*time.Millisecond))
	require.NoError(t, err)
	defer c.Stop(context.Background())
	defer func() {
		if t.Failed() { // what each node saw, and the connections per pair
			for i := range 10 {
				if nd := c.Node(i); nd != nil {
					t.Logf("%s: %+v", c.Name(i), nd.Info())
				}
				for j := i + 1; j < 10; j++ {
					if n := c.Net.Conns(c.Name(i), c.Name(j)); n != 3 {
						t.Logf("%s - %s: %d connections", c.Name(i), c.Name(j), n)
					}
				}
			}
		}
	}()
	require.NoError(t, c.WaitRunning(ctx))
	// Every pair dialed each other at about the same time; exactly one link
	// (three lanes) per pair survives.
	require.NoError(t, c.Wait(ctx, "one link per pair", func() bool {
		for i := range 10 {
			for j := i + 1; j < 10; j++ {
				if c.Net.Conns(c.Name(i), c.Name(j)) != 3 {
					return false
				}
			}
		}
		return true
	}))
}

func TestAutoclusterTenNodesOneSeedEach(t *testing.T) {
	// Each node knows only the next one: member tables spread the rest.
	ctx := testnet.Context(t, 30*time.Second)
	c, err := meshtest.Start(ctx, 10, func(i int, cfg *mesh.Config) {
		withStatic(t, []string{meshtest.Name((i + 1) % 10)}, 100*time.Millisecond)(i, cfg)
	})
	require.NoError(t, err)
	defer c.Stop(context.Background())
	require.NoError(t, c.WaitRunning(ctx))
}

func TestAutoclusterSeedNotUpYet(t *testing.T) {
	ctx := testnet.Context(t, 20*time.Second)
	seed := meshtest.Name(0)
	counters := make([]*fakeDiscovery, 3)
	c, err := meshtest.Reserve(3, func(i int, cfg *mesh.Config) {
		s, err := static.New([]string{seed})
		require.NoError(t, err)
		counters[i] = &fakeDiscovery{inner: s}
		cfg.Discovery = counters[i]
		cfg.AutoclusterInterval = 50 * time.Millisecond
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
	require.NoError(t, c.StartNode(ctx, 1))
	require.NoError(t, c.StartNode(ctx, 2))
	// The seed refuses connections: both nodes stay alone and keep trying.
	require.Eventually(t, func() bool {
		return counters[1].count(&counters[1].discovers) >= 4 && counters[2].count(&counters[2].discovers) >= 4
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, c.Names(1), c.Node(1).Info().RunningNodes)
	require.Equal(t, c.Names(2), c.Node(2).Info().RunningNodes)

	require.NoError(t, c.StartNode(ctx, 0))
	require.NoError(t, c.WaitRunning(ctx))

	// Once linked to every discovered node, the loop stops: three more
	// heartbeats per link (100 ms or more apart) leave room for six passes
	// (50 ms apart), and at most the one under way when the cluster formed
	// happens.
	before := counters[1].count(&counters[1].discovers)
	require.NoError(t, c.WaitHeartbeats(ctx, 3))
	require.LessOrEqual(t, counters[1].count(&counters[1].discovers), before+1, "the loop stops once clustered")
}

// fakeDiscovery counts calls and checks that Lock and Unlock come in pairs.
// It delegates to inner when set, else discover says what to return.
type fakeDiscovery struct {
	inner    discovery.Strategy
	discover func(call int) ([]string, error)
	lockErr  func(call int) error

	mu                                   sync.Mutex
	locks, unlocks, discovers, registers int
	unregisters, held, discoverUnlocked  int
	misuse                               []string
}

func (f *fakeDiscovery) count(p *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *p
}

func (f *fakeDiscovery) Lock(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locks++
	if f.lockErr != nil {
		if err := f.lockErr(f.locks); err != nil {
			return err
		}
	}
	if f.held > 0 {
		f.misuse = append(f.misuse, "Lock while locked")
	}
	f.held++
	return nil
}

func (f *fakeDiscovery) Unlock(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlocks++
	if f.held == 0 {
		f.misuse = append(f.misuse, "Unlock without a Lock")
		return nil
	}
	f.held--
	return nil
}

func (f *fakeDiscovery) Discover(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	f.discovers++
	call := f.discovers
	if f.held == 0 {
		f.discoverUnlocked++
	}
	f.mu.Unlock()
	if f.inner != nil {
		return f.inner.Discover(ctx)
	}
	return f.discover(call)
}

func (f *fakeDiscovery) Register(ctx context.Context) error {
	f.mu.Lock()
	f.registers++
	f.mu.Unlock()
	if f.inner != nil {
		return f.inner.Register(ctx)
	}
	return nil
}

func (f *fakeDiscovery) Unregister(ctx context.Context) error {
	f.mu.Lock()
	f.unregisters++
	f.mu.Unlock()
	if f.inner != nil {
		return f.inner.Unregister(ctx)
	}
	return nil
}

func startWithDiscovery(t *testing.T, f *fakeDiscovery) *mesh.Node {
	t.Helper()
	cfg := mesh.DefaultConfig()
	cfg.Name = "solo1@127.0.0.1"
	cfg.Cookie = "c"
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Discovery = f
	cfg.AutoclusterInterval = 20 * time.Millisecond
	nd, err := mesh.Start(context.Background(), cfg)
	require.NoError(t, err)
	return nd
}

func TestAutoclusterEmptyDiscoveryKeepsRetrying(t *testing.T) {
	f := &fakeDiscovery{discover: func(int) ([]string, error) { return nil, nil }}
	nd := startWithDiscovery(t, f)
	require.Eventually(t, func() bool { return f.count(&f.discovers) >= 5 }, 10*time.Second, 5*time.Millisecond,
		"a discovery that finds nothing is asked again every AutoclusterInterval")
	require.Equal(t, []string{"solo1@127.0.0.1"}, nd.Info().RunningNodes)
	require.Equal(t, 1, f.count(&f.registers), "it registers once, so that the nodes after it find it")

	ctx := testnet.Context(t, 5*time.Second)
	// Stop returns once every goroutine of the node has ended (TestMain's
	// goleak check holds it to that), the autocluster loop included: no
	// discovery pass can follow.
	require.NoError(t, nd.Stop(ctx))
	require.Equal(t, 1, f.count(&f.unregisters), "Stop unregisters")
}

func TestAutoclusterLockUnlockInPairs(t *testing.T) {
	f := &fakeDiscovery{
		discover: func(call int) ([]string, error) {
			if call%2 == 1 {
				return nil, errors.New("discovery backend unavailable")
			}
			return []string{"ghost1@127.0.0.1"}, nil // never reachable
		},
		lockErr: func(call int) error {
			if call%3 == 0 {
				return errors.New("lock contended")
			}
			return nil
		},
	}
	nd := startWithDiscovery(t, f)
	require.Eventually(t, func() bool { return f.count(&f.locks) >= 12 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, nd.Stop(testnet.Context(t, 5*time.Second)))

	f.mu.Lock()
	defer f.mu.Unlock()
	require.Empty(t, f.misuse)
	require.Zero(t, f.held, "every Lock that succeeded was unlocked, even after a failed Discover")
	failedLocks := f.locks / 3
	require.Equal(t, f.locks-failedLocks, f.unlocks, "a Lock that failed is not unlocked")
	require.Zero(t, f.discoverUnlocked, "Discover runs only under the lock")
	require.Equal(t, f.unlocks, f.discovers, "no Discover after a failed Lock")
}

// registry is a shared service registry, like etcd's: Discover returns the
// registered nodes, nothing more. The first node finds nobody and must
// register anyway, or no node ever finds another.
type registry struct {
	lock  chan struct{}
	mu    sync.Mutex
	names []string
}

type registryDiscovery struct {
	r    *registry
	self string
}

func (d *registryDiscovery) Lock(ctx context.Context) error {
	select {
	case d.r.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *registryDiscovery) Unlock(context.Context) error { <-d.r.lock; return nil }

func (d *registryDiscovery) Discover(context.Context) ([]string, error) {
	d.r.mu.Lock()
	defer d.r.mu.Unlock()
	return slices.Clone(d.r.names), nil
}

func (d *registryDiscovery) Register(context.Context) error {
	d.r.mu.Lock()
	defer d.r.mu.Unlock()
	if !slices.Contains(d.r.names, d.self) {
		d.r.names = append(d.r.names, d.self)
	}
	return nil
}

func (d *registryDiscovery) Unregister(context.Context) error {
	d.r.mu.Lock()
	defer d.r.mu.Unlock()
	d.r.names = slices.DeleteFunc(d.r.names, func(s string) bool { return s == d.self })
	return nil
}

func TestAutoclusterWithARegistryStartingEmpty(t *testing.T) {
	ctx := testnet.Context(t, 20*time.Second)
	r := &registry{lock: make(chan struct{}, 1)}
	c, err := meshtest.Start(ctx, 4, func(i int, cfg *mesh.Config) {
		cfg.Discovery = &registryDiscovery{r: r, self: meshtest.Name(i)}
		cfg.AutoclusterInterval = 50 * time.Millisecond
	})
	require.NoError(t, err)
	defer c.Stop(context.Background())
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2, 3))
	r.mu.Lock()
	require.ElementsMatch(t, c.Names(), r.names, "every node registered")
	r.mu.Unlock()

	require.NoError(t, c.Kill(ctx, 3))
	r.mu.Lock()
	require.ElementsMatch(t, c.Names(0, 1, 2), r.names, "Stop unregisters")
	r.mu.Unlock()
}

// Two nodes that dial each other at once end with one link. The peer closes
// the link it does not keep with a duplicate-link goodbye; that is no
// node-down, since the link it keeps is on its way (and its arrival is no
// partition).
func TestSimultaneousDialsDuplicateGoodbyeIsNoDown(t *testing.T) {
	for round := range 20 {
		ctx := testnet.Context(t, 10*time.Second)
		c, err := meshtest.Start(ctx, 2, nil)
		require.NoError(t, err)
		subs := []*mesh.Subscription{c.Node(0).Subscribe(), c.Node(1).Subscribe()}
		var wg sync.WaitGroup
		// The join that finds the link made by the other answers that the
		// node is in the cluster already.
		joined := func(err error) bool { return err == nil || errors.Is(err, mesh.ErrAlreadyInCluster) }
		wg.Go(func() { err := c.Node(0).Join(ctx, c.Name(1)); require.True(t, joined(err), "%v", err) })
		wg.Go(func() { err := c.Node(1).Join(ctx, c.Name(0)); require.True(t, joined(err), "%v", err) })
		wg.Wait()
		require.NoError(t, c.WaitRunning(ctx, 0, 1))
		require.NoError(t, c.Wait(ctx, "one link", func() bool { return c.Net.Conns(c.Name(0), c.Name(1)) == 3 }))
		_, err = c.Node(0).Ping(ctx, c.Name(1))
		require.NoError(t, err)
		for i, s := range subs {
			for _, ev := range quietEvents(s, 50*time.Millisecond) {
				if ev.Kind == mesh.EventNodeDown {
					require.NotContains(t, ev.Reason, "duplicate link", "round %d on %s", round, c.Name(i))
				}
			}
			s.Close()
		}
		require.NoError(t, c.Stop(ctx))
	}
}

// quietEvents returns the events s delivers until none comes for quiet.
func quietEvents(s *mesh.Subscription, quiet time.Duration) []mesh.Event {
	var out []mesh.Event
	for {
		select {
		case ev := <-s.C():
			out = append(out, ev)
		case <-time.After(quiet):
			return out
		}
	}
}

func TestAutoclusterOnlySelfKeepsLookingUntilOthersAppear(t *testing.T) {
	ctx := testnet.Context(t, 15*time.Second)
	other, err := mesh.Start(ctx, func() mesh.Config {
		cfg := mesh.DefaultConfig()
		cfg.Name = "solo2@127.0.0.1"
		cfg.Cookie = "c"
		cfg.ListenAddr = "127.0.0.1:0"
		return cfg
	}())
	require.NoError(t, err)
	defer other.Stop(context.Background())
	addr := other.Addr().String()
	// The first passes find only this node (the others are not published
	// yet, as with DNS or Kubernetes early in a rollout); then the other
	// node appears.
	f := &fakeDiscovery{discover: func(call int) ([]string, error) {
		if call < 4 {
			return []string{"solo1@127.0.0.1"}, nil
		}
		return []string{"solo1@127.0.0.1", "solo2@127.0.0.1"}, nil
	}}
	cfg := mesh.DefaultConfig()
	cfg.Name = "solo1@127.0.0.1"
	cfg.Cookie = "c"
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Discovery = f
	cfg.AutoclusterInterval = 20 * time.Millisecond
	cfg.Resolve = func(node string) (string, error) {
		if node == "solo2@127.0.0.1" {
			return addr, nil
		}
		return "", fmt.Errorf("unknown node %s", node)
	}
	nd, err := mesh.Start(ctx, cfg)
	require.NoError(t, err)
	defer nd.Stop(context.Background())
	require.Eventually(t, func() bool {
		return slices.Equal(nd.Info().RunningNodes, []string{"solo1@127.0.0.1", "solo2@127.0.0.1"})
	}, 10*time.Second, 10*time.Millisecond, "a node that found only itself kept looking and joined the node that appeared")
	require.GreaterOrEqual(t, f.count(&f.discovers), 4)
}
