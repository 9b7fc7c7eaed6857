package locker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/lockcheck"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// faultHistory runs two acquirers per node for typ on one resource while
// inject injects faults, and returns the recorded holds.
func faultHistory(t *testing.T, lc *lockCluster, typ Type, lease time.Duration, inject func(ctx context.Context)) ([]lockcheck.Hold, int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var h lockcheck.History
	var grants atomic.Int64
	var wg sync.WaitGroup
	for i := range lc.c.Len() {
		for k := range 2 {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(k)+7))
			wg.Go(func() {
				worker(ctx, func() *Locker { return lc.locker(i) }, typ, "contended", fmt.Sprintf("w%d.%d", i, k), lease, &h, rng, &grants)
			})
		}
	}
	inject(ctx)
	cancel()
	wg.Wait()
	return h.Holds(), grants.Load()
}

func pause(d time.Duration) { time.Sleep(d) }

// TestHistorySafeUnderFaults: the situations GUARANTEES.md calls safe, per
// type, checked by the history checker. Quorum: partitions (minority and
// majority, twice), delays, a crash. Leader and all: delays and the crash
// of a member that is not the leader.
func TestHistorySafeUnderFaults(t *testing.T) {
	const lease = 400 * time.Millisecond
	delays := func(lc *lockCluster) {
		lc.c.Delay(0, 1, 30*time.Millisecond)
		lc.c.Delay(3, 0, 50*time.Millisecond)
		pause(500 * time.Millisecond)
		lc.c.HealAll()
	}
	crash := func(lc *lockCluster) {
		lc.kill(4) // the youngest node: never the leader
		pause(800 * time.Millisecond)
	}
	cases := []struct {
		typ    Type
		faults func(lc *lockCluster)
	}{
		{Quorum, func(lc *lockCluster) {
			pause(200 * time.Millisecond)
			lc.c.Partition([]int{0, 1}, []int{2, 3, 4})
			pause(700 * time.Millisecond)
			lc.c.HealAll()
			pause(300 * time.Millisecond)
			lc.c.Partition([]int{0, 2, 4}, []int{1, 3})
			pause(700 * time.Millisecond)
			lc.c.HealAll()
			delays(lc)
			crash(lc)
		}},
		{Leader, func(lc *lockCluster) {
			pause(200 * time.Millisecond)
			delays(lc)
			crash(lc)
		}},
		{All, func(lc *lockCluster) {
			pause(200 * time.Millisecond)
			delays(lc)
			crash(lc)
		}},
		{Local, func(lc *lockCluster) {
			pause(200 * time.Millisecond)
			lc.c.Partition([]int{0, 1}, []int{2, 3, 4})
			pause(500 * time.Millisecond)
			lc.c.HealAll()
			crash(lc)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.typ.String(), func(t *testing.T) {
			var tweak func(int, *mesh.Config)
			if tc.typ == Leader || tc.typ == All {
				// These are safe while every node agrees on who runs (the
				// leader, the members): GUARANTEES.md. The faults here
				// never split the cluster, but under -race on a loaded
				// machine the process can stall past meshtest's 600 ms
				// heartbeat timeout, a false "down" that changes a node's
				// view of the leader, which is the partition case these
				// types do not cover (CI saw it once: two holders). A
				// longer timeout keeps the test to what it is about.
				tweak = func(_ int, c *mesh.Config) { c.HeartbeatTimeout = 3 * time.Second }
			}
			lc := startLockCluster(t, 5, Config{Lease: lease, CallTimeout: 250 * time.Millisecond}, tweak)
			holds, grants := faultHistory(t, lc, tc.typ, lease, func(context.Context) { tc.faults(lc) })
			if tc.typ == Local {
				// One table per node: exclusion holds among each node's owners.
				byNode := map[byte][]lockcheck.Hold{}
				for _, h := range holds {
					byNode[h.Owner[1]] = append(byNode[h.Owner[1]], h)
				}
				for n, hs := range byNode {
					if err := lockcheck.Check(hs); err != nil {
						t.Fatalf("node %c: %v", n, err)
					}
				}
			} else if err := lockcheck.Check(holds); err != nil {
				t.Fatal(err)
			}
			if grants < 10 {
				t.Fatalf("only %d grants in the whole run, want at least 10", grants)
			}
			t.Logf("%d grants, mutual exclusion by token order holds", grants)
		})
	}
}

// TestHistoryUnsafeCases shows the cases GUARANTEES.md calls unsafe: the
// checker finds two holders at once.
func TestHistoryUnsafeCases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const lease = 2 * time.Second
	both := func(t *testing.T, lc *lockCluster, typ Type, res string, a, b int) {
		t.Helper()
		ra, err := lc.locker(a).Acquire(ctx, res, Options{Type: typ, Owner: "A"})
		if err != nil || !ra.OK {
			t.Fatalf("A on n%d: %+v, %v; want granted", a+1, ra, err)
		}
		startA := time.Now()
		rb, err := lc.locker(b).Acquire(ctx, res, Options{Type: typ, Owner: "B"})
		if err != nil || !rb.OK {
			t.Fatalf("B on n%d while A holds: %+v, %v; this case is documented unsafe and B should have got it", b+1, rb, err)
		}
		startB := time.Now()
		holds := []lockcheck.Hold{{Owner: "A", Token: ra.Token, Start: startA, End: ra.Lease.Deadline()}, {Owner: "B", Token: rb.Token, Start: startB, End: rb.Lease.Deadline()}}
		err = lockcheck.Check(holds)
		if err == nil {
			t.Fatal("the checker found no violation in a history with two holders at once")
		}
		t.Logf("as documented: %v", err)
	}
	partitioned := func(t *testing.T, typ Type) {
		lc := startLockCluster(t, 3, Config{Lease: lease, CallTimeout: 300 * time.Millisecond}, nil)
		lc.c.Partition([]int{0}, []int{1, 2})
		if err := lc.c.WaitRunning(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if err := lc.c.WaitRunning(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		both(t, lc, typ, "split", 0, 1)
	}
	t.Run("leader under a partition", func(t *testing.T) { partitioned(t, Leader) })
	t.Run("all under a partition", func(t *testing.T) { partitioned(t, All) })
	t.Run("leader crash", func(t *testing.T) {
		lc := startLockCluster(t, 3, Config{Lease: lease, CallTimeout: 300 * time.Millisecond}, nil)
		ra, err := lc.locker(2).Acquire(ctx, "r", Options{Type: Leader, Owner: "A"})
		if err != nil || !ra.OK {
			t.Fatalf("A: %+v, %v", ra, err)
		}
		startA := time.Now()
		lc.kill(0) // the leader: its table is gone
		if err := lc.c.WaitRunning(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		rb, err := lc.locker(1).Acquire(ctx, "r", Options{Type: Leader, Owner: "B"})
		if err != nil || !rb.OK {
			t.Fatalf("B from the new leader while A's lease runs: %+v, %v; documented unsafe, want granted", rb, err)
		}
		if rb.Token <= ra.Token {
			t.Fatalf("the new leader's token %d is not above the old %d (same clock)", rb.Token, ra.Token)
		}
		err = lockcheck.Check([]lockcheck.Hold{{Owner: "A", Token: ra.Token, Start: startA, End: ra.Lease.Deadline()}, {Owner: "B", Token: rb.Token, Start: time.Now(), End: rb.Lease.Deadline()}})
		if err == nil {
			t.Fatal("no violation found")
		}
		t.Logf("as documented: %v", err)
	})
	t.Run("quorum with two quorum members restarted within a lease", func(t *testing.T) {
		lc := startLockCluster(t, 5, Config{Lease: lease, CallTimeout: 300 * time.Millisecond}, nil)
		res := lc.resourceFor(0, 1, 2)
		ra, err := lc.locker(3).Acquire(ctx, res, Options{Owner: "A"})
		if err != nil || !ra.OK {
			t.Fatalf("A: %+v, %v", ra, err)
		}
		startA := time.Now()
		for _, i := range []int{1, 2} {
			lc.kill(i)
			lc.c.HealAll()
			if err := lc.c.Restart(ctx, i); err != nil {
				t.Fatal(err)
			}
			lc.attach(i)
		}
		if err := lc.c.WaitRunning(ctx, 0, 1, 2, 3, 4); err != nil {
			t.Fatal(err)
		}
		rb, err := lc.locker(4).Acquire(ctx, res, Options{Owner: "B"})
		if err != nil || !rb.OK {
			t.Fatalf("B after two of the quorum restarted empty: %+v, %v; documented unsafe, want granted", rb, err)
		}
		err = lockcheck.Check([]lockcheck.Hold{{Owner: "A", Token: ra.Token, Start: startA, End: ra.Lease.Deadline()}, {Owner: "B", Token: rb.Token, Start: time.Now(), End: rb.Lease.Deadline()}})
		if err == nil {
			t.Fatal("no violation found")
		}
		t.Logf("as documented: %v", err)
	})
}
