package locker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/lograte"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Type is how widely a lock is taken: the wire's lock type, so that the
// type a locker takes is the one its requests carry (PROTOCOL.md 6.6). The
// zero value is unset: Options.Type's default, Quorum. In text (JSON, ctl)
// a type is its name, "quorum".
type Type = wire.LockType

const (
	// Local locks in this node's table only.
	Local = wire.LockLocal
	// Leader locks in the leader's table: the running member with the
	// oldest (smallest) GUID.
	Leader = wire.LockLeader
	// Quorum locks in a majority of the members a consistent-hash ring
	// assigns to the resource: min(3, n/2+1) of the n members (ekka's rule),
	// counting members that are down.
	Quorum = wire.LockQuorum
	// All locks in the table of every running member; a refusal or a
	// member that does not answer releases what was granted and fails.
	All = wire.LockAll
)

// Types lists the lock types.
var Types = []Type{Local, Leader, Quorum, All}

// ParseType parses a lock type name; "" is Quorum, the default.
func ParseType(s string) (Type, error) {
	if s == "" {
		return Quorum, nil
	}
	t, err := wire.ParseLockType(s)
	if err != nil {
		return 0, fmt.Errorf("locker: %w", err)
	}
	return t, nil
}

// Defaults.
const (
	DefaultName        = "default"
	DefaultLease       = 15 * time.Second
	DefaultCallTimeout = 5 * time.Second
	// MaxLease is the longest lease a grant can have.
	MaxLease = time.Duration(math.MaxUint32) * time.Millisecond
)

// Config configures a Locker.
type Config struct {
	// Name names the lock service (default "default"). A node runs several
	// lock services under different names; their tables are separate.
	Name string
	// Lease is the default lease of a grant (default 15 s).
	Lease time.Duration
	// CallTimeout bounds each round of calls to other nodes (within the
	// caller's context), and the release of grants after a failed acquire
	// (default 5 s).
	CallTimeout time.Duration
	// SweepInterval is the shortest time between two sweeps of ended
	// grants from this node's table (default 1 s): a sweep runs when the
	// next grant ends, but not sooner than SweepInterval after the
	// previous one. A table with nothing to sweep sets no timer. An ended
	// grant is free at once either way.
	SweepInterval time.Duration
	// Logger receives the locker's log (default: discard).
	Logger *slog.Logger
}

// Errors.
var (
	// ErrClosed: the Locker was closed.
	ErrClosed = errors.New("locker: closed")
	// ErrLeaseLost: the lease ended without renewal, or a renewal was refused.
	ErrLeaseLost = errors.New("locker: lease lost")
	// ErrNotHeld: Renew of a lock this locker does not hold.
	ErrNotHeld = errors.New("locker: not held")
)

// Locker is one named lock service attached to a node. It serves its table
// to the other members as the wire's lock messages (PROTOCOL.md 6.6,
// registered with the node's HandleMessage under its name) and acquires
// locks from their tables with the same messages. Safe for concurrent use.
type Locker struct {
	node *mesh.Node
	cfg  Config
	// methods names the operations in logs and errors: "lock-fence for
	// locker sessions"; methods[mCtl] is the RPC method ekka-mesh ctl calls.
	methods [5]string
	owner   string
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	table  *Table
	held   map[heldKey]*Lease
	closed bool
	// sweepDue is the table's NextExpire when sweep last looked; a request
	// that changes it wakes sweep through sweepSoon.
	sweepDue  time.Time
	sweepSoon chan struct{}
	// refusedLog limits the log of refused requests to one line a second.
	refusedLog lograte.Limiter
	// givingUp is closed when the releases of the locks given up at the
	// node's last suspension are done; nil when none are under way
	// (suspend.go).
	givingUp chan struct{}

	ringMu    sync.Mutex
	ringNames []string
	ring      *Ring

	stats lockStats // counters for Stats and the metrics (stats.go)
}

type heldKey struct {
	typ      Type
	resource string
	owner    string
}

// Method returns the RPC method name under which a locker named name
// serves op: only "ctl", for ekka-mesh ctl. Between lockers the operations
// (acquire, renew, release, fence) are lock messages, not methods.
func Method(name, op string) string { return "locker:" + name + ":" + op }

