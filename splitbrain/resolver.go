package splitbrain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Service is the service name a resolver advertises (mesh.Node.AddService)
// and its Reachability messages carry.
const Service = "splitbrain"

// Defaults of Config.
const (
	DefaultStableAfter = 10 * time.Second // cluster.split_brain.stable_after
	DefaultHookTimeout = 30 * time.Second
)

// Hooks let the application stop and start serving its own way. Both run
// on the resolver's goroutine with a context that ends after
// Config.HookTimeout or at Close, and get the decision that made them run.
type Hooks struct {
	// Down runs when this node's side loses (or the view stayed unstable),
	// after the node suspended itself (unless Config.KeepServing). An error
	// is logged; the node counts as down all the same.
	Down func(ctx context.Context, d Decision) error
	// Up runs when this node's side serves again, before the node resumes:
	// reload what the other side changed meanwhile. An error keeps the node
	// down; Up runs again after StableAfter.
	Up func(ctx context.Context, d Decision) error
}

// Config configures a resolver. Strategy is required; the zero value of
// every other field is its default.
type Config struct {
	Rules
	// StableAfter is how long the view (who reaches whom) must hold still
	// before a node acts on its decision (default DefaultStableAfter).
	// Splits shorter than that are not decided: both sides serve through
	// them. Use the same value on every node.
	StableAfter time.Duration
	// DownAllWhenUnstable is how long past StableAfter a split may keep
	// changing before every node in it stops serving; 0 means 3/4 of
	// StableAfter, as Akka; a negative value turns it off.
	DownAllWhenUnstable time.Duration
	// KeepServing: a losing node does not suspend itself (mesh.Node.Suspend,
	// which refuses calls and makes lockers give up their locks); the Down
	// hook alone stops serving the way the application wants.
	KeepServing bool
	// Hooks are the application's down and up hooks.
	Hooks Hooks
	// HookTimeout bounds each hook (default DefaultHookTimeout).
	HookTimeout time.Duration
	// Autoheal configures autoheal, for the Autoheal strategy.
	Autoheal autoheal.Config
	// Logger receives the resolver's log (default: discard).
	Logger *slog.Logger
}

// Status is what a resolver reports.
type Status struct {
	Strategy Strategy `json:"strategy"`
	// Serving: this node serves (it has not lost a decision).
	Serving bool `json:"serving"`
	// Reason is the reason of the decision last acted on.
	Reason string `json:"reason,omitempty"`
	// Since is when Serving last changed (the zero time: never).
	Since time.Time `json:"since,omitzero"`
	// Stable: the view has held still for StableAfter.
	Stable bool `json:"stable"`
	// Decision is the decision on the current view, acted on or not.
	Decision Decision `json:"decision"`
	// Downs and Ups count the times this node stopped and started serving.
	Downs uint64 `json:"downs"`
	Ups   uint64 `json:"ups"`
	// PeersDown are the reachable members that say they do not serve.
	PeersDown []string `json:"peers_down,omitempty"`
}

// entry is what a node last said of itself in a Reachability, directly
// or relayed.
type entry struct {
	version uint64
	serving bool
	reach   []string
}

// Resolver runs a split-brain strategy on one node.
type Resolver struct {
	node *mesh.Node
	cfg  Config
	log  *slog.Logger
	heal *autoheal.Autoheal // the Autoheal strategy
	tick time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sub    *mesh.Subscription
	wake   chan struct{}

	mu       sync.Mutex
	closed   bool
	entries  map[string]entry // the other nodes' latest entries
	own      entry            // this node's entry
	ownKey   string           // own's reach and serving, to see it change
	warned   map[string]bool  // members warned about for another strategy
	stab     stability
	links    map[[2]string]bool // the pairs the last view said are linked
	status   Status
	retryUp  time.Time // an Up hook failed: not again before
	nextSend time.Time
}

