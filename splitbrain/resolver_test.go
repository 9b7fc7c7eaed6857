package splitbrain_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stableAfter is short so that tests decide fast; meshtest's heartbeat
// timeout is 600 ms, and faultnet's cuts close links at once.
const stableAfter = 500 * time.Millisecond

// cluster is a formed meshtest cluster with a resolver on every node.
type cluster struct {
	*meshtest.Cluster
	res []*splitbrain.Resolver
}

func attach(t *testing.T, n int, cfg splitbrain.Config) *cluster {
	t.Helper()
	c := &cluster{Cluster: meshtest.Formed(t, n, nil)}
	if cfg.StableAfter == 0 {
		cfg.StableAfter = stableAfter
	}
	for i := range n {
		r, err := splitbrain.Attach(c.Node(i), cfg)
		require.NoError(t, err)
		c.res = append(c.res, r)
	}
	t.Cleanup(func() {
		for _, r := range c.res {
			r.Close()
		}
	})
	return c
}

// byAge returns the node indexes from the oldest to the youngest.
func (c *cluster) byAge() []int {
	idx := make([]int, c.Len())
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return c.Node(a).GUID().Compare(c.Node(b).GUID()) })
	return idx
}

// serving returns the indexes of the nodes that are not suspended.
func (c *cluster) serving() []int {
	var out []int
	for i := range c.Len() {
		if _, down := c.Node(i).Suspended(); !down {
			out = append(out, i)
		}
	}
	return out
}

// waitServing waits until exactly want serve, and every resolver agrees
// with its node.
func (c *cluster) waitServing(t *testing.T, ctx context.Context, want []int) {
	t.Helper()
	slices.Sort(want)
	require.NoError(t, c.Until(ctx, fmt.Sprintf("exactly nodes %v to serve", want), func() string {
		got := c.serving()
		if !slices.Equal(got, want) {
			return fmt.Sprintf("serving: %v", got)
		}
		for i, r := range c.res {
			if st := r.Status(); st.Serving != slices.Contains(want, i) {
				return fmt.Sprintf("resolver of %s says serving=%v", c.Name(i), st.Serving)
			}
		}
		return ""
	}))
}

// waitWhole waits until every node serves, links to all others and
// records no partition.
func (c *cluster) waitWhole(t *testing.T, ctx context.Context) {
	t.Helper()
	all := make([]int, c.Len())
	for i := range all {
		all[i] = i
	}
	c.waitServing(t, ctx, all)
	require.NoError(t, c.Until(ctx, "every link up and no partition recorded", func() string {
		for i := range c.Len() {
			info := c.Node(i).Info()
			if len(info.RunningNodes) != c.Len() || len(info.Partitions) > 0 {
				return fmt.Sprintf("%s runs with %v and records partitions with %v", c.Name(i), info.RunningNodes, info.Partitions)
			}
		}
		return ""
	}))
}

// TestSymmetricSplit runs every strategy on a 5-node cluster split 2|3, the
// two holding the oldest node: the side the strategy names serves, the
// other suspends (calls to it fail with ErrSuspended and the reason), and
// once the network is whole every node serves again with no partition left.
func TestSymmetricSplit(t *testing.T) {
	for _, tc := range []struct {
		rules splitbrain.Rules
		// serves: "big" (the three), "old" (the two with the oldest) or ""
		serves string
	}{
		{splitbrain.Rules{Strategy: splitbrain.KeepMajority}, "big"},
		{splitbrain.Rules{Strategy: splitbrain.KeepOldest}, "old"},
		{splitbrain.Rules{Strategy: splitbrain.StaticQuorum, QuorumSize: 3}, "big"},
		{splitbrain.Rules{Strategy: splitbrain.DownAll}, ""},
	} {
		t.Run(string(tc.rules.Strategy), func(t *testing.T) {
			c := attach(t, 5, splitbrain.Config{Rules: tc.rules})
			ctx := testnet.Context(t, 30*time.Second)
			age := c.byAge()
			old, big := []int{age[0], age[4]}, []int{age[1], age[2], age[3]}
			for i := range c.Len() {
				require.NoError(t, c.Node(i).Handle("echo", func(_ context.Context, _ string, p []byte) ([]byte, error) { return p, nil }))
			}
			c.waitWhole(t, ctx)

			c.Partition(old, big)
			var want, lost []int
			switch tc.serves {
			case "big":
				want, lost = big, old
			case "old":
				want, lost = old, big
			default:
				lost = append(slices.Clone(old), big...)
			}
			c.waitServing(t, ctx, want)
			for _, i := range lost {
				reason, _ := c.Node(i).Suspended()
				require.True(t, strings.HasPrefix(reason, string(tc.rules.Strategy)+":"), "reason %q", reason)
				_, err := c.Node(i).Call(ctx, c.Name(i), "echo", nil)
				require.ErrorIs(t, err, mesh.ErrSuspended)
				require.ErrorContains(t, err, reason)
			}
			for _, i := range want {
				_, err := c.Node(i).Call(ctx, c.Name(want[0]), "echo", nil)
				require.NoError(t, err)
			}

			c.HealAll()
			c.waitWhole(t, ctx)
			for _, i := range lost {
				st := c.res[i].Status()
				require.Equal(t, uint64(1), st.Downs, "%s went down once", c.Name(i))
				require.Equal(t, uint64(1), st.Ups)
			}
		})
	}
}

