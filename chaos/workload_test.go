package chaos

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/lockcheck"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

const (
	methodCall = "chaos.call"
	methodCast = "chaos.cast"
)

// callBook records every call: how often its handler ran, and what its
// caller saw.
type callBook struct {
	mu      sync.Mutex
	runs    map[uint64]int
	acked   map[uint64]bool
	ok      int
	failed  int
	late    []lateCall    // calls that returned later than deadline + callSlack
	maxOver time.Duration // the most any call returned after its deadline
	wrong   []string      // replies that were not what the handler sent
	errs    map[string]int
	// inflight holds the calls not returned yet, for the overdue watch.
	inflight map[uint64]inflightCall
	// stacks is every goroutine's stack, taken once, when a call was first
	// seen callSlack+overdueMargin past its deadline; overdue says which.
	stacks  []byte
	overdue string
}

type inflightCall struct {
	from, to        string
	start, deadline time.Time
}

// overdueMargin is how far past deadline + callSlack a call in flight must
// be for the overdue watch to take the stacks: far enough that scheduling
// noise alone rarely gets there.
const overdueMargin = 100 * time.Millisecond

// lateCall is a call that returned more than callSlack after its deadline;
// check decides whether a stall of the whole process explains it.
type lateCall struct {
	id             uint64
	from, to       string
	start          time.Time
	deadline, took time.Duration
	err            error
}

func newCallBook() *callBook {
	return &callBook{runs: map[uint64]int{}, acked: map[uint64]bool{}, errs: map[string]int{}, inflight: map[uint64]inflightCall{}}
}

// ran is called by the handler, once per execution.
func (b *callBook) ran(id uint64) {
	b.mu.Lock()
	b.runs[id]++
	b.mu.Unlock()
}

// begin records that call id is in flight.
func (b *callBook) begin(id uint64, from, to string, start time.Time, deadline time.Duration) {
	b.mu.Lock()
	b.inflight[id] = inflightCall{from: from, to: to, start: start, deadline: start.Add(deadline)}
	b.mu.Unlock()
}

// watchOverdue takes every goroutine's stack the first time a call in
// flight is callSlack+overdueMargin past its deadline: where its caller is
// blocked is what a report of a late call needs.
func (b *callBook) watchOverdue(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stacks != nil {
		return
	}
	for id, c := range b.inflight {
		if over := now.Sub(c.deadline); over > callSlack+overdueMargin {
			buf := make([]byte, 16<<20)
			b.stacks = buf[:runtime.Stack(buf, true)]
			b.overdue = fmt.Sprintf("call %d %s -> %s started at %s, %v past its deadline", id, c.from, c.to, c.start.Format("15:04:05.000"), over.Round(time.Millisecond))
			return
		}
	}
}

// done records what the caller of call id saw.
func (b *callBook) done(id uint64, from, to string, sent, reply []byte, err error, deadline, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inflight, id)
	if over := took - deadline; over > b.maxOver {
		b.maxOver = over
	}
	if took > deadline+callSlack {
		b.late = append(b.late, lateCall{id: id, from: from, to: to, start: time.Now().Add(-took), deadline: deadline, took: took, err: err})
	}
	if err != nil {
		b.failed++
		b.errs[errKind(err)]++
		return
	}
	b.ok++
	b.acked[id] = true
	if !bytes.Equal(reply, sent) && len(b.wrong) < 10 {
		b.wrong = append(b.wrong, fmt.Sprintf("call %d %s -> %s: sent %d bytes, the reply has %d and differs", id, from, to, len(sent), len(reply)))
	}
}

// errKind names the kind of a call's error, for the figures.
func errKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, mesh.ErrNodeDown):
		return "node down"
	case errors.Is(err, mesh.ErrStopped):
		return "caller stopped"
	case errors.Is(err, mesh.ErrUnknownNode), errors.Is(err, mesh.ErrNotMember):
		return "not a member"
	case errors.Is(err, mesh.ErrNoHandler):
		return "no handler"
	case errors.Is(err, mesh.ErrRemote):
		return "remote error"
	}
	return "other"
}

// lateness splits the late calls into those a stall of the whole process
// explains (the call returned within callSlack of its deadline once the
// stalls around the deadline are taken off) and those it does not, which
// it describes.
func (b *callBook) lateness(st *stallBook) (explained int, unexplained []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.late {
		due, end := c.start.Add(c.deadline), c.start.Add(c.took)
		stalled := st.within(due.Add(-callSlack), end)
		if c.took-c.deadline-stalled <= callSlack {
			explained++
			continue
		}
		unexplained = append(unexplained, fmt.Sprintf("call %d %s -> %s at %s: returned after %v, deadline %v, the process stalled %v meanwhile (err %v)",
			c.id, c.from, c.to, c.start.Format("15:04:05.000"), c.took.Round(time.Millisecond), c.deadline, stalled.Round(time.Millisecond), c.err))
	}
	return explained, unexplained
}