// Attach starts the resolver cfg describes on node, until Close. With the
// Autoheal strategy it attaches package autoheal (cfg.Autoheal) and decides
// nothing itself. Attach every node of the cluster with the same Rules and
// StableAfter.
func Attach(node *mesh.Node, cfg Config) (*Resolver, error) {
	if node == nil {
		return nil, errors.New("splitbrain: Attach: node is nil, want a started *mesh.Node")
	}
	if cfg.Strategy == "" {
		return nil, errors.New("splitbrain: Attach: no strategy; want one of autoheal, keep-majority, keep-oldest, static-quorum, down-all")
	}
	if err := cfg.Rules.Check(); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"StableAfter", &cfg.StableAfter, DefaultStableAfter}, {"HookTimeout", &cfg.HookTimeout, DefaultHookTimeout}} {
		switch {
		case *d.v < 0:
			return nil, fmt.Errorf("splitbrain: Attach: %s is %v, want a positive duration (0 means the default, %v)", d.name, *d.v, d.def)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if cfg.DownAllWhenUnstable == 0 {
		cfg.DownAllWhenUnstable = cfg.StableAfter * 3 / 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Resolver{
		node:    node,
		cfg:     cfg,
		log:     cfg.Logger.With("node", node.Name(), "strategy", string(cfg.Strategy)),
		tick:    min(max(cfg.StableAfter/20, 5*time.Millisecond), 250*time.Millisecond),
		wake:    make(chan struct{}, 1),
		entries: map[string]entry{},
		warned:  map[string]bool{},
		stab:    stability{stableAfter: cfg.StableAfter, unstableAfter: cfg.DownAllWhenUnstable},
		status:  Status{Strategy: cfg.Strategy, Serving: true},
	}
	if cfg.Strategy == Autoheal {
		h, err := autoheal.Attach(node, cfg.Autoheal)
		if err != nil {
			return nil, fmt.Errorf("splitbrain: Attach: %w", err)
		}
		r.heal = h
		r.status.Reason = "autoheal: both sides serve; autoheal heals the partitions once the network is whole"
		return r, nil
	}
	if err := node.HandleMessage(wire.TypeReachability, Service, r.serveReachability); err != nil {
		if errors.Is(err, mesh.ErrHandlerExists) {
			return nil, fmt.Errorf("splitbrain: Attach: a resolver already runs on node %s; Close it first: %w", node.Name(), mesh.ErrHandlerExists)
		}
		return nil, fmt.Errorf("splitbrain: Attach: %w", err)
	}
	if err := node.AddService(Service); err != nil {
		_ = node.HandleMessage(wire.TypeReachability, Service, nil)
		return nil, fmt.Errorf("splitbrain: Attach: advertising the %q service: %w", Service, err)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.sub = node.Subscribe()
	r.wg.Add(2)
	go r.watchEvents()
	go r.run()
	r.log.Info("split-brain resolver attached", "stable_after", cfg.StableAfter, "quorum_size", cfg.QuorumSize)
	return r, nil
}

// Autoheal returns the autoheal the Autoheal strategy attached, or nil.
func (r *Resolver) Autoheal() *autoheal.Autoheal { return r.heal }

// Close stops the resolver: it stops deciding, its messages are
// unregistered, and every goroutine has returned when Close does. A node
// it suspended stays suspended (resume it with mesh.Node.Resume). Close is
// idempotent.
func (r *Resolver) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	if r.heal != nil {
		r.heal.Close()
		return
	}
	_ = r.node.RemoveService(Service) // fails only when the node stopped
	_ = r.node.HandleMessage(wire.TypeReachability, Service, nil)
	r.cancel()
	r.sub.Close()
	r.wg.Wait()
}

// Status returns what the resolver knows and did.
func (r *Resolver) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.Decision.Side = slices.Clone(s.Decision.Side)
	s.Decision.Others = slices.Clone(s.Decision.Others)
	s.Decision.Losers = slices.Clone(s.Decision.Losers)
	s.PeersDown = slices.Clone(s.PeersDown)
	return s
}

func (r *Resolver) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// watchEvents wakes the loop on every membership event.
func (r *Resolver) watchEvents() {
	defer r.wg.Done()
	for range r.sub.C() {
		r.poke()
	}
}

// serveReachability keeps the entries a member sent that are newer than
// those held. An entry about this node itself is ignored: it knows better.
func (r *Resolver) serveReachability(_ context.Context, from string, _ wire.Type, body []byte) (wire.Type, []byte, error) {
	var m wire.Reachability
	if err := m.Decode(body); err != nil {
		r.log.Warn("malformed reachability message", "from", from, "err", err)
		return 0, nil, fmt.Errorf("splitbrain: reachability from %s: %w", from, err)
	}
	self := r.node.Name()
	r.mu.Lock()
	if string(m.Strategy) != string(r.cfg.Strategy) && !r.warned[from] {
		r.warned[from] = true
		r.log.Warn("a member runs another split-brain strategy: decisions may disagree; run one strategy on every node",
			"member", from, "its_strategy", string(m.Strategy))
	}
	changed := false
	for _, e := range m.Entries {
		node := string(e.Node)
		if node == self || e.Version <= r.entries[node].version {
			continue
		}
		ne := entry{version: e.Version, serving: e.Serving}
		for _, n := range e.Reach {
			ne.reach = append(ne.reach, string(n))
		}
		r.entries[node] = ne
		changed = true
	}
	r.mu.Unlock()
	if changed {
		r.poke()
	}
	return 0, nil, nil
}

func (r *Resolver) run() {
	defer r.wg.Done()
	t := time.NewTicker(r.tick)
	defer t.Stop()
	for {
		r.step(time.Now())
		select {
		case <-r.ctx.Done():
			return
		case <-r.node.Done():
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// view builds the decision's input from the node's member table, its
// links and the entries held, updates this node's own entry, and returns
// the members to tell.
func (r *Resolver) view(now time.Time) (View, []string) {
	self := r.node.Name()
	ms := r.node.Members()
	v := View{Self: self, Members: make([]Member, 0, len(ms)), Reach: map[string][]string{}}
	var links, tell, peersDown []string
	r.mu.Lock()
	defer r.mu.Unlock()
	known := map[string]bool{}
	for _, m := range ms {
		known[m.Node] = true
		v.Members = append(v.Members, Member{Node: m.Node, GUID: m.GUID})
		if m.Node == self || m.Status == mesh.StatusDown {
			continue
		}
		links = append(links, m.Node)
		if slices.Contains(m.Services, Service) {
			tell = append(tell, m.Node)
		}
	}
	for n, e := range r.entries {
		switch {
		case !known[n]:
			delete(r.entries, n) // removed from the cluster
		default:
			v.Reach[n] = e.reach
			if !e.serving && slices.Contains(links, n) {
				peersDown = append(peersDown, n)
			}
		}
	}
	slices.Sort(links)
	slices.Sort(peersDown)
	if key := fmt.Sprint(r.status.Serving, links); key != r.ownKey {
		r.ownKey = key
		r.own = entry{version: max(uint64(now.UnixNano()), r.own.version+1), serving: r.status.Serving, reach: links}
		r.nextSend = time.Time{} // tell at once
	}
	v.Reach[self] = links
	r.status.PeersDown = peersDown
	return v, tell
}

// step decides on the current view and acts when stability allows.
func (r *Resolver) step(now time.Time) {
	v, tell := r.view(now)
	d := Decide(r.cfg.Rules, v)
	r.mu.Lock()
	key, ls := viewKey(v), links(v)
	lost := lostLink(r.links, ls)
	r.links = ls
	if key != r.stab.key {
		r.log.Debug("the view changed", "view", key, "split", d.Split, "lost_link", lost)
	}
	verdict := r.stab.observe(now, key, d.Split, lost)
	unstableFor := r.stab.unstableFor(now)
	r.status.Decision = d
	r.status.Stable = verdict == act
	serving := r.status.Serving
	retryUp := r.retryUp
	r.mu.Unlock()

	switch {
	case verdict == unstable && serving:
		d.Serve = false
		d.Reason = fmt.Sprintf("%s: unstable: the view kept changing with a split for %v (stable after %v + down-all-when-unstable %v); every node in it stops serving",
			r.cfg.Strategy, unstableFor.Round(time.Millisecond), r.cfg.StableAfter, r.cfg.DownAllWhenUnstable)
		r.down(d)
	case verdict == act && serving && !d.Serve:
		r.down(d)
	case verdict == act && !serving && d.Serve && !now.Before(retryUp):
		r.up(d)
	}
	if verdict == act && !d.Split {
		r.clearPartitions()
	}
	r.announce(now, tell)
}

// down stops serving: suspend (unless KeepServing), then the Down hook.
func (r *Resolver) down(d Decision) {
	r.log.Warn("this side lost: stopping serving until the split is over", "reason", d.Reason,
		"side", d.Side, "others", d.Others, "losers", d.Losers)
	if !r.cfg.KeepServing {
		if err := r.node.Suspend(d.Reason); err != nil {
			r.log.Error("could not suspend the node", "err", err)
		}
	}
	r.mu.Lock()
	r.status.Serving, r.status.Reason, r.status.Since = false, d.Reason, time.Now()
	r.status.Downs++
	r.mu.Unlock()
	if err := r.runHook("down", r.cfg.Hooks.Down, d); err != nil {
		r.log.Error("the down hook failed; the node counts as down all the same", "err", err)
	}
	r.poke() // tell the members at once
}

// up serves again: the Up hook, then resume.
func (r *Resolver) up(d Decision) {
	if err := r.runHook("up", r.cfg.Hooks.Up, d); err != nil {
		r.log.Error("the up hook failed; the node stays down and tries again", "err", err, "retry_in", r.cfg.StableAfter)
		r.mu.Lock()
		r.retryUp = time.Now().Add(r.cfg.StableAfter)
		r.mu.Unlock()
		return
	}
	if !r.cfg.KeepServing {
		if err := r.node.Resume(d.Reason); err != nil {
			r.log.Error("could not resume the node", "err", err)
			return
		}
	}
	r.log.Info("this side serves again", "reason", d.Reason, "side", d.Side)
	r.mu.Lock()
	r.status.Serving, r.status.Reason, r.status.Since = true, d.Reason, time.Now()
	r.status.Ups++
	r.mu.Unlock()
	r.poke()
}

// runHook runs h, turning a panic into an error.
func (r *Resolver) runHook(name string, h func(context.Context, Decision) error, d Decision) (err error) {
	if h == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.HookTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("splitbrain: %s hook panicked: %v\n%s", name, p, debug.Stack())
		}
	}()
	if err := h(ctx, d); err != nil {
		return fmt.Errorf("splitbrain: %s hook: %w", name, err)
	}
	return nil
}

// clearPartitions forgets every partition this node records, once the view
// has held still with no split: the losing side did not serve, and a split
// shorter than StableAfter was not decided (both sides served through it,
// which StableAfter accepts), so there is nothing left to heal.
func (r *Resolver) clearPartitions() {
	for _, p := range r.node.Info().Partitions {
		if r.node.ClearPartition(p) {
			r.log.Info("partition cleared: the split is over", "member", p)
		}
	}
}

// announce tells every member in tell (the members it has a link to that
// run a resolver) what it knows of who reaches whom: at once when this
// node's own entry changed, else once per resend period.
func (r *Resolver) announce(now time.Time, tell []string) {
	r.mu.Lock()
	if now.Before(r.nextSend) {
		r.mu.Unlock()
		return
	}
	r.nextSend = now.Add(r.resend())
	m := wire.Reachability{Service: []byte(Service), Strategy: []byte(r.cfg.Strategy)}
	add := func(node string, e entry) {
		we := wire.ReachEntry{Node: []byte(node), Version: e.version, Serving: e.serving}
		for _, n := range e.reach {
			we.Reach = append(we.Reach, []byte(n))
		}
		m.Entries = append(m.Entries, we)
	}
	add(r.node.Name(), r.own)
	for n, e := range r.entries {
		add(n, e)
	}
	r.mu.Unlock()
	body := m.Append(nil)
	ctx, cancel := context.WithTimeout(r.ctx, r.resend())
	defer cancel()
	for _, n := range tell {
		if err := r.node.Tell(ctx, n, wire.TypeReachability, body); err != nil {
			r.log.Debug("could not tell a member who reaches whom", "member", n, "err", err)
		}
	}
}

// resend is how often a node repeats its Reachability unchanged.
func (r *Resolver) resend() time.Duration {
	return min(time.Second, max(r.cfg.StableAfter/4, 10*time.Millisecond))
}
