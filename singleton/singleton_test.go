package singleton

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/lockcheck"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start is one run of the function: on which node, with which token, when.
type start struct {
	node  int
	token uint64
	at    time.Time
}

// cluster is a meshtest cluster with a locker and a Run per node; every
// run of the function is recorded as a hold in h.
type cluster struct {
	t    *testing.T
	c    *meshtest.Cluster
	lcfg locker.Config
	cfg  Config
	// work, when set, is how long a run works before it fails (returns
	// an error) unless its ctx is cancelled first.
	work func() time.Duration
	h    lockcheck.History

	mu     sync.Mutex
	ls     []*locker.Locker
	cancel []context.CancelFunc
	done   []chan error
	starts []start
	// causes are why each run's ctx was cancelled, by token.
	causes map[uint64]error
}

const name = "billing"

var errWorkFailed = errors.New("work failed")

func startCluster(t *testing.T, n int, lcfg locker.Config, cfg Config, tweak func(i int, sc *cluster, mc *mesh.Config)) *cluster {
	t.Helper()
	sc := &cluster{t: t, lcfg: lcfg, cfg: cfg, causes: map[uint64]error{}, ls: make([]*locker.Locker, n), cancel: make([]context.CancelFunc, n), done: make([]chan error, n)}
	var mt func(int, *mesh.Config)
	if tweak != nil {
		mt = func(i int, mc *mesh.Config) { tweak(i, sc, mc) }
	}
	sc.c = meshtest.Formed(t, n, mt)
	t.Cleanup(func() {
		for i := range n {
			sc.stopRun(i)
			sc.mu.Lock()
			l := sc.ls[i]
			sc.mu.Unlock()
			if l != nil {
				l.Close()
			}
		}
	})
	for i := range n {
		l, err := locker.New(sc.c.Node(i), lcfg)
		if err != nil {
			t.Fatal(err)
		}
		sc.ls[i] = l
	}
	return sc
}

// fn is node i's function: it records its run and works until its ctx is
// cancelled (or, with work set, fails after a while).
func (sc *cluster) fn(i int) Func {
	return func(ctx context.Context, token uint64) error {
		st := start{node: i, token: token, at: time.Now()}
		sc.mu.Lock()
		sc.starts = append(sc.starts, st)
		work := sc.work
		sc.mu.Unlock()
		var err error
		if work != nil {
			t := time.NewTimer(work())
			select {
			case <-ctx.Done():
			case <-t.C:
				err = errWorkFailed
			}
			t.Stop()
		} else {
			<-ctx.Done()
		}
		sc.h.Add(lockcheck.Hold{Owner: sc.c.Name(i), Token: token, Start: st.at, End: time.Now()})
		sc.mu.Lock()
		sc.causes[token] = context.Cause(ctx)
		sc.mu.Unlock()
		return err
	}
}

// run starts Run on node i.
func (sc *cluster) run(i int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sc.mu.Lock()
	l := sc.ls[i]
	sc.cancel[i], sc.done[i] = cancel, done
	sc.mu.Unlock()
	go func() { done <- Run(ctx, l, name, sc.fn(i), sc.cfg) }()
}

// stopRun cancels node i's Run and returns what it returned (nil if it
// was not running).
func (sc *cluster) stopRun(i int) error {
	sc.mu.Lock()
	cancel, done := sc.cancel[i], sc.done[i]
	sc.cancel[i], sc.done[i] = nil, nil
	sc.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	return <-done
}

// waitRun waits for node i's Run to return by itself.
func (sc *cluster) waitRun(i int) error {
	sc.mu.Lock()
	cancel, done := sc.cancel[i], sc.done[i]
	sc.cancel[i], sc.done[i] = nil, nil
	sc.mu.Unlock()
	err := <-done
	cancel()
	return err
}

func (sc *cluster) startsSoFar() []start {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return slices.Clone(sc.starts)
}