// TestAsymmetricSplit cuts the link between two nodes of three while both
// still reach the third: under every strategy only the younger of the two
// stops serving, and serves again once the link is back.
func TestAsymmetricSplit(t *testing.T) {
	for _, rules := range []splitbrain.Rules{
		{Strategy: splitbrain.KeepMajority}, {Strategy: splitbrain.KeepOldest},
		{Strategy: splitbrain.StaticQuorum, QuorumSize: 2}, {Strategy: splitbrain.DownAll},
	} {
		t.Run(string(rules.Strategy), func(t *testing.T) {
			c := attach(t, 3, splitbrain.Config{Rules: rules})
			ctx := testnet.Context(t, 30*time.Second)
			c.waitWhole(t, ctx)
			age := c.byAge()
			a, b, third := age[0], age[2], age[1] // cut the oldest from the youngest
			c.Cut(a, b)
			c.waitServing(t, ctx, []int{a, third})
			reason, _ := c.Node(b).Suspended()
			require.Contains(t, reason, "cannot reach each other")
			require.Contains(t, reason, c.Name(a)+" is the older")
			require.Equal(t, []string{c.Name(b)}, c.res[third].Status().Decision.Losers)

			c.HealAll()
			c.waitWhole(t, ctx)
		})
	}
}

// TestFlappingSplit runs every strategy on two flapping splits of three
// nodes, faster than StableAfter: one link (asymmetric: the third node
// reaches both ends) and one node cut off from the other two (symmetric).
// No decision can be taken, and once the view has kept losing links for
// StableAfter + DownAllWhenUnstable every node stops serving
// (down-all-when-unstable). When the network holds still again, every node
// serves again.
func TestFlappingSplit(t *testing.T) {
	const flapStable = time.Second
	shapes := []struct {
		name     string
		cut, fix func(c *cluster)
	}{
		{"asymmetric", func(c *cluster) { c.Cut(0, 1) }, func(c *cluster) { c.Heal(0, 1) }},
		{"symmetric", func(c *cluster) { c.Isolate(2) }, func(c *cluster) { c.HealAll() }},
	}
	for _, rules := range []splitbrain.Rules{
		{Strategy: splitbrain.KeepMajority}, {Strategy: splitbrain.KeepOldest},
		{Strategy: splitbrain.StaticQuorum, QuorumSize: 2}, {Strategy: splitbrain.DownAll},
	} {
		for _, shape := range shapes {
			t.Run(string(rules.Strategy)+"/"+shape.name, func(t *testing.T) {
				c := attach(t, 3, splitbrain.Config{Rules: rules, StableAfter: flapStable})
				ctx := testnet.Context(t, 30*time.Second)
				c.waitWhole(t, ctx)

				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					for {
						shape.cut(c)
						select {
						case <-stop:
							return
						case <-time.After(flapStable / 10):
						}
						shape.fix(c)
						select {
						case <-stop:
							return
						case <-time.After(flapStable / 10):
						}
					}
				})
				c.waitServing(t, ctx, nil)
				close(stop)
				wg.Wait()
				unstable := 0
				for i := range c.Len() {
					// A flap whose cut outlasts StableAfter (redials back
					// off) is decided as the split it is then.
					reason, _ := c.Node(i).Suspended()
					if strings.Contains(reason, "unstable") {
						unstable++
					}
					require.True(t, strings.HasPrefix(reason, string(rules.Strategy)+": "), "%s's reason: %q", c.Name(i), reason)
				}
				require.NotZero(t, unstable, "some node went down for instability")
				c.HealAll()
				c.waitWhole(t, ctx)
			})
		}
	}
}

