package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/internal/lockcheck"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

var (
	flagDuration = flag.Duration("chaos.duration", 15*time.Second, "how long the chaos soak injects faults")
	flagSeed     = flag.Uint64("chaos.seed", 0, "seed of the chaos soak's fault schedule and workloads (0: a new one, logged)")
	flagKinds    = flag.String("chaos.kinds", "", "comma-separated fault kinds the soak draws from (default: all of "+strings.Join(allKinds, ",")+")")
)

// allKinds are the fault kinds the scheduler draws, each as likely as its
// weight says; "pause" is a turn without a new fault.
var allKinds = []string{kindPartition, kindIntrans, kindOneWay, kindBlackhole, kindDelay, kindReset, kindCrash, kindPause}

var kindWeight = map[string]int{
	kindPartition: 3, kindIntrans: 2, kindOneWay: 2, kindBlackhole: 2,
	kindDelay: 3, kindReset: 1, kindCrash: 2, kindPause: 2,
}

// kinds returns the fault kinds -chaos.kinds selects.
func kinds() ([]string, error) {
	if *flagKinds == "" {
		return allKinds, nil
	}
	var out []string
	for _, k := range strings.Split(*flagKinds, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(allKinds, k) {
			return nil, fmt.Errorf("-chaos.kinds: unknown fault kind %q, want some of %s", k, strings.Join(allKinds, ","))
		}
		out = append(out, k)
	}
	return out, nil
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The soak's bounds and settings.
const (
	nodes = 5
	// callSlack is how long after its deadline a call may return: the
	// time for the caller's goroutine to be scheduled once the deadline
	// fires, on 2 cores shared with the other nodes under -race. Stalls of
	// the whole process (the stall watcher oversleeping by more than
	// stallMin), measured from callSlack before the deadline to the return,
	// are added to it: they delay every goroutine alike, and on a machine
	// shared with other work they reach hundreds of milliseconds.
	callSlack = 250 * time.Millisecond
	// convergeBound bounds the time from the end of the faults (network
	// healed, every crashed node restarted) to one cluster: every node runs
	// with all five, sees every member up and records no partition.
	convergeBound = 30 * time.Second
	// lease is the quorum locks' lease. A crashed node restarts no sooner
	// than restartAfter past its crash: a quorum member that restarts
	// within a lease forgets grants still in force (GUARANTEES.md).
	lease        = time.Second
	restartAfter = lease + 250*time.Millisecond
	lockTimeout  = 300 * time.Millisecond
	resources    = 3
	maxCrashed   = 2
	maxActive    = 2 // network faults in force at once
	healDelay    = time.Second
)

// slot is one of the five node names and its current incarnation.
type slot struct {
	i    int
	name string

	mu     sync.Mutex
	node   *mesh.Node
	ah     *autoheal.Autoheal
	lk     *locker.Locker
	gen    int
	joined bool

	// gate keeps lock workers out while autoheal heals this node, as an
	// application's hooks would: Prepare takes it for writing once the
	// acquire, hold and release in progress are done (each bounded by
	// lockTimeout), Reboot lets them in again.
	gate    sync.RWMutex
	healing bool
}

func (sl *slot) current() (*mesh.Node, int) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.node, sl.gen
}

// lockReady returns the locker when the node may take quorum locks: joined,
// up, with every member in its table and not healing (sl.gate held).
// Otherwise why says which of those it is not.
func (sl *slot) lockReady(n int) (lk *locker.Locker, gen int, why string) {
	sl.mu.Lock()
	node, lk, gen, joined := sl.node, sl.lk, sl.gen, sl.joined
	sl.mu.Unlock()
	switch {
	case node == nil || lk == nil:
		return nil, 0, "not running"
	case !joined:
		return nil, 0, "not joined yet"
	case sl.healing:
		return nil, 0, "healing (its Prepare hook ran, its Reboot hook not yet)"
	}
	if st := node.Status(); st != mesh.StatusUp {
		return nil, 0, "status " + st.String()
	}
	if m := len(node.Members()); m != n {
		return nil, 0, fmt.Sprintf("%d members, not %d", m, n)
	}
	return lk, gen, ""
}