// stallBook records the stalls of the whole process: times when a
// goroutine that sleeps stallTick woke more than stallMin late (the machine
// was busy elsewhere, a garbage collection, the race detector).
type stallBook struct {
	mu     sync.Mutex
	stalls []stall
	max    time.Duration
}

type stall struct{ from, to time.Time }

const (
	stallTick = 5 * time.Millisecond
	stallMin  = 20 * time.Millisecond
)

// watch records stalls until ctx ends, and calls tick each time it wakes.
func (b *stallBook) watch(ctx context.Context, tick func(now time.Time)) {
	for ctx.Err() == nil {
		t0 := time.Now()
		sleep(ctx, stallTick)
		now := time.Now()
		tick(now)
		if late := now.Sub(t0) - stallTick; late > stallMin && ctx.Err() == nil {
			b.mu.Lock()
			if len(b.stalls) < 1<<20 {
				b.stalls = append(b.stalls, stall{t0.Add(stallTick), now})
			}
			b.max = max(b.max, late)
			b.mu.Unlock()
		}
	}
}

// within is the time the process stalled between from and to.
func (b *stallBook) within(from, to time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var d time.Duration
	for _, s := range b.stalls {
		lo, hi := maxTime(s.from, from), minTime(s.to, to)
		if hi.After(lo) {
			d += hi.Sub(lo)
		}
	}
	return d
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// check returns what broke at-most-once and reply integrity.
func (b *callBook) check() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var bad []string
	for id, n := range b.runs {
		if n > 1 {
			bad = append(bad, fmt.Sprintf("call %d ran %d times (acknowledged: %v)", id, n, b.acked[id]))
		}
	}
	for id := range b.acked {
		if b.runs[id] != 1 {
			bad = append(bad, fmt.Sprintf("call %d was acknowledged to its caller but its handler ran %d times", id, b.runs[id]))
		}
	}
	sort.Strings(bad)
	return append(bad, b.wrong...)
}

// castBook records casts sent and delivered, per sender incarnation and
// receiver, with a sequence number to count reorderings.
type castBook struct {
	mu        sync.Mutex
	sent      int
	sendErr   int
	delivered map[uint64]int
	dups      []string
	reordered int
	last      map[string]uint64
}

func newCastBook() *castBook {
	return &castBook{delivered: map[uint64]int{}, last: map[string]uint64{}}
}

// A cast's payload: id, the sender's incarnation and the sequence number
// of the cast from that incarnation to the receiver.
func castPayload(id uint64, gen uint32, seq uint64) []byte {
	p := make([]byte, 20)
	binary.BigEndian.PutUint64(p, id)
	binary.BigEndian.PutUint32(p[8:], gen)
	binary.BigEndian.PutUint64(p[12:], seq)
	return p
}

func (b *castBook) sentOne(err error) {
	b.mu.Lock()
	if err != nil {
		b.sendErr++
	} else {
		b.sent++
	}
	b.mu.Unlock()
}

func (b *castBook) deliver(from, to string, p []byte) {
	if len(p) != 20 {
		return
	}
	id, gen, seq := binary.BigEndian.Uint64(p), binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint64(p[12:])
	key := fmt.Sprintf("%s#%d->%s", from, gen, to)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delivered[id]++
	if b.delivered[id] == 2 && len(b.dups) < 10 {
		b.dups = append(b.dups, fmt.Sprintf("cast %d (%s, seq %d) delivered twice", id, key, seq))
	}
	if seq < b.last[key] {
		b.reordered++
	}
	b.last[key] = max(b.last[key], seq)
}

func (b *castBook) deliveredCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.delivered)
}

func (b *castBook) has(id uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.delivered[id] > 0
}

// lockBook records the holds of quorum locks per resource, for the
// history checker, and the outcome of every acquire.
type lockBook struct {
	holds      [resources]lockcheck.History
	mu         sync.Mutex
	granted    int
	refused    int
	errs       int
	relFailed  int
	notReady   int
	maxAcquire time.Duration
}

func (b *lockBook) count(f func(b *lockBook)) {
	b.mu.Lock()
	f(b)
	b.mu.Unlock()
}

// serveCall is the handler of the calls: it records that call id ran,
// takes a little time (0-20 ms) and echoes the payload.
func (s *soak) serveCall(ctx context.Context, _ string, p []byte) ([]byte, error) {
	if len(p) < 8 {
		return nil, fmt.Errorf("chaos: a call payload of %d bytes, want at least 8", len(p))
	}
	s.calls.ran(binary.BigEndian.Uint64(p))
	sleep(ctx, time.Duration(rand.IntN(20))*time.Millisecond)
	return p, nil
}