// TestBriefSplitIsNotDecided: a split shorter than StableAfter suspends no
// one; the partition records it leaves are cleared once the view has held
// still.
func TestBriefSplitIsNotDecided(t *testing.T) {
	c := attach(t, 3, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.KeepMajority}, StableAfter: 2 * time.Second})
	ctx := testnet.Context(t, 30*time.Second)
	c.waitWhole(t, ctx)
	c.Partition([]int{0}, []int{1, 2})
	require.NoError(t, c.Until(ctx, "the split to be seen", func() string {
		if n := len(c.Node(0).Info().RunningNodes); n != 1 {
			return fmt.Sprintf("%s runs with %d nodes", c.Name(0), n)
		}
		return ""
	}))
	c.HealAll()
	require.NoError(t, c.Until(ctx, "a partition recorded", func() string {
		if len(c.Node(0).Info().Partitions) == 0 {
			return "none yet"
		}
		return ""
	}))
	c.waitWhole(t, ctx)
	for i, r := range c.res {
		require.Zero(t, r.Status().Downs, "%s never went down", c.Name(i))
	}
}

// TestHooks: the Down hook runs with the decision after the node
// suspended; the Up hook runs before it resumes, and an Up hook that fails
// keeps the node down until it succeeds. With KeepServing the node is not
// suspended and the hooks alone act.
func TestHooks(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	upErr := errors.New("state store not ready")
	failUp := true
	var c *cluster
	cfg := splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.KeepMajority}}
	cfg.Hooks.Down = func(_ context.Context, d splitbrain.Decision) error {
		_, suspended := c.Node(2).Suspended()
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, fmt.Sprintf("down serve=%v suspended=%v", d.Serve, suspended))
		return nil
	}
	cfg.Hooks.Up = func(_ context.Context, d splitbrain.Decision) error {
		_, suspended := c.Node(2).Suspended()
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, fmt.Sprintf("up serve=%v suspended=%v", d.Serve, suspended))
		if failUp {
			failUp = false
			return upErr
		}
		return nil
	}
	c = &cluster{Cluster: meshtest.Formed(t, 3, nil)}
	cfg.StableAfter = stableAfter
	for i := range 3 {
		r, err := splitbrain.Attach(c.Node(i), cfg)
		require.NoError(t, err)
		c.res = append(c.res, r)
		t.Cleanup(r.Close)
	}
	ctx := testnet.Context(t, 30*time.Second)
	c.waitWhole(t, ctx)
	c.Partition([]int{0, 1}, []int{2})
	c.waitServing(t, ctx, []int{0, 1})
	c.HealAll()
	c.waitWhole(t, ctx)
	mu.Lock()
	require.Equal(t, []string{"down serve=false suspended=true", "up serve=true suspended=true", "up serve=true suspended=true"}, calls)
	mu.Unlock()
	require.Equal(t, uint64(1), c.res[2].Status().Ups)
}

// TestKeepServing: with KeepServing a losing node is not suspended; only
// its hook runs, and its status says it does not serve.
func TestKeepServing(t *testing.T) {
	downs := make(chan splitbrain.Decision, 4)
	c := attach(t, 3, splitbrain.Config{
		Rules:       splitbrain.Rules{Strategy: splitbrain.KeepMajority},
		KeepServing: true,
		Hooks:       splitbrain.Hooks{Down: func(_ context.Context, d splitbrain.Decision) error { downs <- d; return nil }},
	})
	ctx := testnet.Context(t, 30*time.Second)
	c.waitWhole(t, ctx)
	c.Isolate(0)
	select {
	case d := <-downs:
		require.False(t, d.Serve)
		require.Contains(t, d.Reason, "a minority")
	case <-ctx.Done():
		t.Fatal("no down hook ran")
	}
	_, suspended := c.Node(0).Suspended()
	require.False(t, suspended)
	require.False(t, c.res[0].Status().Serving)
}

// TestAttach: bad configurations are refused with the field named; a
// second resolver on a node is refused; the autoheal strategy attaches
// autoheal instead.
func TestAttach(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	n := c.Node(0)
	_, err := splitbrain.Attach(nil, splitbrain.Config{})
	require.ErrorContains(t, err, "node is nil")
	_, err = splitbrain.Attach(n, splitbrain.Config{})
	require.ErrorContains(t, err, "no strategy")
	_, err = splitbrain.Attach(n, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.StaticQuorum}})
	require.ErrorContains(t, err, "quorum size")
	_, err = splitbrain.Attach(n, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.KeepOldest}, StableAfter: -time.Second})
	require.ErrorContains(t, err, "StableAfter is -1s")

	r, err := splitbrain.Attach(n, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.KeepOldest}})
	require.NoError(t, err)
	_, err = splitbrain.Attach(n, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.DownAll}})
	require.ErrorIs(t, err, mesh.ErrHandlerExists)
	require.Nil(t, r.Autoheal())
	require.True(t, r.Status().Serving)
	r.Close()
	r.Close()

	ah, err := splitbrain.Attach(n, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.Autoheal}})
	require.NoError(t, err)
	require.NotNil(t, ah.Autoheal())
	require.Equal(t, splitbrain.Autoheal, ah.Status().Strategy)
	ah.Close()
}