// nextStart waits for a run that began after the first `after` runs.
func (sc *cluster) nextStart(d time.Duration, after int, what string) start {
	sc.t.Helper()
	var st start
	testnet.Eventually(sc.t, d, what, func() string {
		s := sc.startsSoFar()
		if len(s) <= after {
			return fmt.Sprintf("%d runs so far, none new", len(s))
		}
		st = s[after]
		return ""
	})
	return st
}

// crash kills node i: cut off first so that nothing it says on the way out
// reaches anyone (its release neither), its locker closed, then stopped.
func (sc *cluster) crash(i int) {
	sc.c.Isolate(i)
	sc.mu.Lock()
	l := sc.ls[i]
	sc.ls[i] = nil
	sc.mu.Unlock()
	l.Close()
	if err := sc.waitRun(i); !errors.Is(err, ErrStopped) {
		sc.t.Fatalf("Run on the crashed n%d returned %v, want ErrStopped", i+1, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sc.c.Kill(ctx, i); err != nil {
		sc.t.Fatal(err)
	}
}

// handedOver waits for the run after first, on another node with a larger
// token, then stops every Run and checks the history. It returns that run
// and why first's ctx was cancelled; what says what happened to first's
// node.
func (sc *cluster) handedOver(first start, what string) (start, error) {
	sc.t.Helper()
	next := sc.nextStart(10*time.Second, 1, "a run on another node")
	if next.node == first.node || next.token <= first.token {
		sc.t.Fatalf("after n%d (token %d) was %s, n%d ran with token %d, want another node and a larger token", first.node+1, first.token, what, next.node+1, next.token)
	}
	for i := range sc.c.Len() {
		sc.stopRun(i)
	}
	sc.check()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return next, sc.causes[first.token]
}

func (sc *cluster) check() {
	sc.t.Helper()
	if err := lockcheck.Check(sc.h.Holds()); err != nil {
		sc.t.Fatal(err)
	}
}

// TestOneRunnerUnderFaults: five nodes run the singleton while runs fail
// and hand over, the network splits twice and the holder crashes; the
// runs, recorded with their tokens, never overlap.
func TestOneRunnerUnderFaults(t *testing.T) {
	const lease = 600 * time.Millisecond
	sc := startCluster(t, 5, locker.Config{Name: "singletons", CallTimeout: 250 * time.Millisecond},
		Config{Lease: lease, Retry: 50 * time.Millisecond, Backoff: 100 * time.Millisecond}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	var rmu sync.Mutex
	sc.work = func() time.Duration {
		rmu.Lock()
		defer rmu.Unlock()
		return time.Duration(50+rng.IntN(300)) * time.Millisecond
	}
	for i := range 5 {
		sc.run(i)
	}
	pause := time.Sleep
	sc.nextStart(10*time.Second, 0, "the first run")
	pause(300 * time.Millisecond)
	sc.c.Partition([]int{0, 1}, []int{2, 3, 4})
	pause(1200 * time.Millisecond)
	sc.c.HealAll()
	pause(400 * time.Millisecond)
	sc.c.Partition([]int{0, 2, 4}, []int{1, 3})
	pause(1200 * time.Millisecond)
	sc.c.HealAll()
	// Crash the node of the latest run, while it runs (no more failures).
	sc.mu.Lock()
	sc.work = nil
	sc.mu.Unlock()
	n := len(sc.startsSoFar())
	st := sc.nextStart(10*time.Second, n, "a run that does not fail")
	sc.crash(st.node)
	after := sc.nextStart(10*time.Second, n+1, "a run after the crash")
	if after.node == st.node || after.token <= st.token {
		t.Fatalf("after n%d (token %d) crashed, n%d ran with token %d, want another node and a larger token", st.node+1, st.token, after.node+1, after.token)
	}
	for i := range 5 {
		if i != st.node {
			if err := sc.stopRun(i); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run on n%d returned %v, want context.Canceled", i+1, err)
			}
		}
	}
	sc.check()
	starts := sc.startsSoFar()
	nodes := map[int]bool{}
	for _, s := range starts {
		nodes[s.node] = true
	}
	if len(starts) < 5 || len(nodes) < 2 {
		t.Fatalf("%d runs on %d nodes, want at least 5 runs on 2 nodes", len(starts), len(nodes))
	}
	t.Logf("%d runs on %d nodes, one at a time by token order", len(starts), len(nodes))
}

// TestHandover: a node whose Stop or Leave hook cancels its Run releases
// the lock, and another node runs the singleton well before the lease
// would have run out.
func TestHandover(t *testing.T) {
	const lease = 6 * time.Second
	handover := func(t *testing.T, leave func(ctx context.Context, sc *cluster, i int) error) {
		stopHook := func(i int, sc *cluster) mesh.Hook {
			return func(context.Context, mesh.HookEvent) error {
				// nil: the test stopped this Run already.
				if err := sc.stopRun(i); err != nil && !errors.Is(err, context.Canceled) {
					return fmt.Errorf("Run returned %v, want context.Canceled", err)
				}
				return nil
			}
		}
		sc := startCluster(t, 5, locker.Config{Name: "singletons"}, Config{Lease: lease, Retry: 50 * time.Millisecond},
			func(i int, sc *cluster, mc *mesh.Config) {
				mc.Hooks.Stop = stopHook(i, sc)
				mc.Hooks.Leave = stopHook(i, sc)
			})
		for i := range 5 {
			sc.run(i)
		}
		first := sc.nextStart(10*time.Second, 0, "the first run")
		ctx := testnet.Context(t, 10*time.Second)
		left := time.Now()
		if err := leave(ctx, sc, first.node); err != nil {
			t.Fatal(err)
		}
		next := sc.nextStart(10*time.Second, 1, "a run after the holder went")
		took := next.at.Sub(left)
		if next.node == first.node || next.token <= first.token {
			t.Fatalf("after n%d (token %d) went, n%d ran with token %d, want another node and a larger token", first.node+1, first.token, next.node+1, next.token)
		}
		// Without the release the others wait for the lease to end: at
		// least Lease/2 after the last renewal.
		if took >= lease/2 {
			t.Fatalf("the handover took %v, want it before the lease could end (%v): the lock was not released", took, lease/2)
		}
		for i := range 5 {
			sc.stopRun(i)
		}
		sc.check()
		t.Logf("handed over from n%d to n%d in %v", first.node+1, next.node+1, took.Round(time.Millisecond))
	}
	t.Run("stop", func(t *testing.T) {
		handover(t, func(ctx context.Context, sc *cluster, i int) error { return sc.c.Kill(ctx, i) })
	})
	t.Run("leave", func(t *testing.T) {
		handover(t, func(ctx context.Context, sc *cluster, i int) error { return sc.c.Node(i).Leave(ctx) })
	})
}

// TestRestartAfterCrash: when the runner's node crashes, another node runs
// the singleton within Lease + 3 Retry/2 + 4 CallTimeout (doc.go).
func TestRestartAfterCrash(t *testing.T) {
	const lease, retry, callTimeout = time.Second, 50 * time.Millisecond, 300 * time.Millisecond
	sc := startCluster(t, 5, locker.Config{Name: "singletons", CallTimeout: callTimeout}, Config{Lease: lease, Retry: retry}, nil)
	for i := range 5 {
		sc.run(i)
	}
	first := sc.nextStart(10*time.Second, 0, "the first run")
	crashed := time.Now()
	sc.crash(first.node)
	next := sc.nextStart(10*time.Second, 1, "a run after the crash")
	took := next.at.Sub(crashed)
	if next.node == first.node || next.token <= first.token {
		t.Fatalf("after n%d (token %d) crashed, n%d ran with token %d, want another node and a larger token", first.node+1, first.token, next.node+1, next.token)
	}
	if bound := lease + 3*retry/2 + 4*callTimeout; took > bound {
		t.Fatalf("restarted %v after the crash, want within Lease + 3 Retry/2 + 4 CallTimeout = %v (doc.go)", took, bound)
	}
	for i := range 5 {
		sc.stopRun(i)
	}
	sc.check()
	t.Logf("restarted on n%d %v after n%d crashed", next.node+1, took.Round(time.Millisecond), first.node+1)
}

// TestPartitionedRunnerStops: a runner cut off from the others cannot
// renew; its function is stopped before its lease ends, and the majority
// side runs the singleton after it, with a larger token.
func TestPartitionedRunnerStops(t *testing.T) {
	const lease = time.Second
	sc := startCluster(t, 5, locker.Config{Name: "singletons", CallTimeout: 200 * time.Millisecond},
		Config{Lease: lease, Retry: 50 * time.Millisecond}, nil)
	for i := range 5 {
		sc.run(i)
	}
	first := sc.nextStart(10*time.Second, 0, "the first run")
	var others []int
	for i := range 5 {
		if i != first.node {
			others = append(others, i)
		}
	}
	sc.c.Partition([]int{first.node}, others)
	next, cause := sc.handedOver(first, "cut off")
	if !errors.Is(cause, ErrLeaseEnding) && !errors.Is(cause, locker.ErrLeaseLost) {
		t.Fatalf("the cut-off runner was stopped because %v, want ErrLeaseEnding or locker.ErrLeaseLost", cause)
	}
	t.Logf("n%d stopped (%v); n%d took over", first.node+1, cause, next.node+1)
}

// TestSuspendedRunnerHandsOver: the runner's node is suspended (its side
// lost a split-brain decision): its locker gives the lock up, so the
// function's ctx ends with the suspension as its cause and another node
// runs it with a larger token, long before the lease would have ended.
// The suspended node's Run does not run it again while suspended.
func TestSuspendedRunnerHandsOver(t *testing.T) {
	const lease = time.Minute // a takeover within the test is a handover, not an expiry
	sc := startCluster(t, 5, locker.Config{Name: "singletons", CallTimeout: time.Second},
		Config{Lease: lease, Retry: 50 * time.Millisecond}, nil)
	for i := range 5 {
		sc.run(i)
	}
	first := sc.nextStart(10*time.Second, 0, "the first run")
	if err := sc.c.Node(first.node).Suspend("keep-majority: a minority"); err != nil {
		t.Fatal(err)
	}
	next, cause := sc.handedOver(first, "suspended")
	for _, st := range sc.startsSoFar()[1:] {
		if st.node == first.node {
			t.Fatalf("suspended n%d ran again (token %d), want no run there while suspended", st.node+1, st.token)
		}
	}
	if !errors.Is(cause, mesh.ErrSuspended) || !errors.Is(cause, locker.ErrLeaseLost) {
		t.Fatalf("the suspended runner was stopped because %v, want locker.ErrLeaseLost wrapping mesh.ErrSuspended", cause)
	}
	t.Logf("n%d stopped (%v); n%d took over", first.node+1, cause, next.node+1)
}

// TestReturns: cancelling Run's ctx stops the function and releases the
// lock; nil from the function ends Run; an error restarts it after the
// backoff with a new token.
func TestReturns(t *testing.T) {
	l := oneNode(t)
	cfg := Config{Lease: 2 * time.Second, Retry: 20 * time.Millisecond, Backoff: 30 * time.Millisecond}

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		started, cancelled := make(chan uint64, 1), make(chan error, 1)
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, l, "cancel", func(fctx context.Context, token uint64) error {
				started <- token
				<-fctx.Done()
				cancelled <- fctx.Err()
				return fctx.Err()
			}, cfg)
		}()
		<-started
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
		if err := <-cancelled; err == nil {
			t.Fatal("the function's ctx was not cancelled")
		}
		if owner, _, _, held := l.Holder(Resource("cancel")); held {
			t.Fatalf("the lock is still held by %s after Run returned, want it released", owner)
		}
	})
	t.Run("nil ends Run", func(t *testing.T) {
		var tokens []uint64
		for range 2 {
			err := Run(context.Background(), l, "once", func(_ context.Context, token uint64) error {
				tokens = append(tokens, token)
				return nil
			}, cfg)
			if err != nil {
				t.Fatalf("Run returned %v, want nil after the function returned nil", err)
			}
		}
		if len(tokens) != 2 || tokens[1] <= tokens[0] {
			t.Fatalf("tokens %v, want one run per Run, the second with a larger token", tokens)
		}
	})
	t.Run("error restarts", func(t *testing.T) {
		var tokens []uint64
		err := Run(context.Background(), l, "flaky", func(_ context.Context, token uint64) error {
			tokens = append(tokens, token)
			if len(tokens) < 3 {
				return errWorkFailed
			}
			return nil
		}, cfg)
		if err != nil {
			t.Fatalf("Run returned %v, want nil after the third run succeeded", err)
		}
		if len(tokens) != 3 || !slices.IsSorted(tokens) || tokens[0] == tokens[2] {
			t.Fatalf("tokens %v, want three runs with increasing tokens", tokens)
		}
	})
	t.Run("two Runs on one node", func(t *testing.T) {
		// Each Run is its own owner: the lock is not re-entered.
		var h lockcheck.History
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for k := range 2 {
			wg.Go(func() {
				Run(ctx, l, "twice", func(fctx context.Context, token uint64) error {
					st := time.Now()
					t := time.NewTimer(30 * time.Millisecond)
					defer t.Stop()
					select {
					case <-fctx.Done():
					case <-t.C:
					}
					h.Add(lockcheck.Hold{Owner: fmt.Sprint("run", k), Token: token, Start: st, End: time.Now()})
					return errWorkFailed
				}, cfg)
			})
		}
		testnet.Eventually(t, 10*time.Second, "six runs", func() string {
			if n := h.Len(); n < 6 {
				return fmt.Sprintf("%d runs", n)
			}
			return ""
		})
		cancel()
		wg.Wait()
		if err := lockcheck.Check(h.Holds()); err != nil {
			t.Fatal(err)
		}
	})
}

