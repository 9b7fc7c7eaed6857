package locker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/lockcheck"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lockCluster is a meshtest cluster with one locker per node.
type lockCluster struct {
	t   *testing.T
	c   *meshtest.Cluster
	cfg Config
	mu  sync.Mutex
	ls  []*Locker
}

func startLockCluster(t *testing.T, n int, cfg Config, tweak func(int, *mesh.Config)) *lockCluster {
	t.Helper()
	c := meshtest.Formed(t, n, tweak)
	lc := &lockCluster{t: t, c: c, cfg: cfg, ls: make([]*Locker, n)}
	t.Cleanup(func() {
		lc.mu.Lock()
		for _, l := range lc.ls {
			if l != nil {
				l.Close()
			}
		}
		lc.mu.Unlock()
	})
	for i := range n {
		lc.attach(i)
	}
	return lc
}

func (lc *lockCluster) attach(i int) {
	l, err := New(lc.c.Node(i), lc.cfg)
	if err != nil {
		lc.t.Fatal(err)
	}
	lc.mu.Lock()
	lc.ls[i] = l
	lc.mu.Unlock()
}

func (lc *lockCluster) locker(i int) *Locker {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.ls[i]
}

// kill crashes node i: cut off first so that nothing it says on the way
// out reaches anyone, its locker closed (its grants stay in the tables),
// then stopped.
func (lc *lockCluster) kill(i int) {
	lc.c.Isolate(i)
	lc.mu.Lock()
	l := lc.ls[i]
	lc.ls[i] = nil
	lc.mu.Unlock()
	if l != nil {
		l.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lc.c.Kill(ctx, i); err != nil {
		lc.t.Fatal(err)
	}
}

// resourceFor finds a resource whose quorum, in a cluster of lc's members,
// is want exactly (in any order).
func (lc *lockCluster) resourceFor(want ...int) string {
	names := lc.c.Names()
	r := NewRing(names)
	w := lc.c.Names(want...)
	for i := 0; ; i++ {
		res := fmt.Sprintf("res-%d", i)
		q := r.Nodes(res, QuorumSize(len(names)))
		slices.Sort(q)
		if slices.Equal(q, w) {
			return res
		}
	}
}

// worker acquires and releases resource in a loop from locker l as owner
// until ctx ends, recording its holds.
func worker(ctx context.Context, l func() *Locker, typ Type, resource, owner string, lease time.Duration, h *lockcheck.History, rng *rand.Rand, grants *atomic.Int64) {
	misses := 0 // refusals in a row
	for ctx.Err() == nil {
		lk := l()
		if lk == nil {
			return
		}
		actx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		res, err := lk.Acquire(actx, resource, Options{Type: typ, Owner: owner, Lease: lease})
		cancel()
		if err != nil || !res.OK {
			// Back off like a real client: acquirers that retry in step
			// keep refusing each other (an "all" lock needs every table),
			// and the slower a round trip (-race), the more they overlap.
			misses = min(misses+1, 4)
			sleep(ctx, time.Duration(1+rng.IntN(5))*time.Millisecond<<misses)
			continue
		}
		misses = 0
		start := time.Now()
		grants.Add(1)
		sleep(ctx, time.Duration(rng.IntN(3000))*time.Microsecond)
		end := time.Now()
		if d := res.Lease.Deadline(); d.Before(end) {
			end = d
		}
		h.Add(lockcheck.Hold{Owner: owner, Token: res.Token, Start: start, End: end})
		rctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		lk.Release(rctx, resource, Options{Type: typ, Owner: owner})
		cancel()
		sleep(ctx, time.Duration(rng.IntN(2000))*time.Microsecond)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// TestConcurrentAcquirers: on 3 and 5 nodes, for every type, acquirers on
// every node contend for one resource: exactly one holder at a time, tokens
// in grant order. Local locks are one node's table, so its acquirers all
// use node 1's locker.
func TestConcurrentAcquirers(t *testing.T) {
	for _, n := range []int{3, 5} {
		for _, typ := range Types {
			t.Run(fmt.Sprintf("%d nodes/%s", n, typ), func(t *testing.T) {
				lc := startLockCluster(t, n, Config{Lease: 2 * time.Second, CallTimeout: time.Second}, nil)
				// The workers contend for at least 1.5s, and on until the
				// locks have changed hands (a loaded machine may take
				// longer: progress is asserted, not speed), at most 30s.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				var h lockcheck.History
				var grants atomic.Int64
				var wg sync.WaitGroup
				progressed := func() bool {
					owners := map[string]bool{}
					for _, x := range h.Holds() {
						owners[x.Owner] = true
					}
					return grants.Load() >= int64(n) && len(owners) >= 2
				}
				wg.Go(func() {
					min := time.NewTimer(1500 * time.Millisecond)
					defer min.Stop()
					select {
					case <-min.C:
					case <-ctx.Done():
						return
					}
					tick := time.NewTicker(50 * time.Millisecond)
					defer tick.Stop()
					for !progressed() {
						select {
						case <-tick.C:
						case <-ctx.Done():
							return
						}
					}
					cancel()
				})
				for i := range n {
					li := i
					if typ == Local {
						li = 0
					}
					for k := range 2 {
						rng := rand.New(rand.NewPCG(uint64(i), uint64(k)))
						wg.Go(func() {
							worker(ctx, func() *Locker { return lc.locker(li) }, typ, "shared", fmt.Sprintf("w%d.%d", i, k), 2*time.Second, &h, rng, &grants)
						})
					}
				}
				wg.Wait()
				if err := lockcheck.Check(h.Holds()); err != nil {
					t.Fatal(err)
				}
				owners := map[string]bool{}
				for _, x := range h.Holds() {
					owners[x.Owner] = true
				}
				if grants.Load() < int64(n) || len(owners) < 2 {
					t.Fatalf("%d grants to %d owners in 30s, want at least %d grants to at least 2 owners", grants.Load(), len(owners), n)
				}
				t.Logf("%d grants to %d owners, one holder at a time", grants.Load(), len(owners))
			})
		}
	}
}

// TestHolderNodeKilled: the node of a quorum lock's holder crashes; the
// lock is free when its lease ends, and not before.
func TestHolderNodeKilled(t *testing.T) {
	const lease = 1500 * time.Millisecond
	lc := startLockCluster(t, 3, Config{Lease: lease, CallTimeout: 500 * time.Millisecond}, nil)
	res := lc.resourceFor(0, 1) // the holder's node 3 is not in the quorum
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	got, err := lc.locker(2).Acquire(ctx, res, Options{})
	if err != nil || !got.OK {
		t.Fatalf("n3 acquires %q: %+v, %v; want granted", res, got, err)
	}
	lc.kill(2)
	for {
		r, err := lc.locker(0).Acquire(ctx, res, Options{Lease: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if r.OK {
			if now.Before(start.Add(lease)) {
				t.Fatalf("granted %v after the holder's acquire began, before its %v lease ended", now.Sub(start), lease)
			}
			if late := now.Sub(start.Add(lease)); late > 800*time.Millisecond {
				t.Fatalf("granted %v after the lease ended, want within 800ms", late)
			}
			t.Logf("free %v after the dead holder's lease ended", now.Sub(start.Add(lease)))
			return
		}
		if len(r.Refused) == 0 {
			t.Fatalf("refused without a reason: %+v", r)
		}
		sleep(ctx, 20*time.Millisecond)
	}
}

// TestAllFailsOnUnreachableNode: a member that does not answer (a
// blackhole: still running as far as the membership knows) makes an all
// lock fail, and the grants of the others are released.
func TestAllFailsOnUnreachableNode(t *testing.T) {
	lc := startLockCluster(t, 3, Config{Lease: 5 * time.Second, CallTimeout: 300 * time.Millisecond}, func(_ int, c *mesh.Config) {
		c.HeartbeatTimeout = 20 * time.Second // keep the silent node running in the views
	})
	lc.c.Blackhole(0, 2)
	lc.c.Blackhole(2, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := lc.locker(0).Acquire(ctx, "all-res", Options{Type: All})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK {
		t.Fatalf("all lock with n3 unreachable: %+v, want refused", r)
	}
	if _, ok := r.Refused[lc.c.Name(2)]; !ok {
		t.Fatalf("all lock refused by %v, want n3 listed as failed", r.Refused)
	}
	for i := range 2 {
		if o, _, _, held := lc.locker(i).Holder("all-res"); held {
			t.Fatalf("after the failed all lock, n%d still grants it to %s, want released", i+1, o)
		}
	}
	// Bytes were dropped, so the link is broken: reset it and heal.
	lc.c.HealAll()
	lc.c.Reset(0, 2)
	err = lc.c.Wait(ctx, "an all lock granted by all 3 nodes after the heal", func() bool {
		r, err = lc.locker(0).Acquire(ctx, "all-res", Options{Type: All})
		if err == nil && r.OK && len(r.Granted) != 3 {
			lc.locker(0).Release(ctx, "all-res", Options{Type: All})
		}
		return err == nil && r.OK && len(r.Granted) == 3
	})
	if err != nil {
		t.Fatalf("%v; last try: %+v", err, r)
	}
}

// TestLeaseLostAndAutoRenew: a lease not renewed is reported lost at its
// deadline; an auto-renewed one outlives several leases.
func TestLeaseLostAndAutoRenew(t *testing.T) {
	lc := startLockCluster(t, 3, Config{Lease: 300 * time.Millisecond, CallTimeout: 200 * time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := lc.locker(0).Acquire(ctx, "plain", Options{})
	if err != nil || !r.OK {
		t.Fatalf("acquire: %+v, %v", r, err)
	}
	select {
	case <-r.Lease.Lost():
		if time.Now().Before(r.Lease.Deadline()) {
			t.Fatal("lost before the deadline")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a lease never renewed was not reported lost within 2s")
	}
	if err := r.Lease.Err(); err == nil || !errorsIs(err, ErrLeaseLost) {
		t.Fatalf("Err after loss: %v, want ErrLeaseLost", err)
	}
	if _, err := lc.locker(0).Renew(ctx, "plain", Options{}); err == nil {
		t.Fatal("renew after the loss succeeded, want an error")
	}

	a, err := lc.locker(1).Acquire(ctx, "renewed", Options{AutoRenew: true})
	if err != nil || !a.OK {
		t.Fatalf("acquire with AutoRenew: %+v, %v", a, err)
	}
	sleep(ctx, time.Second)
	select {
	case <-a.Lease.Lost():
		t.Fatalf("auto-renewed lease lost: %v", a.Lease.Err())
	default:
	}
	if b, _ := lc.locker(2).Acquire(ctx, "renewed", Options{}); b.OK {
		t.Fatal("another owner got an auto-renewed lock")
	}
	// Re-entry returns the same lease and token.
	again, err := lc.locker(1).Acquire(ctx, "renewed", Options{})
	if err != nil || !again.OK || again.Token != a.Token || again.Lease != a.Lease {
		t.Fatalf("re-entry: %+v, %v; want the same lease and token %d", again, err, a.Token)
	}
	// Release by another owner is refused; by the owner it works.
	if rr, _ := lc.locker(2).Release(ctx, "renewed", Options{Owner: "intruder"}); rr.OK {
		t.Fatalf("release by a non-owner: %+v, want refused", rr)
	}
	if rr, err := a.Lease.Release(ctx); err != nil || !rr.OK {
		t.Fatalf("release by the owner: %+v, %v", rr, err)
	}
	select {
	case <-a.Lease.Lost():
		t.Fatal("Release closed Lost")
	default:
	}
}

// TestSeveralLockersPerNode: lock services of different names are separate.
func TestSeveralLockersPerNode(t *testing.T) {
	lc := startLockCluster(t, 2, Config{}, nil)
	other, err := New(lc.c.Node(0), Config{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := New(lc.c.Node(0), Config{Name: "other"}); err == nil {
		t.Fatal("a second locker named other on one node: no error")
	}
	ctx := context.Background()
	if r, _ := lc.locker(0).Acquire(ctx, "x", Options{Type: Local, Owner: "a"}); !r.OK {
		t.Fatal("default locker refused")
	}
	if r, _ := other.Acquire(ctx, "x", Options{Type: Local, Owner: "b"}); !r.OK {
		t.Fatal("the locker named other shares the default locker's table")
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