// caller calls random peers from sl's node until the soak ends, each call
// with a deadline of 100 ms to 1 s.
func (s *soak) caller(sl *slot, rng *rand.Rand) {
	for s.ctx.Err() == nil {
		node, _ := sl.current()
		if node == nil {
			sleep(s.ctx, 20*time.Millisecond)
			continue
		}
		to := s.slots[other(rng, sl.i, len(s.slots))].name
		deadline := time.Duration(100+rng.IntN(901)) * time.Millisecond
		size := 8 + rng.IntN(512)
		if rng.IntN(100) == 0 {
			size = 64 << 10
		}
		p := make([]byte, size)
		id := s.ids.Add(1)
		binary.BigEndian.PutUint64(p, id)
		for k := 8; k < len(p); k++ {
			p[k] = byte(id) + byte(k)
		}
		sent := bytes.Clone(p)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		t0 := time.Now()
		s.calls.begin(id, sl.name, to, t0, deadline)
		reply, err := node.Call(ctx, to, methodCall, p)
		took := time.Since(t0)
		cancel()
		s.calls.done(id, sl.name, to, sent, reply, err, deadline, took)
		sleep(s.ctx, time.Duration(1+rng.IntN(4))*time.Millisecond)
	}
}

// caster casts to random peers from sl's node until the soak ends.
func (s *soak) caster(sl *slot, rng *rand.Rand) {
	seq := map[string]uint64{}
	lastGen := -1
	for s.ctx.Err() == nil {
		node, gen := sl.current()
		if node == nil {
			sleep(s.ctx, 20*time.Millisecond)
			continue
		}
		if gen != lastGen {
			clear(seq)
			lastGen = gen
		}
		to := s.slots[other(rng, sl.i, len(s.slots))].name
		seq[to]++
		err := node.Cast(to, methodCast, castPayload(s.ids.Add(1), uint32(gen), seq[to]))
		s.casts.sentOne(err)
		sleep(s.ctx, time.Duration(2+rng.IntN(4))*time.Millisecond)
	}
}

// lockWorker takes quorum locks on the soak's resources from sl's node,
// holds each for 0-5 ms and releases it, until the soak ends. Every
// acquire is by a new owner, so that a grant left behind by a failed
// release is never re-entered.
func (s *soak) lockWorker(sl *slot, k int, rng *rand.Rand) {
	for seq := 0; s.ctx.Err() == nil; seq++ {
		if s.lockOnce(sl, k, seq, rng) {
			sleep(s.ctx, time.Duration(rng.IntN(3000))*time.Microsecond)
		} else {
			sleep(s.ctx, 20*time.Millisecond)
		}
	}
}

// lockOnce runs one acquire, hold and release; false when sl's node is not
// ready for locks (not joined, not up, a member table short of the whole
// cluster, or healing): GUARANTEES.md says a quorum is only safe between
// nodes that agree on the members, so the application waits, as it would
// in production.
func (s *soak) lockOnce(sl *slot, k, seq int, rng *rand.Rand) bool {
	sl.gate.RLock()
	defer sl.gate.RUnlock()
	lk, gen, why := sl.lockReady(len(s.slots))
	if why != "" {
		s.locks.count(func(b *lockBook) { b.notReady++ })
		return false
	}
	r := rng.IntN(resources)
	resource := fmt.Sprintf("res-%d", r)
	owner := fmt.Sprintf("%s#%d/w%d.%d", strings.TrimSuffix(sl.name, "@127.0.0.1"), gen, k, seq)
	opts := locker.Options{Type: locker.Quorum, Owner: owner, Lease: lease}
	ctx, cancel := context.WithTimeout(context.Background(), lockTimeout)
	t0 := time.Now()
	res, err := lk.Acquire(ctx, resource, opts)
	took := time.Since(t0)
	cancel()
	s.locks.count(func(b *lockBook) {
		b.maxAcquire = max(b.maxAcquire, took)
		switch {
		case err != nil:
			b.errs++
		case !res.OK:
			b.refused++
		default:
			b.granted++
		}
	})
	if err != nil || !res.OK {
		return true
	}
	start := time.Now()
	time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
	end := time.Now()
	if d := res.Lease.Deadline(); d.Before(end) {
		end = d
	}
	s.locks.holds[r].Add(lockcheck.Hold{Owner: owner, Token: res.Token, Start: start, End: end})
	ctx, cancel = context.WithTimeout(context.Background(), lockTimeout)
	rr, err := lk.Release(ctx, resource, opts)
	cancel()
	if err != nil || !rr.OK {
		s.locks.count(func(b *lockBook) { b.relFailed++ })
	}
	return true
}

// other picks a node index other than i.
func other(rng *rand.Rand, i, n int) int {
	j := rng.IntN(n - 1)
	if j >= i {
		j++
	}
	return j
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