// oneNode is a locker on a cluster of one node, closed when t ends.
func oneNode(t *testing.T) *locker.Locker {
	t.Helper()
	c := meshtest.Formed(t, 1, nil)
	l, err := locker.New(c.Node(0), locker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestBadArguments(t *testing.T) {
	l := oneNode(t)
	fn := func(context.Context, uint64) error { return nil }
	for _, tc := range []struct {
		l    *locker.Locker
		name string
		fn   Func
		cfg  Config
		says string
	}{
		{nil, "x", fn, Config{}, "locker is nil"},
		{l, "", fn, Config{}, `name ""`},
		{l, "a b", fn, Config{}, `name "a b"`},
		{l, "x", nil, Config{}, "fn is nil"},
		{l, "x", fn, Config{Lease: time.Millisecond}, "Config.Lease 1ms out of range"},
		{l, "x", fn, Config{Lease: time.Second, Margin: 500 * time.Millisecond}, "Config.Margin 500ms, want a positive duration below Lease/2"},
		{l, "x", fn, Config{Retry: -1}, "Config.Retry -1ns is negative"},
		{l, "x", fn, Config{Backoff: -1}, "Config.Backoff -1ns is negative"},
	} {
		err := Run(context.Background(), tc.l, tc.name, tc.fn, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Run(%q, %+v): %v, want an error saying %q", tc.name, tc.cfg, err, tc.says)
		}
	}
}