// soak is one run of the chaos soak.
type soak struct {
	t     *testing.T
	seed  uint64
	c     *meshtest.Cluster
	slots []*slot
	net   *netState
	t0    time.Time

	ctx    context.Context // the workloads' and joiners' lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup

	ids    atomic.Uint64
	calls  *callBook
	casts  *castBook
	locks  lockBook
	stalls stallBook

	faults     map[string]int
	heals      atomic.Int64 // Prepare hooks run
	reboots    atomic.Int64 // Reboot hooks run
	timelineMu sync.Mutex   // logf runs from the fault loop and the heal hooks
	timeline   []string
	// faultTime is how long faults ran, up to the last restart;
	// convergeTook is the time from their end to one cluster.
	faultTime, convergeTook time.Duration
}

// logf adds a line to the timeline, printed when the soak fails. Only the
// last 3000 lines are kept.
func (s *soak) logf(format string, args ...any) {
	line := fmt.Sprintf("%8.3fs ", time.Since(s.t0).Seconds()) + fmt.Sprintf(format, args...)
	s.timelineMu.Lock()
	defer s.timelineMu.Unlock()
	if len(s.timeline) >= 3000 {
		s.timeline = s.timeline[1:]
	}
	s.timeline = append(s.timeline, line)
}

func TestChaosSoak(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("chaos soak: %v of faults on %d nodes, seed %d (replay its choices with -chaos.seed=%d after the package path)", *flagDuration, nodes, seed, seed)
	s := &soak{
		t:      t,
		seed:   seed,
		t0:     time.Now(),
		calls:  newCallBook(),
		casts:  newCastBook(),
		faults: map[string]int{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if t.Failed() {
			t.Logf("seed %d; timeline (last %d events):\n%s", seed, len(s.timeline), strings.Join(s.timeline, "\n"))
		}
	}()

	s.start()
	s.startWorkloads()
	faultsStart := time.Now()
	faultsEnd := s.runFaults(*flagDuration)
	s.faultTime = faultsEnd.Sub(faultsStart)
	converged := s.converge(faultsEnd)
	s.cancel()
	s.wg.Wait()
	if converged {
		s.checkHealthy()
	}
	s.stop()
	s.check()
	s.figures()
}

// start starts the five nodes with their services and forms the cluster.
func (s *soak) start() {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := meshtest.Start(ctx, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	s.net = &netState{fn: c.Net, name: c.Name, n: nodes, applied: rules{}}
	for i := range nodes {
		sl := &slot{i: i, name: c.Name(i)}
		s.slots = append(s.slots, sl)
		if err := s.attach(sl); err != nil {
			s.stop()
			t.Fatal(err)
		}
	}
	if err := c.FormCluster(ctx); err != nil {
		s.stop()
		t.Fatal(err)
	}
	for _, sl := range s.slots {
		sl.mu.Lock()
		sl.joined = true
		sl.mu.Unlock()
	}
	s.logf("formed: %v", c.Names())
}

// attach serves the soak's methods on slot sl's current node and attaches
// autoheal and a lock service to it.
func (s *soak) attach(sl *slot) error {
	node := s.c.Node(sl.i)
	if err := node.Handle(methodCall, s.serveCall); err != nil {
		return err
	}
	to := sl.name
	if err := node.Handle(methodCast, func(_ context.Context, from string, p []byte) ([]byte, error) {
		s.casts.deliver(from, to, p)
		return nil, nil
	}); err != nil {
		return err
	}
	ah, err := autoheal.Attach(node, autoheal.Config{
		Delay:       healDelay,
		HealTimeout: 5 * time.Second,
		CallTimeout: time.Second,
		Hooks: autoheal.Hooks{
			Prepare: func(context.Context, string) error {
				sl.gate.Lock()
				sl.healing = true
				sl.gate.Unlock()
				s.heals.Add(1)
				s.logf("%s prepares its heal", sl.name)
				return nil
			},
			Reboot: func(context.Context, string) error {
				s.reboots.Add(1)
				s.logf("%s rebooted after its heal", sl.name)
				sl.gate.Lock()
				sl.healing = false
				sl.gate.Unlock()
				return nil
			},
		},
	})
	if err != nil {
		return err
	}
	lk, err := locker.New(node, locker.Config{Lease: lease, CallTimeout: lockTimeout})
	if err != nil {
		ah.Close()
		return err
	}
	sl.gate.Lock()
	sl.healing = false
	sl.gate.Unlock()
	sl.mu.Lock()
	sl.node, sl.ah, sl.lk = node, ah, lk
	sl.gen++
	sl.joined = false
	sl.mu.Unlock()
	return nil
}

// startWorkloads starts, on every node, two callers, a caster and two lock
// workers, each with its own generator drawn from the seed.
func (s *soak) startWorkloads() {
	s.wg.Go(func() { s.stalls.watch(s.ctx, s.calls.watchOverdue) })
	for _, sl := range s.slots {
		for k := range 2 {
			rc := rand.New(rand.NewPCG(s.seed, uint64(100*sl.i+k)))
			s.wg.Go(func() { s.caller(sl, rc) })
			rl := rand.New(rand.NewPCG(s.seed, uint64(100*sl.i+10+k)))
			s.wg.Go(func() { s.lockWorker(sl, k, rl) })
		}
		rs := rand.New(rand.NewPCG(s.seed, uint64(100*sl.i+20)))
		s.wg.Go(func() { s.caster(sl, rs) })
	}
}

// crash cuts node i off (so that nothing it says on the way out reaches
// anyone: the peers see a crash, not a goodbye), closes its services and
// stops it. The caller has already cut it off.
func (s *soak) crash(i int) {
	sl := s.slots[i]
	sl.mu.Lock()
	ah, lk := sl.ah, sl.lk
	sl.node, sl.ah, sl.lk, sl.joined = nil, nil, nil, false
	sl.mu.Unlock()
	ah.Close()
	lk.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.c.Kill(ctx, i); err != nil {
		s.t.Errorf("crash of %s: stop: %v", sl.name, err)
	}
}

// restart starts node i again under its name (a new GUID) with its
// services; join makes it join the cluster once the network lets it.
func (s *soak) restart(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.c.Restart(ctx, i); err != nil {
		return err
	}
	return s.attach(s.slots[i])
}

// join makes slot sl's node join the cluster through each other node in
// turn until one answers, the node is crashed again, or the soak ends.
func (s *soak) join(sl *slot, node *mesh.Node) {
	for attempt := 0; s.ctx.Err() == nil; attempt++ {
		if cur, _ := sl.current(); cur != node {
			return
		}
		via := s.slots[(sl.i+1+attempt%(nodes-1))%nodes].name
		ctx, cancel := context.WithTimeout(s.ctx, time.Second)
		err := node.Join(ctx, via)
		cancel()
		// A member that redialed the restarted node first has linked it
		// already: Join answers it is in the cluster.
		if err == nil || errors.Is(err, mesh.ErrAlreadyInCluster) {
			sl.mu.Lock()
			if sl.node == node {
				sl.joined = true
			}
			sl.mu.Unlock()
			return
		}
		sleep(s.ctx, 100*time.Millisecond)
	}
}

// runFaults applies random faults for d and returns when the network is
// healed and every crashed node restarted.
func (s *soak) runFaults(d time.Duration) time.Time {
	rng := rand.New(rand.NewPCG(s.seed, 0))
	kinds, err := kinds()
	if err != nil {
		s.t.Error(err)
		kinds = allKinds
	}
	total := 0
	for _, k := range kinds {
		total += kindWeight[k]
	}
	var active []*fault
	crashed := map[int]time.Time{} // node -> when it may restart
	end := time.Now().Add(d)
	resync := func() {
		healed := s.net.sync(union(active, slices.Sorted(maps.Keys(crashed)), nodes))
		if len(healed) > 0 {
			s.logf("healed pairs %v", healed)
		}
	}
	restartDue := func(now time.Time) {
		for _, i := range slices.Sorted(maps.Keys(crashed)) {
			if now.Before(crashed[i]) {
				continue
			}
			delete(crashed, i)
			if err := s.restart(i); err != nil {
				// The node stays down; convergence reports it.
				s.t.Errorf("restart of %s: %v", s.c.Name(i), err)
				resync()
				continue
			}
			resync()
			s.faults[kindRestart]++
			node, gen := s.slots[i].current()
			s.logf("restart n%d (incarnation %d, GUID %s)", i+1, gen, node.GUID())
			s.wg.Go(func() { s.join(s.slots[i], node) })
		}
	}
	for now := time.Now(); now.Before(end); now = time.Now() {
		active = slices.DeleteFunc(active, func(f *fault) bool {
			if now.Before(f.until) {
				return false
			}
			s.logf("end %s %s", f.kind, f.what)
			return true
		})
		restartDue(now)
		var running []int
		for i := range nodes {
			if _, down := crashed[i]; !down {
				running = append(running, i)
			}
		}
		pick := rng.IntN(total)
		kind := kindPause
		for _, k := range kinds {
			if pick < kindWeight[k] {
				kind = k
				break
			}
			pick -= kindWeight[k]
		}
		switch kind {
		case kindPause:
		case kindReset:
			a, b := running[rng.IntN(len(running))], running[rng.IntN(len(running))]
			if a != b {
				s.c.Reset(a, b)
				s.faults[kind]++
				s.logf("reset n%d-n%d", a+1, b+1)
			}
		case kindCrash:
			var joined []int
			for _, i := range running {
				if sl := s.slots[i]; func() bool { sl.mu.Lock(); defer sl.mu.Unlock(); return sl.joined }() {
					joined = append(joined, i)
				}
			}
			if len(crashed) >= maxCrashed || len(joined) == 0 {
				break
			}
			i := joined[rng.IntN(len(joined))]
			crashed[i] = now.Add(restartAfter + time.Duration(rng.IntN(3000))*time.Millisecond)
			resync()
			s.crash(i)
			s.faults[kind]++
			s.logf("crash n%d (restart at %.3fs)", i+1, crashed[i].Sub(s.t0).Seconds())
		default:
			if len(active) >= maxActive {
				break
			}
			if f := newFault(rng, kind, running, now); f != nil {
				active = append(active, f)
				resync()
				s.faults[kind]++
				s.logf("%s %s for %v", f.kind, f.what, f.until.Sub(now).Round(time.Millisecond))
			}
		}
		sleep(context.Background(), time.Duration(200+rng.IntN(800))*time.Millisecond)
	}
	active = nil
	resync()
	s.logf("faults stop; %d node(s) to restart", len(crashed))
	for len(crashed) > 0 {
		restartDue(time.Now())
		sleep(context.Background(), 20*time.Millisecond)
	}
	return time.Now()
}

// healed says whether the cluster is one again: every node runs with all
// five, sees every member up and records no partition; or what is missing.
func (s *soak) healed() (bool, string) {
	names := s.c.Names()
	for _, sl := range s.slots {
		node, _ := sl.current()
		if node == nil {
			return false, sl.name + " is not running"
		}
		info := node.Info()
		if !slices.Equal(info.RunningNodes, names) {
			return false, fmt.Sprintf("%s runs with %v", sl.name, info.RunningNodes)
		}
		if len(info.Partitions) != 0 {
			return false, fmt.Sprintf("%s records partitions with %v", sl.name, info.Partitions)
		}
		for _, m := range info.Members {
			if m.Status != mesh.StatusUp {
				return false, fmt.Sprintf("%s sees %s %s", sl.name, m.Node, m.Status)
			}
		}
	}
	return true, ""
}

// converge waits, with the workloads still running, for the cluster to be
// one again within convergeBound of the end of the faults.
func (s *soak) converge(from time.Time) bool {
	ctx, cancel := context.WithDeadline(context.Background(), from.Add(convergeBound))
	defer cancel()
	var why string
	err := s.c.Wait(ctx, "one cluster of five, all up, no partition", func() bool {
		var ok bool
		ok, why = s.healed()
		return ok
	})
	s.convergeTook = time.Since(from)
	if err != nil {
		s.t.Errorf("the cluster did not converge within %v of the end of the faults: %v; last: %s", convergeBound, err, why)
		return false
	}
	s.logf("converged in %v", s.convergeTook.Round(time.Millisecond))
	return true
}

// checkHealthy checks, on the converged and quiet cluster, that every node
// calls every other, that casts between every pair arrive, and that every
// node takes a quorum lock.
func (s *soak) checkHealthy() {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var castIDs []uint64
	for _, a := range s.slots {
		na, gen := a.current()
		for _, b := range s.slots {
			if a == b {
				continue
			}
			id := s.ids.Add(1)
			p := castPayload(id, uint32(gen), 0)
			cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
			reply, err := na.Call(cctx, b.name, methodCall, p)
			ccancel()
			if err != nil || string(reply) != string(p) {
				t.Errorf("after convergence, %s calls %s: reply %x, %v; want the payload back", a.name, b.name, reply, err)
			}
			id = s.ids.Add(1)
			if err := na.Cast(b.name, methodCast, castPayload(id, uint32(1<<31)+uint32(gen), 1)); err != nil {
				t.Errorf("after convergence, %s casts to %s: %v", a.name, b.name, err)
			}
			castIDs = append(castIDs, id)
		}
		// No worker runs now. A node that restarted last may still be
		// marked not joined for a moment: its joiner learns it is in the
		// cluster only when its Join attempt in flight returns. Anything
		// else that lasts (a heal that never rebooted) fails the wait,
		// which names it.
		err := s.c.Until(ctx, a.name+" to take a quorum lock", func() string {
			a.gate.RLock()
			lk, _, why := a.lockReady(nodes)
			a.gate.RUnlock()
			if why != "" {
				return "not ready for locks: " + why
			}
			r, err := lk.Acquire(ctx, "after-"+a.name, locker.Options{Type: locker.Quorum, Lease: lease})
			if err == nil && r.OK {
				r.Lease.Release(ctx) //nolint:errcheck // a lost release only leaves the lease to end
				return ""
			}
			return fmt.Sprintf("acquire: %+v, %v", r, err)
		})
		if err != nil {
			t.Errorf("after convergence: %v", err)
		}
	}
	err := s.c.Wait(ctx, "every cast between every pair to arrive", func() bool {
		for _, id := range castIDs {
			if !s.casts.has(id) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Error(err)
	}
}

// stop stops the services and the nodes and waits for their goroutines.
func (s *soak) stop() {
	s.cancel()
	s.wg.Wait()
	for _, sl := range s.slots {
		sl.mu.Lock()
		ah, lk := sl.ah, sl.lk
		sl.node, sl.ah, sl.lk = nil, nil, nil
		sl.mu.Unlock()
		if ah != nil {
			ah.Close()
		}
		if lk != nil {
			lk.Close()
		}
	}
	if s.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.c.Stop(ctx); err != nil {
		s.t.Errorf("stop the cluster: %v", err)
	}
}

// check asserts the soak's safety properties on what was recorded.
func (s *soak) check() {
	t := s.t
	c := s.calls
	c.mu.Lock()
	ok := c.ok
	c.mu.Unlock()
	if _, late := c.lateness(&s.stalls); len(late) > 0 {
		t.Errorf("%d call(s) returned more than %v after their deadline, stalls of the process aside; first: %s", len(late), callSlack, strings.Join(late[:min(10, len(late))], "; "))
		s.saveStacks()
	}
	if bad := c.check(); len(bad) > 0 {
		t.Errorf("%d call(s) broke at-most-once or returned a wrong reply; first: %s", len(bad), strings.Join(bad[:min(10, len(bad))], "; "))
	}
	if ok == 0 {
		t.Error("no call succeeded during the whole soak")
	}
	s.casts.mu.Lock()
	dups, delivered := s.casts.dups, len(s.casts.delivered)
	s.casts.mu.Unlock()
	if len(dups) > 0 {
		t.Errorf("casts delivered twice: %s", strings.Join(dups, "; "))
	}
	if delivered == 0 {
		t.Error("no cast was delivered during the whole soak")
	}
	granted := 0
	for r := range s.locks.holds {
		holds := s.locks.holds[r].Holds()
		granted += len(holds)
		if err := lockcheck.Check(holds); err != nil {
			t.Errorf("the history of res-%d (%d holds) fails the lock history checker: %v", r, len(holds), err)
		}
	}
	if granted == 0 {
		t.Error("no quorum lock was held during the whole soak")
	}
}

// saveStacks writes the goroutine stacks the overdue watch took, if it
// took any, to a file named after the seed in the temporary directory.
func (s *soak) saveStacks() {
	c := s.calls
	c.mu.Lock()
	stacks, overdue := c.stacks, c.overdue
	c.mu.Unlock()
	if stacks == nil {
		return
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("chaos-stacks-%d.txt", s.seed))
	if err := os.WriteFile(path, append([]byte(overdue+"\n\n"), stacks...), 0o644); err != nil {
		s.t.Logf("the stacks taken when %s: not saved: %v", overdue, err)
		return
	}
	s.t.Logf("every goroutine's stack, taken when %s, is in %s", overdue, path)
}

// figures logs what the soak did.
func (s *soak) figures() {
	t := s.t
	c := s.calls
	explained, late := c.lateness(&s.stalls)
	c.mu.Lock()
	t.Logf("calls: %d ok, %d failed %v, %d late (over deadline+%v), %d more past deadline+%v during a stall of the process; longest past a deadline: %v",
		c.ok, c.failed, fmtCounts(c.errs), len(late), callSlack, explained, callSlack, c.maxOver.Round(time.Millisecond))
	c.mu.Unlock()
	s.stalls.mu.Lock()
	t.Logf("process stalls over %v: %d, longest %v", stallMin, len(s.stalls.stalls), s.stalls.max.Round(time.Millisecond))
	s.stalls.mu.Unlock()
	s.casts.mu.Lock()
	t.Logf("casts: %d sent, %d refused at the sender, %d delivered, %d duplicates, %d delivered out of order",
		s.casts.sent, s.casts.sendErr, len(s.casts.delivered), len(s.casts.dups), s.casts.reordered)
	s.casts.mu.Unlock()
	l := &s.locks
	holds := 0
	for r := range l.holds {
		holds += l.holds[r].Len()
	}
	l.mu.Lock()
	t.Logf("quorum locks: %d granted, %d refused, %d failed, %d releases not confirmed by every node asked, %d waits for a ready node; longest acquire %v; history checked: %d holds on %d resources",
		l.granted, l.refused, l.errs, l.relFailed, l.notReady, l.maxAcquire.Round(time.Millisecond), holds, resources)
	l.mu.Unlock()
	t.Logf("faults over %v: %s; autoheal heals: %d prepared, %d rebooted", s.faultTime.Round(100*time.Millisecond), fmtCounts(s.faults), s.heals.Load(), s.reboots.Load())
	t.Logf("converged %v after the faults stopped (bound %v); seed %d", s.convergeTook.Round(time.Millisecond), convergeBound, s.seed)
}

func fmtCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
