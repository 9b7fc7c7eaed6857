package mesh_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// downLog records every node-down event of every node of a cluster.
type downLog struct {
	mu    sync.Mutex
	downs map[[2]string]int // {observer, peer} -> node-down events
	wg    sync.WaitGroup
}

func watchDowns(t *testing.T, c *meshtest.Cluster) *downLog {
	d := &downLog{downs: map[[2]string]int{}}
	var subs []*mesh.Subscription
	t.Cleanup(func() {
		for _, s := range subs {
			s.Close()
		}
		d.wg.Wait()
	})
	for i := range c.Len() {
		s := c.Node(i).Subscribe()
		subs = append(subs, s)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for ev := range s.C() {
				if ev.Kind == mesh.EventNodeDown {
					d.mu.Lock()
					d.downs[[2]string{c.Name(i), ev.Node}]++
					d.mu.Unlock()
				}
			}
		}()
	}
	return d
}

// count returns the node-down events observer saw about peer.
func (d *downLog) count(observer, peer string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.downs[[2]string{observer, peer}]
}

// others lists the node-down events not between a pair in cut.
func (d *downLog) others(cut map[[2]string]bool) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for k, n := range d.downs {
		if !cut[k] {
			out = append(out, fmt.Sprintf("%s saw %s down %d times", k[0], k[1], n))
		}
	}
	return out
}

// A rolling rotation of the cookie on a running 5-node cluster: each node
// in turn gets the new cookie with the old one as previous, then every node
// drops the old one. After each step one link is cut and healed, so that
// the nodes redial with the cookies they have at that stage (rotated to
// not yet rotated, and back). No other link goes down, and at the end the
// old cookie is refused.
func TestRollingCookieRotation(t *testing.T) {
	const oldCookie = "meshtest-cookie" // meshtest's
	const newCookie = "rotated-cookie-0123456789abcdef"
	// dialOnly, when set, is the one node that may dial the other of a
	// cut pair, so that each direction of the redial is exercised.
	var c *meshtest.Cluster
	var mu sync.Mutex
	var dialOnly, other string
	c = meshtest.Formed(t, 5, func(i int, cfg *mesh.Config) {
		dial, me := cfg.Dial, cfg.Name
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			refuse := me == other && c.Node(slices.Index(c.Names(), dialOnly)).Addr().String() == addr
			mu.Unlock()
			if refuse {
				return nil, syscall.ECONNREFUSED
			}
			return dial(ctx, network, addr)
		}
	})
	ctx := testnet.Context(t, 90*time.Second)
	downs := watchDowns(t, c)
	cut := map[[2]string]bool{}
	cutAndHeal := func(dialer, acceptor int) {
		t.Helper()
		a, b := c.Name(dialer), c.Name(acceptor)
		before := downs.count(a, b) + downs.count(b, a)
		cut[[2]string{a, b}], cut[[2]string{b, a}] = true, true
		mu.Lock()
		dialOnly, other = a, b
		mu.Unlock()
		c.Cut(dialer, acceptor)
		require.NoError(t, c.Wait(ctx, fmt.Sprintf("%s and %s to see each other down", a, b), func() bool {
			return downs.count(a, b) > 0 && downs.count(b, a) > 0 && downs.count(a, b)+downs.count(b, a) >= before+2
		}))
		c.HealAll()
		require.NoError(t, c.WaitRunning(ctx), "every link back after %s redialed %s", a, b)
		mu.Lock()
		dialOnly, other = "", ""
		mu.Unlock()
	}

	for i := range c.Len() {
		require.NoError(t, c.Node(i).SetCookie(ctx, newCookie, oldCookie))
		// A rotated node dials one not yet rotated (both are rotated at
		// the last step): refused with the new cookie, it falls back to
		// the old one. Then the other way: the old cookie is accepted.
		j := (i + 1) % c.Len()
		cutAndHeal(i, j)
		cutAndHeal(j, i)
	}
	for i := range c.Len() {
		require.NoError(t, c.Node(i).SetCookie(ctx, newCookie))
	}
	cutAndHeal(0, 2)
	require.Empty(t, downs.others(cut), "only the links that were cut went down")

	connect := func(cookie string, previous ...string) error {
		cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: cookie, CookiePrevious: previous, Addr: c.Node(0).Addr().String(), HandshakeTimeout: time.Second}, c.Name(0))
		if err == nil {
			cl.Close()
		}
		return err
	}
	require.ErrorIs(t, connect(oldCookie), mesh.ErrBadCookie, "the old cookie, dropped everywhere")
	require.NoError(t, connect(newCookie))
	require.NoError(t, connect(oldCookie, "a-third-cookie-0123456789", newCookie), "a client falls back to its previous cookies, in order")
	require.ErrorIs(t, connect(oldCookie, "a-third-cookie-0123456789"), mesh.ErrBadCookie)
}

func TestSetCookieValidates(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	ctx := testnet.Context(t, 10*time.Second)
	n := c.Node(0)
	require.ErrorContains(t, n.SetCookie(ctx, ""), "mesh: node n1@127.0.0.1: set cookie: cookie is empty")
	require.ErrorContains(t, n.SetCookie(ctx, "same-cookie-0123456789", "same-cookie-0123456789"), "previous cookie 1 repeats an earlier cookie")

	cfg := c.Config(0)
	cfg.CookiePrevious = []string{""}
	_, err := mesh.Start(ctx, cfg)
	require.ErrorContains(t, err, "mesh config: Cookie, CookiePrevious: previous cookie 1 is empty")
}

// keyedDiscovery is a strategy that signs with the cookie: it records the
// cookies SetCookie gives it.
type keyedDiscovery struct {
	mu  sync.Mutex
	got [][]string // each SetCookie: current, then previous
}

func (k *keyedDiscovery) Discover(context.Context) ([]string, error) { return nil, nil }
func (k *keyedDiscovery) Register(context.Context) error             { return nil }
func (k *keyedDiscovery) Unregister(context.Context) error           { return nil }
func (k *keyedDiscovery) Lock(context.Context) error {
	return discovery.NotSupported("keyed", "lock")
}
func (k *keyedDiscovery) Unlock(context.Context) error {
	return discovery.NotSupported("keyed", "unlock")
}

func (k *keyedDiscovery) SetCookie(current string, previous ...string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = append(k.got, append([]string{current}, previous...))
	return nil
}

func (k *keyedDiscovery) calls() [][]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.got)
}

// A discovery strategy that signs with the cookie (mcast) follows the
// node's cookie changes; a change the node refuses does not reach it.
func TestSetCookieReachesAKeyedDiscovery(t *testing.T) {
	kd := &keyedDiscovery{}
	c := meshtest.Formed(t, 1, func(_ int, cfg *mesh.Config) { cfg.Discovery = kd })
	ctx := testnet.Context(t, 10*time.Second)
	n := c.Node(0)
	const oldCookie, newCookie = "the-old-cookie-0123456789", "the-new-cookie-0123456789"
	require.NoError(t, n.SetCookie(ctx, newCookie, oldCookie))
	require.NoError(t, n.SetCookie(ctx, newCookie))
	require.Error(t, n.SetCookie(ctx, ""))
	require.Equal(t, [][]string{{newCookie, oldCookie}, {newCookie}}, kd.calls())
}