// New attaches the lock service cfg.Name to node: it registers for the
// lock messages addressed to cfg.Name and for the ctl method. Close
// detaches it. A second locker of the same name on the same node is an
// error (wrapping mesh.ErrHandlerExists).
func New(node *mesh.Node, cfg Config) (*Locker, error) {
	if node == nil {
		return nil, errors.New("locker: New: node is nil, want a started *mesh.Node")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if strings.ContainsAny(cfg.Name, ": \t\n") {
		return nil, fmt.Errorf("locker: Name %q contains a colon or a space, want a plain name such as %q", cfg.Name, DefaultName)
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if err := checkLease(cfg.Lease); err != nil {
		return nil, fmt.Errorf("locker: Config.Lease: %w", err)
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.CallTimeout < 0 {
		return nil, fmt.Errorf("locker: Config.CallTimeout %v is negative, want a positive duration", cfg.CallTimeout)
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Second
	}
	if cfg.SweepInterval < 0 {
		return nil, fmt.Errorf("locker: Config.SweepInterval %v is negative, want a positive duration", cfg.SweepInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Locker{
		node:       node,
		cfg:        cfg,
		owner:      node.Name() + "/" + cfg.Name + "/" + node.GUID().String(),
		log:        cfg.Logger.With("locker", cfg.Name),
		table:      NewTable(),
		held:       make(map[heldKey]*Lease),
		sweepSoon:  make(chan struct{}, 1),
		refusedLog: lograte.Limiter{Interval: time.Second},
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	for op, t := range opTypes {
		l.methods[op] = fmt.Sprintf("%s for locker %s", t, cfg.Name)
	}
	l.methods[mCtl] = Method(cfg.Name, "ctl")
	for op, t := range opTypes {
		if err := node.HandleMessage(t, cfg.Name, l.serve); err != nil {
			l.unregister(op, false)
			if errors.Is(err, mesh.ErrHandlerExists) {
				return nil, fmt.Errorf("locker: node %s already runs a lock service named %q: %w", node.Name(), cfg.Name, err)
			}
			return nil, fmt.Errorf("locker: register for %s: %w", t, err)
		}
	}
	if err := node.Handle(l.methods[mCtl], l.serveCtl); err != nil {
		l.unregister(len(opTypes), false)
		if errors.Is(err, mesh.ErrHandlerExists) {
			return nil, fmt.Errorf("locker: node %s already runs a lock service named %q (its method %s is taken): %w", node.Name(), cfg.Name, l.methods[mCtl], err)
		}
		return nil, fmt.Errorf("locker: register %s: %w", l.methods[mCtl], err)
	}
	l.wg.Add(2)
	go l.sweep()
	go l.watch(node.Subscribe())
	return l, nil
}

func checkLease(d time.Duration) error {
	if d < time.Millisecond || d > MaxLease {
		return fmt.Errorf("lease %v out of range, want 1ms..%v", d, MaxLease)
	}
	return nil
}

// unregister removes the registrations for the first n lock messages, and
// for the ctl method when ctl is set.
func (l *Locker) unregister(n int, ctl bool) {
	for _, t := range opTypes[:n] {
		l.node.HandleMessage(t, l.cfg.Name, nil)
	}
	if ctl {
		l.node.Handle(l.methods[mCtl], nil)
	}
}

// Close detaches the locker from its node: its handlers go, its timers
// stop, and every lease it holds is reported lost (ErrClosed); the grants
// themselves stay in the tables until released elsewhere or their lease
// ends. Close waits for the locker's goroutines.
func (l *Locker) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	leases := make([]*Lease, 0, len(l.held))
	for k, ls := range l.held {
		leases = append(leases, ls)
		delete(l.held, k)
	}
	l.mu.Unlock()
	for _, ls := range leases {
		ls.end(ErrClosed)
	}
	l.unregister(len(opTypes), true)
	l.cancel()
	l.wg.Wait()
	return nil
}

// Name is the lock service's name.
func (l *Locker) Name() string { return l.cfg.Name }

// Owner is this locker's default owner id: "<node>/<locker>/<node GUID>",
// so a restarted node is a new owner.
func (l *Locker) Owner() string { return l.owner }

// Node is the node the locker is attached to.
func (l *Locker) Node() *mesh.Node { return l.node }

// Holder reports who holds resource in this node's own table.
func (l *Locker) Holder(resource string) (owner string, token uint64, expires time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.table.Holder(time.Now(), resource)
}

// sweep drops ended grants and forgotten counters from the table when the
// table says the next is due (Table.NextExpire), at most once every
// SweepInterval. With nothing to sweep it waits for a request, so an idle
// node holding no lock spends nothing here.
func (l *Locker) sweep() {
	defer l.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var last time.Time // the previous sweep
	for {
		l.mu.Lock()
		due, ok := l.table.NextExpire()
		l.sweepDue = due
		l.mu.Unlock()
		if ok {
			timer.Reset(time.Until(later(due, last.Add(l.cfg.SweepInterval))))
		} else {
			timer.Stop()
		}
		select {
		case <-l.ctx.Done():
			return
		case <-l.sweepSoon:
		case <-timer.C:
			last = time.Now()
			l.mu.Lock()
			ended := l.table.Expire(last)
			l.mu.Unlock()
			l.stats.expired.Add(uint64(len(ended)))
			for _, e := range ended {
				l.log.Debug("lease ended", "resource", e.Resource, "owner", e.Owner, "token", e.Token)
			}
		}
	}
}

// wakeSweepLocked tells sweep when a request brought the table's next
// sweep forward (a shorter lease, a first resource). l.mu is held.
func (l *Locker) wakeSweepLocked() {
	due, _ := l.table.NextExpire()
	if due.Equal(l.sweepDue) {
		return
	}
	l.sweepDue = due
	select {
	case l.sweepSoon <- struct{}{}:
	default:
	}
}

// Options are the options of one Acquire, Renew or Release.
type Options struct {
	// Type is the lock type (default Quorum).
	Type Type
	// Owner identifies the holder across nodes (default: Locker.Owner()).
	// An owner that holds a lock acquires it again without waiting.
	Owner string
	// Lease is how long the grant lasts unless renewed (default: the
	// Locker's Config.Lease).
	Lease time.Duration
	// AutoRenew renews the lease in the background, a third of a lease
	// before it ends, until Release or until a renewal fails for good.
	AutoRenew bool

	// ctl: taken for ekka-mesh ctl, which cannot renew it; its end is
	// logged as the normal end of such a lock, not as a lost lease.
	ctl bool
}

// Result is the outcome of an Acquire, Renew or Release.
type Result struct {
	// OK: acquired, renewed or released.
	OK       bool
	Type     Type
	Resource string
	Owner    string
	// Token is the fencing token of the grant (Acquire, Renew).
	Token uint64
	// Granted lists the nodes that granted (Acquire, Renew) or released
	// (Release). When an Acquire fails, their grants were released again.
	Granted []string
	// Refused maps each node that refused or failed to why.
	Refused map[string]string
	// Lease is the holder's handle on the grant (Acquire, Renew when OK).
	Lease *Lease
}

// Nodes lists every node asked, sorted: those that granted and those that
// refused or failed.
func (r Result) Nodes() []string {
	out := slices.Clone(r.Granted)
	for n := range r.Refused {
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookup validates the options and returns them with the key and the lease
// this locker holds for them (nil if none), forgetting it when forget is set.
func (l *Locker) lookup(resource string, opts Options, forget bool) (Options, heldKey, *Lease, error) {
	o, err := l.options(resource, opts)
	if err != nil {
		return o, heldKey{}, nil, err
	}
	key := heldKey{o.Type, resource, o.Owner}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return o, key, nil, ErrClosed
	}
	ls := l.held[key]
	if forget {
		delete(l.held, key)
	}
	return o, key, ls, nil
}

func (l *Locker) options(resource string, o Options) (Options, error) {
	if resource == "" {
		return o, errors.New("locker: resource is empty, want a name")
	}
	if len(resource) > maxStr {
		return o, fmt.Errorf("locker: resource is %d bytes, want at most %d", len(resource), maxStr)
	}
	switch {
	case o.Type == 0:
		o.Type = Quorum
	case !o.Type.Valid():
		return o, fmt.Errorf("locker: lock type %d, want local, leader, quorum or all", uint8(o.Type))
	}
	if o.Owner == "" {
		o.Owner = l.owner
	}
	if len(o.Owner) > maxStr {
		return o, fmt.Errorf("locker: owner is %d bytes, want at most %d", len(o.Owner), maxStr)
	}
	if o.Lease == 0 {
		o.Lease = l.cfg.Lease
	}
	if err := checkLease(o.Lease); err != nil {
		return o, fmt.Errorf("locker: %w", err)
	}
	return o, nil
}

// Targets returns the nodes a lock of type t on resource asks now, and
// how many of them must grant it.
func (l *Locker) Targets(t Type, resource string) (nodes []string, need int, err error) {
	switch t {
	case Local:
		return []string{l.node.Name()}, 1, nil
	case Leader:
		var leader mesh.MemberInfo
		for _, m := range l.node.Members() {
			if m.Status == mesh.StatusDown {
				continue
			}
			if leader.Node == "" || m.GUID.Compare(leader.GUID) < 0 {
				leader = m
			}
		}
		if leader.Node == "" {
			return nil, 0, fmt.Errorf("locker: no running member to lead on %s", l.node.Name())
		}
		return []string{leader.Node}, 1, nil
	case Quorum:
		ms := l.node.Members()
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.Node
		}
		q := l.ringOf(names).Nodes(resource, QuorumSize(len(names)))
		return q, len(q)/2 + 1, nil
	case All:
		running := l.node.Info().RunningNodes
		return running, len(running), nil
	}
	return nil, 0, fmt.Errorf("locker: lock type %v, want local, leader, quorum or all", t)
}

// ringOf returns the ring of names, rebuilt only when they change.
func (l *Locker) ringOf(names []string) *Ring {
	l.ringMu.Lock()
	defer l.ringMu.Unlock()
	if l.ring == nil || !slices.Equal(l.ringNames, names) {
		l.ring = NewRing(names)
		l.ringNames = slices.Clone(names)
	}
	return l.ring
}

// answer is one node's reply to a request.
type answer struct {
	node  string
	reply opReply
	err   error
}

// fanout sends op with req to every node at once, this node's own table
// directly, and returns the answers in nodes' order.
func (l *Locker) fanout(ctx context.Context, nodes []string, op int, req opRequest) []answer {
	out := make([]answer, len(nodes))
	msg, err := req.message(op, l.cfg.Name)
	if err != nil {
		for i, n := range nodes {
			out[i] = answer{node: n, err: err}
		}
		return out
	}
	body := msg.Append(nil)
	ctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	one := func(i int) {
		n := nodes[i]
		out[i].node = n
		if n == l.node.Name() {
			out[i].reply, out[i].err = l.apply(op, req)
			l.stats.decided(op, out[i].reply, out[i].err)
			return
		}
		t, b, err := l.node.Request(ctx, n, opTypes[op], body)
		if err != nil {
			out[i].err = err
			return
		}
		out[i].reply, out[i].err = decodeAnswer(op, t, b)
	}
	remote := 0
	for _, n := range nodes {
		if n != l.node.Name() {
			remote++
		}
	}
	if remote <= 1 {
		for i := range nodes {
			one(i)
		}
		return out
	}
	// Every remote call but the last on its own goroutine; the last and
	// this node's own table on the caller's, which saves a hand-off.
	var wg sync.WaitGroup
	last := -1
	for i := range nodes {
		if nodes[i] == l.node.Name() {
			continue
		}
		if last >= 0 {
			j := last
			wg.Go(func() { one(j) })
		}
		last = i
	}
	for i := range nodes {
		if nodes[i] == l.node.Name() {
			one(i)
		}
	}
	one(last)
	wg.Wait()
	return out
}

// apply runs a request on this node's table. Its errors are a fence
// token above MaxToken, and any request but a release while the node is
// suspended (wrapping mesh.ErrSuspended).
func (l *Locker) apply(op int, req opRequest) (opReply, error) {
	if op != mRelease {
		if err := l.tableSuspendedError(); err != nil {
			return opReply{}, err
		}
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.wakeSweepLocked()
	var d Decision
	switch op {
	case mAcquire:
		d = l.table.Acquire(now, req.Resource, req.Owner, req.Lease)
	case mRenew:
		d = l.table.Renew(now, req.Resource, req.Owner, req.Lease)
	case mRelease:
		ok, holder := l.table.Release(now, req.Resource, req.Owner)
		if ok {
			return opReply{Status: stReleased}, nil
		}
		return opReply{Status: stRefused, Holder: holder}, nil
	case mFence:
		held, err := l.table.Fence(now, req.Resource, req.Owner, req.Token)
		if err != nil {
			return opReply{}, err
		}
		if held {
			_, tok, exp, _ := l.table.Holder(now, req.Resource)
			return opReply{Status: stGranted, Token: tok, Remaining: exp.Sub(now)}, nil
		}
		owner, _, exp, _ := l.table.Holder(now, req.Resource)
		return opReply{Status: stRefused, Holder: owner, Remaining: max(0, exp.Sub(now))}, nil
	}
	r := opReply{Token: d.Token, Holder: d.Holder}
	if !d.Expires.IsZero() {
		r.Remaining = max(0, d.Expires.Sub(now))
	}
	switch {
	case d.Granted && d.Reentry:
		r.Status = stReentry
	case d.Granted:
		r.Status = stGranted
	case d.Exhausted:
		r.Status = stExhausted
	default:
		r.Status = stRefused
	}
	return r, nil
}

// serve serves a lock message from another node (a mesh.MessageHandler):
// only from a member's locker (never a hidden client), with a well-formed
// request whose lease is in range and whose token is at most MaxToken. A
// request not served is logged, at most one line a second, and answered
// with an error naming the reason (an ErrorReply); a table's decision is a
// LockGrant, LockReleased or LockRefuse. While the node is suspended every
// request but a release is refused with an error wrapping
// mesh.ErrSuspended, which the asker receives as mesh.ErrSuspended.
func (l *Locker) serve(ctx context.Context, from string, t wire.Type, body []byte) (wire.Type, []byte, error) {
	op, req, err := decodeRequest(t, body)
	if err != nil {
		return 0, nil, l.refuse(t.String(), from, fmt.Errorf("%s from %s: %w", l.methodOf(op, t), from, err))
	}
	_, isMember := l.node.Member(from)
	if err := admitCaller(l.methods[op], from, l.node.Name(), mesh.FromHiddenClient(ctx), isMember, l.methods[mCtl]); err != nil {
		return 0, nil, l.refuse(l.methods[op], from, err)
	}
	if op == mFence && req.Token > MaxToken {
		return 0, nil, l.refuse(l.methods[op], from, fmt.Errorf("%s from %s: %w", l.methods[op], from, tokenRangeError(req.Resource, req.Token)))
	}
	if (op == mAcquire || op == mRenew) && checkLease(req.Lease) != nil {
		return 0, nil, fmt.Errorf("%s from %s: %w", l.methods[op], from, checkLease(req.Lease))
	}
	r, err := l.apply(op, req)
	l.stats.decided(op, r, err)
	if err != nil {
		return 0, nil, l.refuse(l.methods[op], from, fmt.Errorf("%s from %s: %w", l.methods[op], from, err))
	}
	at, reply := r.answer(req.Resource)
	return at, reply, nil
}

// methodOf names a request in errors: its operation, or its type when it
// did not decode.
func (l *Locker) methodOf(op int, t wire.Type) string {
	if t.IsService() && opTypes[op] == t {
		return l.methods[op]
	}
	return fmt.Sprintf("%s for locker %s", t, l.cfg.Name)
}

// refuse logs a refused request (rate-limited) and returns err.
func (l *Locker) refuse(what, from string, err error) error {
	l.mu.Lock()
	count, due := l.refusedLog.Note(time.Now(), 1)
	l.mu.Unlock()
	if due {
		l.log.Warn("refused a lock table request", "request", what, "from", from, "err", err, "refusals_not_logged", count-1)
	}
	return err
}

func refusal(a answer) string {
	if a.err != nil {
		return a.err.Error()
	}
	if a.reply.Holder != "" {
		return fmt.Sprintf("held by %s for %v more", a.reply.Holder, a.reply.Remaining.Round(time.Millisecond))
	}
	if a.reply.Status == stExhausted {
		return fmt.Sprintf("fencing tokens of this resource are exhausted (counter at MaxToken %d); use another resource name", MaxToken)
	}
	return "not held by this owner"
}

// Acquire tries once to take the lock on resource and returns at once
// with the outcome: Result.OK says whether it was granted, Result.Lease is
// the holder's handle. A refusal is not an error; errors are bad options,
// a closed locker, or no node to ask. A lock is granted when enough of its
// type's nodes grant it (Targets); otherwise every grant obtained is
// released again before Acquire returns (or, if ctx ends first, in the
// background, within Config.CallTimeout). An owner that already holds the
// lock gets it again: the same token, the lease extended. On a suspended
// node Acquire fails at once with an error wrapping mesh.ErrSuspended.
func (l *Locker) Acquire(ctx context.Context, resource string, opts Options) (Result, error) {
	o, key, prev, err := l.lookup(resource, opts, false)
	if err != nil {
		return Result{}, err
	}
	if err := l.suspendedError(fmt.Sprintf("acquire %s lock on %q", o.Type, resource)); err != nil {
		return Result{}, err
	}
	if err := l.settled(ctx); err != nil {
		return Result{}, err
	}
	var nodes []string
	var need int
	if prev != nil && !prev.isEnded() {
		nodes, need = prev.nodes, prev.need
	} else if nodes, need, err = l.Targets(o.Type, resource); err != nil {
		return Result{}, err
	}
	res := Result{Type: o.Type, Resource: resource, Owner: o.Owner, Refused: map[string]string{}}
	start := time.Now()
	answers := l.fanout(ctx, nodes, mAcquire, opRequest{Kind: o.Type, Lease: o.Lease, Resource: resource, Owner: o.Owner})
	var token uint64
	var granted []answer
	var unknown []string // no answer: maybe granted
	for _, a := range answers {
		switch {
		case a.err != nil:
			res.Refused[a.node] = refusal(a)
			unknown = append(unknown, a.node)
		case a.reply.Status == stGranted || a.reply.Status == stReentry:
			granted = append(granted, a)
			token = max(token, a.reply.Token)
		default:
			res.Refused[a.node] = refusal(a)
		}
	}
	// Every table that grants must count token as seen before the lock
	// is ours: then any later grant by a majority that overlaps this one
	// gets a larger token (see GUARANTEES.md).
	var behind []string
	fenced := 0
	for _, a := range granted {
		if a.reply.Token < token {
			behind = append(behind, a.node)
		} else {
			fenced++
		}
	}
	if len(granted) >= need && len(behind) > 0 && fenced < need {
		for _, a := range l.fanout(ctx, behind, mFence, opRequest{Token: token, Resource: resource, Owner: o.Owner}) {
			if a.err == nil && a.reply.Status == stGranted {
				fenced++
			} else {
				res.Refused[a.node] = "fencing token not recorded: " + refusal(a)
			}
		}
	}
	for _, a := range granted {
		res.Granted = append(res.Granted, a.node)
	}
	slices.Sort(res.Granted)
	if len(granted) >= need && fenced >= need {
		ls, err := l.hold(key, o, nodes, need, token, start)
		if err == nil {
			res.OK, res.Token, res.Lease = true, token, ls
			return res, nil
		}
		// The node was suspended meanwhile: give back every grant.
		l.rollback(ctx, append(res.Granted, unknown...), resource, o.Owner)
		return Result{}, err
	}
	// Not granted: give back what was granted, and what may have been.
	l.stats.refused.Add(1)
	var undo []string
	for _, a := range granted {
		if a.reply.Status == stGranted || prev == nil {
			undo = append(undo, a.node)
		}
	}
	if prev == nil {
		undo = append(undo, unknown...)
	}
	if len(undo) > 0 {
		l.rollback(ctx, undo, resource, o.Owner)
	}
	return res, nil
}

// rollback releases owner's grants of resource on nodes, waiting for it
// while ctx lasts; after that it goes on in the background, bounded by
// Config.CallTimeout and Close.
func (l *Locker) rollback(ctx context.Context, nodes []string, resource, owner string) {
	done := make(chan struct{})
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		defer close(done)
		rctx, cancel := context.WithTimeout(l.ctx, l.cfg.CallTimeout)
		defer cancel()
		l.fanout(rctx, nodes, mRelease, opRequest{Resource: resource, Owner: owner})
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Release releases owner's lock on resource on the nodes that granted it
// (when this locker holds it) or else on the nodes its type asks now.
// Result.OK says whether at least one node released it and none still
// holds it for the owner as far as the answers tell.
func (l *Locker) Release(ctx context.Context, resource string, opts Options) (Result, error) {
	o, _, ls, err := l.lookup(resource, opts, true)
	if err != nil {
		return Result{}, err
	}
	var nodes []string
	if ls != nil {
		ls.end(nil)
		nodes = ls.nodes
	} else if nodes, _, err = l.Targets(o.Type, resource); err != nil {
		return Result{}, err
	}
	if ls != nil {
		// Asked too: members that joined since the grant, so that
		// releasing by name works like ctl unlock.
		if now, _, err := l.Targets(o.Type, resource); err == nil {
			nodes = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(nodes), now...))))
		}
	}
	res := Result{Type: o.Type, Resource: resource, Owner: o.Owner, Refused: map[string]string{}}
	failed := false
	for _, a := range l.fanout(ctx, nodes, mRelease, opRequest{Resource: resource, Owner: o.Owner}) {
		switch {
		case a.err == nil && a.reply.Status == stReleased:
			res.Granted = append(res.Granted, a.node)
		case a.err != nil:
			res.Refused[a.node] = a.err.Error()
			failed = true
		case a.reply.Holder != "":
			res.Refused[a.node] = "held by " + a.reply.Holder + ", not by " + o.Owner
		default:
			res.Refused[a.node] = "not held"
		}
	}
	slices.Sort(res.Granted)
	res.OK = len(res.Granted) > 0 && !failed
	return res, nil
}

// Renew extends owner's lease on resource to Options.Lease from now on the
// nodes that granted it. It succeeds when as many of them renew as the
// grant needed; a lease that already ended, here or on too many nodes,
// cannot be renewed (ErrLeaseLost is then reported on the Lease). On a
// suspended node Renew fails at once with an error wrapping
// mesh.ErrSuspended (its locks were given up at the suspension).
func (l *Locker) Renew(ctx context.Context, resource string, opts Options) (Result, error) {
	o, _, ls, err := l.lookup(resource, opts, false)
	if err != nil {
		return Result{}, err
	}
	if err := l.suspendedError(fmt.Sprintf("renew %s lock on %q", o.Type, resource)); err != nil {
		return Result{}, err
	}
	if ls == nil {
		return Result{}, fmt.Errorf("%w: %s lock on %q for owner %s: acquire it first", ErrNotHeld, o.Type, resource, o.Owner)
	}
	return ls.renew(ctx, o.Lease)
}

// hold records a grant and returns its Lease (the existing one on re-entry).
// On a node suspended since the grant it records nothing and returns the
// suspension's error: the node publishes EventSuspended after it is
// suspended, so a grant recorded before that is given up by giveUp.
func (l *Locker) hold(key heldKey, o Options, nodes []string, need int, token uint64, start time.Time) (*Lease, error) {
	deadline := start.Add(o.Lease)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.suspendedError(fmt.Sprintf("acquire %s lock on %q", key.typ, key.resource)); err != nil {
		return nil, err
	}
	// Counted under l.mu: a grant counted before a suspension is one that
	// giveUp finds held.
	l.stats.granted.Add(1)
	if ls := l.held[key]; ls != nil && !ls.isEnded() {
		ls.mu.Lock()
		ls.token = max(ls.token, token)
		ls.lease, ls.autoRenew = o.Lease, ls.autoRenew || o.AutoRenew
		ls.ctl = ls.ctl && o.ctl // taken by the library too: a lease it may hold on to
		if deadline.After(ls.deadline) {
			ls.deadline = deadline
		}
		ls.scheduleLocked()
		ls.mu.Unlock()
		return ls, nil
	}
	ls := &Lease{
		l: l, key: key, token: token, nodes: slices.Clone(nodes), need: need,
		lease: o.Lease, autoRenew: o.AutoRenew, ctl: o.ctl, deadline: deadline, lost: make(chan struct{}),
	}
	if l.closed {
		ls.end(ErrClosed)
		return ls, nil
	}
	l.held[key] = ls
	ls.mu.Lock()
	ls.scheduleLocked()
	ls.mu.Unlock()
	return ls, nil
}
