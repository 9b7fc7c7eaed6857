package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/internal/lograte"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Node is a running member of a cluster: it listens on its port, keeps one
// link to every member, detects failures and partitions, serves and makes
// calls, and publishes events. Create one with Start; stop it with Stop.
type Node struct {
	cfg  Config
	guid GUID
	log  *slog.Logger
	ccfg *conn.Config
	ln   *conn.Listener

	ctx    context.Context // cancelled when the node stops
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	table    *memberTable
	links    map[string]*link
	hidden   map[*link]struct{}
	retired  map[*link]struct{} // duplicate links draining before they close
	dialing  map[string]bool
	redial   map[string]*redialState
	stopped  bool
	joinWait map[string][]chan struct{}

	// superseded holds the peers whose link the peer closed as a duplicate,
	// since when: the peer keeps another link to this node, which is on its
	// way (see linkDown). Guarded by mu.
	superseded map[string]time.Time

	events   eventBus
	handlers handlerTable
	messages serviceTable  // service message handlers (service.go)
	kick     chan struct{} // wakes the maintainer (e.g. new members learned)

	// leftFrom holds the members of the cluster this node left (Leave, or
	// forced out), until it joins again (Join, Rejoin). A link with one of
	// them, a redial of ours that was under way or one of a member that
	// missed the leave, is not adopted: the peer is told this node left.
	// Guarded by mu.
	leftFrom map[string]struct{}

	// statusMu orders this node's announcements of its own status and
	// services: a link adopted while SetStatus runs must not receive an
	// older status after the newer one.
	statusMu sync.Mutex

	// Membership bounds (Config.MaxMembers and after), guarded by mu.
	learnBudget  tokenBucket     // new members learned second-hand
	redialBudget tokenBucket     // redials started
	dropLog      lograte.Limiter // announced members dropped
	// services are the services this node advertises (AddService), sorted;
	// announced is set once it advertised any, so that every new link
	// hears the set from then on. Guarded by mu.
	services  []string
	announced bool

	stats nodeStats // counters for Stats and the metrics (stats.go)
}

type redialState struct {
	attempt int
	next    time.Time
}

// Start starts a node: it validates cfg, listens on the node's port, and
// begins its maintenance loop (heartbeats, failure detection, redials,
// autoclean) and, with a Discovery, the autocluster loop.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkHostResolves(ctx, &cfg); err != nil { // resolve.go
		return nil, err
	}
	cfg = cfg.withDefaults()
	guid := cfg.GUID
	if guid.IsZero() {
		guid = NewGUID()
	}
	n := &Node{
		cfg:      cfg,
		guid:     guid,
		log:      cfg.Logger.With("node", cfg.Name),
		links:    make(map[string]*link),
		hidden:   make(map[*link]struct{}),
		retired:  make(map[*link]struct{}),
		dialing:  make(map[string]bool),
		redial:   make(map[string]*redialState),
		joinWait: make(map[string][]chan struct{}),
		kick:     make(chan struct{}, 1),
	}
	n.superseded = make(map[string]time.Time)
	now := time.Now()
	n.table = n.newTable(now)
	n.learnBudget = newTokenBucket(cfg.LearnRate, cfg.LearnBurst, now)
	n.redialBudget = newTokenBucket(cfg.RedialRate, int(math.Ceil(cfg.RedialRate)), now)
	n.dropLog.Interval = dropLogInterval
	cc := conn.DefaultConfig()
	cc.Name = cfg.Name
	cc.Cluster = cfg.Cluster
	cc.Cookie = cfg.Cookie
	cc.GUID = guid
	cc.TLS = cfg.TLS
	cc.Compression = cfg.Compression.conn()
	cc.CompressThreshold = cfg.CompressThreshold
	cc.HandshakeTimeout = cfg.HandshakeTimeout
	cfg.applyLimits(&cc) // memory bounds (limits.go), one reassembly budget per node
	cc.MaxHandshakes = cfg.MaxHandshakes
	cc.MaxHandshakesPerAddr = cfg.MaxHandshakesPerAddr
	cc.MaxListenerConns = cfg.MaxListenerConns
	cc.MaxIncompleteLinksPerPeer = cfg.MaxIncompleteLinksPerPeer
	cc.FirstByteTimeout = cfg.FirstByteTimeout
	cc.RefusalLogInterval = cfg.RefusalLogInterval
	cc.Dial = cfg.Dial
	cc.Logger = n.log
	if ip := net.ParseIP(cfg.Bind); ip != nil {
		cc.LocalIP = ip
	} else if name, err := parseName(cfg.Name); err == nil {
		cc.LocalIP = name.HostIP()
	}
	if cc.LocalIP != nil && cc.LocalIP.IsUnspecified() {
		cc.LocalIP = nil
	}
	n.ccfg = &cc
	addr, err := cfg.listenAddr()
	if err != nil {
		return nil, fmt.Errorf("mesh: node %s: %w", cfg.Name, err)
	}
	ln, err := conn.Listen(ctx, n.ccfg, addr)
	if err != nil {
		return nil, fmt.Errorf("mesh: node %s cannot listen: %w", cfg.Name, err)
	}
	n.ln = ln
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.registerBuiltins()
	n.wg.Add(2)
	go n.acceptLoop()
	go n.maintain()
	if cfg.Discovery != nil {
		n.wg.Add(1)
		go n.autocluster()
	}
	n.log.Info("node started", "addr", ln.Addr().String(), "guid", guid.String(), "cluster", cfg.Cluster)
	return n, nil
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// GUID identifies this incarnation of the node.
func (n *Node) GUID() GUID { return n.guid }

// Cluster is the cluster name.
func (n *Node) Cluster() string { return n.cfg.Cluster }

// Addr is the address the node listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Stop stops the node: it unregisters from discovery, says goodbye to every
// peer, closes every link, cancels running handlers and waits (bounded by
// ctx) until every goroutine of the node has returned. Peers see the node
// down. Stop is idempotent.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	links := n.allLinksLocked()
	n.mu.Unlock()

	if n.cfg.Discovery != nil {
		uctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := n.cfg.Discovery.Unregister(uctx); err != nil && !errors.Is(err, ErrNotSupported) {
			n.log.Warn("unregister from discovery failed", "err", err)
		}
		cancel()
	}
	n.cancel()
	lnErr := n.ln.Close()
	for _, lk := range links {
		lk.c.Close(wire.CodeShutdown, "node "+n.cfg.Name+" is stopping")
	}
	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		for _, lk := range links {
			<-lk.c.Done()
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("mesh: node %s did not stop in time: %w", n.cfg.Name, ctx.Err())
	}
	n.events.close()
	n.log.Info("node stopped")
	if err == nil && lnErr != nil && !errors.Is(lnErr, net.ErrClosed) {
		err = lnErr
	}
	return err
}

func (n *Node) allLinksLocked() []*link {
	out := make([]*link, 0, len(n.links)+len(n.hidden))
	for _, lk := range n.links {
		out = append(out, lk)
	}
	for lk := range n.hidden {
		out = append(out, lk)
	}
	for lk := range n.retired {
		out = append(out, lk)
	}
	return out
}

// Subscribe returns a subscription to the node's events from now on, in
// order. A slow subscriber only grows its own queue; Close it when done.
// Events before the subscription are not replayed (as with Erlang's
// monitor_nodes): read Info after subscribing for the state so far.
func (n *Node) Subscribe() *Subscription { return n.events.subscribe() }

// Info returns the node's view of the cluster.
func (n *Node) Info() Info {
	n.mu.Lock()
	defer n.mu.Unlock()
	return buildInfo(n.cfg.Name, n.cfg.Cluster, n.table)
}

// Members returns the member table, sorted by name.
func (n *Node) Members() []MemberInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.table.snapshot()
}

// ClearPartition forgets the partition recorded with node (an operator or
// autoheal healed it) and publishes a partition-healed event. It reports
// whether one was recorded.
func (n *Node) ClearPartition(node string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.table.clearPartition(node) {
		return false
	}
	m, _ := n.table.get(node)
	n.publishLocked(EventPartitionHealed, node, m.GUID, "partition cleared")
	return true
}

func (n *Node) publishLocked(kind EventKind, node string, guid GUID, reason string) {
	n.events.publish(Event{Kind: kind, Node: node, GUID: guid, Time: time.Now(), Reason: reason})
}

// acceptLoop adopts every link the listener authenticates.
func (n *Node) acceptLoop() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept(n.ctx)
		if err != nil {
			return
		}
		n.adopt(c)
	}
}

// dial opens a link to node unless one exists or a dial is in progress, and
// adopts it. It returns the error of the dial.
func (n *Node) dial(ctx context.Context, node string) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if lk := n.links[node]; lk != nil {
		n.mu.Unlock()
		return nil
	}
	if n.dialing[node] {
		n.mu.Unlock()
		return nil
	}
	n.dialing[node] = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.dialing, node)
		n.mu.Unlock()
	}()
	addr, err := n.cfg.resolve(node)
	if err != nil {
		return &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.ctx, cancel)
	defer stop()
	c, err := conn.Dial(dctx, n.ccfg, node, addr)
	if err != nil {
		return &NodeError{Node: node, Err: err}
	}
	n.adopt(c)
	return nil
}

// adopt makes an authenticated connection this node's link to its peer, or
// closes it when a better link exists (exactly one link per pair).
func (n *Node) adopt(c *conn.Conn) {
	p := c.Peer()
	lk := newLink(n, c)
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		c.Close(wire.CodeShutdown, "node "+n.cfg.Name+" is stopping")
		return
	}
	if p.Hidden {
		n.hidden[lk] = struct{}{}
		n.wg.Add(2)
		n.mu.Unlock()
		lk.start()
		go lk.watch()
		return
	}
	if p.Name == n.cfg.Name {
		n.mu.Unlock()
		c.Close(wire.CodeRefused, "a node cannot link to itself")
		return
	}
	if _, left := n.leftFrom[p.Name]; left {
		n.wg.Add(1)
		n.mu.Unlock()
		n.sayLeft(c)
		return
	}
	old := n.links[p.Name]
	if old != nil && old.guid == lk.guid && old.c.Err() != nil {
		// The old link has closed and its linkDown has not run yet: the
		// new link takes its place (linkDown then finds it replaced), and
		// the member never counts as down.
		old = nil
	}
	if old != nil && old.guid == lk.guid && !n.prefer(lk, old) {
		// The peer may already be sending calls on this link (it may have
		// had no other when it dialed): serve it until it falls idle.
		n.log.Debug("retiring duplicate link", "peer", p.Name)
		n.retireLocked(lk, "a link between "+n.cfg.Name+" and "+p.Name+" already exists", true)
		n.mu.Unlock()
		lk.start()
		go lk.watch()
		return
	}
	n.links[p.Name] = lk
	if old != nil && old.guid == lk.guid {
		// Calls may be in flight on the old link, both ways: it retires
		// once idle instead of failing them.
		n.retireLocked(old, "replaced by a newer link", false)
		old = nil
	}
	now := time.Now()
	ch := n.table.observeUp(p.Name, lk.guid, now)
	if ch.Kind == ChangeRefused {
		if n.links[p.Name] == lk {
			delete(n.links, p.Name)
		}
		n.mu.Unlock()
		reason := fmt.Sprintf("the member table of %s is full (%d members, MaxMembers) and every member has been reached", n.cfg.Name, n.cfg.MaxMembers)
		n.log.Warn("refused a link from a new node: the member table is full", "peer", p.Name, "max_members", n.cfg.MaxMembers)
		c.Close(wire.CodeRefused, reason)
		return
	}
	delete(n.redial, p.Name)
	delete(n.superseded, p.Name)
	if ch.Evicted != "" {
		delete(n.redial, ch.Evicted)
		n.publishLocked(EventNodeLeaving, ch.Evicted, GUID{}, "removed to make room for "+p.Name+": the member table is full and it was never reached")
		n.log.Info("removed a member never reached to make room in the full member table", "member", ch.Evicted, "for", p.Name, "max_members", n.cfg.MaxMembers)
	}
	n.applyChangeLocked(ch, "link up")
	waiters := n.joinWait[p.Name]
	delete(n.joinWait, p.Name)
	n.wg.Add(2)
	n.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
	lk.start()
	go lk.watch()
	if old != nil {
		// The old link led to an earlier incarnation of the peer.
		old.c.Close(wire.CodeDuplicateLink, "replaced by a link to the restarted node")
	}
	lk.sendMemberTable()
	n.announceStatusTo(lk)
	n.announceServicesTo(lk)
}

// announceStatusTo tells a newly adopted link this node's own status when it
// is healing or leaving: the peer records the node up when the link comes
// up, and must not keep seeing it so while it heals. Joining is not told:
// Join links to the members while it runs and announces up at its end, so
// a member would only see a moment of joining before up.
func (n *Node) announceStatusTo(lk *link) {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	self, _ := n.table.get(n.cfg.Name)
	n.mu.Unlock()
	if self.Status != StatusHealing && self.Status != StatusLeaving {
		return
	}
	lk.c.Send(lk.ctx, wire.TypeMemberStatus, 0, n.statusMessage(self.Status), nil)
}

// sayLeft tells the peer of a new link that this node left the cluster
// they shared, then closes the link. The peer adopted the link and would
// otherwise keep this node as a member. It calls n.wg.Done once the
// connection is closed.
func (n *Node) sayLeft(c *conn.Conn) {
	// Read (and ignore) what the peer sends, so the orderly close is not
	// turned into a reset that could swallow the leave.
	c.Start(func(*conn.Conn, wire.Header, []byte, bool) {})
	m := wire.Leave{Node: []byte(n.cfg.Name), GUID: n.guid}
	c.Send(n.ctx, wire.TypeLeave, 0, m.Append(nil), nil)
	c.Close(wire.CodeShutdown, n.cfg.Name+" left the cluster of "+c.Peer().Name)
	n.log.Info("told a member of the cluster this node left that it left", "peer", c.Peer().Name)
	go func() {
		defer n.wg.Done()
		<-c.Done()
	}()
}

// Retiring links: a duplicate link is not closed at once, since calls may be
// in flight on it in either direction; it stops being anyone's choice for
// new calls, and closes once it has been idle (no call of ours waiting, no
// handler of the peer's call running) after drainGrace, or after
// drainLimit whatever.
const (
	drainGrace = 300 * time.Millisecond
	drainLimit = 10 * time.Second
)

// retireLocked takes lk out of service and closes it once it is idle. The
// caller holds n.mu. A fresh link has not been started yet: n.wg gets its
// two goroutines (cast runner and watch) here and the caller starts them.
func (n *Node) retireLocked(lk *link, reason string, fresh bool) {
	if lk.retired {
		return
	}
	if fresh {
		n.wg.Add(2)
	}
	lk.retired = true
	n.retired[lk] = struct{}{}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		start := time.Now()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-lk.c.Closed():
				return
			case <-n.ctx.Done():
				return
			case now := <-t.C:
				if now.Sub(start) >= drainGrace && lk.idle() || now.Sub(start) >= drainLimit {
					lk.c.Close(wire.CodeDuplicateLink, reason)
					return
				}
			}
		}
	}()
}

// prefer reports whether the new link should replace the old one to the
// same incarnation. Both ends compute the same answer: the link dialed by
// the node with the smaller name wins; between two links dialed by the same
// side, the newer one wins (the old one is probably dead).
func (n *Node) prefer(nu, old *link) bool {
	dialer := func(lk *link) string {
		if lk.c.Dialed() {
			return n.cfg.Name
		}
		return lk.peer
	}
	want := min(n.cfg.Name, nu.peer)
	dn, do := dialer(nu), dialer(old)
	if dn == do {
		return true
	}
	return dn == want
}

// linkDown is called once a link's connection has closed.
func (n *Node) linkDown(lk *link) {
	n.mu.Lock()
	if lk.hidden {
		delete(n.hidden, lk)
		n.mu.Unlock()
		return
	}
	if lk.retired {
		delete(n.retired, lk)
		n.mu.Unlock()
		return
	}
	if n.links[lk.peer] != lk {
		n.mu.Unlock()
		return
	}
	delete(n.links, lk.peer)
	if !n.stopped && supersededByPeer(lk.c.Err()) {
		// Simultaneous dials, or a newer link replacing this one: the peer
		// closed this link because it keeps another one to this node, which
		// this node has not adopted yet. The member is not down (marking it
		// down would turn the other link's arrival into a partition) unless
		// that link fails to come within the handshake timeout (maintain).
		n.superseded[lk.peer] = time.Now()
		n.mu.Unlock()
		return
	}
	reason := "connection closed"
	if err := lk.c.Err(); err != nil && !errors.Is(err, conn.ErrClosed) {
		reason = err.Error()
	} else if lk.downReason != "" {
		reason = lk.downReason
	}
	if !n.stopped {
		ch := n.table.observeDown(lk.peer, time.Now())
		n.applyChangeLocked(ch, reason)
		if _, ok := n.table.get(lk.peer); ok {
			n.scheduleRedialLocked(lk.peer, 0)
		}
	}
	n.mu.Unlock()
}

// supersededByPeer reports whether a link's error is the peer's goodbye for
// a duplicate link.
func supersededByPeer(err error) bool {
	var pc *conn.PeerClosedError
	return errors.As(err, &pc) && strings.Contains(pc.Reason, "("+wire.CodeDuplicateLink.String()+")")
}

func (n *Node) scheduleRedialLocked(node string, attempt int) {
	d := n.cfg.Redial.Delay(attempt, rand.Float64)
	n.redial[node] = &redialState{attempt: attempt, next: time.Now().Add(d)}
	n.wake()
}

func (n *Node) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// applyChangeLocked turns a member-table change into events.
func (n *Node) applyChangeLocked(ch Change, reason string) {
	switch ch.Kind {
	case ChangeNew, ChangeUp:
		n.publishLocked(EventNodeUp, ch.Node, ch.GUID, reason)
	case ChangeRestart:
		if ch.PartitionCleared {
			n.publishLocked(EventPartitionHealed, ch.Node, ch.GUID, "member restarted")
		}
		n.publishLocked(EventNodeUp, ch.Node, ch.GUID, "restarted (new GUID)")
	case ChangePartition:
		n.publishLocked(EventNodeUp, ch.Node, ch.GUID, reason)
		n.publishLocked(EventPartitionOccurred, ch.Node, ch.GUID, "reconnected to a member that was down with the same GUID: both sides ran apart")
	case ChangeDown:
		n.publishLocked(EventNodeDown, ch.Node, ch.GUID, reason)
	case ChangeStatus:
		switch ch.Status {
		case StatusJoining:
			n.publishLocked(EventNodeJoining, ch.Node, ch.GUID, reason)
		case StatusLeaving:
			n.publishLocked(EventNodeLeaving, ch.Node, ch.GUID, reason)
		case StatusHealing:
			n.publishLocked(EventNodeHealing, ch.Node, ch.GUID, reason)
		case StatusUp:
			n.publishLocked(EventNodeUp, ch.Node, ch.GUID, reason)
		}
	}
}

// maintain is the node's housekeeping loop: heartbeats, silent-peer
// detection, redials with backoff, and autoclean. It sleeps until the next
// of these is due, or a kick, rather than ticking.
//
// Beats fall on the multiples of HeartbeatInterval of the wall clock, so
// the nodes of a cluster (whose clocks roughly agree) beat at about the
// same moment: a node's heartbeat traffic, its own pings and its peers',
// comes as one burst per interval instead of one per peer spread over it,
// and an idle process woken once a second costs far less than one woken
// once per peer. On each link one end pings and the other answers, and
// not on every beat when the link is busy or the timeout leaves room (see
// pingDue): with the defaults an idle pair exchanges one ping and one pong
// every two seconds instead of two of each every second.
// Silence is checked at each link's own deadline, not at beats, so a
// silent peer is seen HeartbeatTimeout after it was last heard.
func (n *Node) maintain() {
	defer n.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var w maintenance
	var lastBeat, nextBeat time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-timer.C:
		case <-n.kick:
		}
		now := time.Now()
		sinceBeat := time.Duration(-1) // not a beat
		if !now.Before(nextBeat) {
			sinceBeat = 2 * n.cfg.HeartbeatInterval // the first beat, or one long overdue
			if !lastBeat.IsZero() {
				sinceBeat = min(now.Sub(lastBeat), sinceBeat)
			}
			lastBeat, nextBeat = now, nextBeatAfter(now, n.cfg.HeartbeatInterval)
		}
		wait := min(n.collectMaintenance(now, sinceBeat, &w), nextBeat.Sub(now))
		n.runMaintenance(now, &w)
		timer.Reset(wait - time.Since(now))
	}
}

// maintenance is the work one pass of maintain found, gathered under n.mu
// and done outside it. Its slices are reused from pass to pass.
type maintenance struct {
	ping   []*link  // links this node pings on this beat
	silent []*link  // links silent for longer than the heartbeat timeout
	dials  []string // down members whose redial is due
}

// nextBeatAfter is the first multiple of interval of the wall clock after
// now, at least a tenth of an interval away (a timer that fired a hair
// before a multiple, on a clock being slewed, must not beat twice), carried
// on now's monotonic clock.
func nextBeatAfter(now time.Time, interval time.Duration) time.Time {
	untilNext := interval - now.Sub(now.Truncate(interval))
	if untilNext < interval/10 {
		untilNext += interval
	}
	return now.Add(untilNext)
}

// pingDue reports whether node self pings its member peer at a beat, given
// how long ago it last heard from peer and how long ago its previous beat
// was. Any frame heard counts, and a pong refreshes the pinging end as its
// ping refreshed the other, so one end pings and the other only answers
// while the link is healthy: the end whose name sorts first. With room in
// the timeout (at least four intervals, as with the defaults) that end also
// skips a beat when it heard the peer since its previous beat (the pong of
// that beat's ping, or traffic), so an idle link exchanges one ping and one
// pong every two intervals and a busy one none, and the answering end pings
// only after two and a half intervals without a word. With less room the
// first end pings every beat and the other after one and a half intervals
// of silence; under two intervals both ping every beat. Silence is still
// timed from the last frame heard, so no rule here delays detecting a
// silent peer.
func pingDue(self, peer string, sinceHeard, sinceBeat, interval, timeout time.Duration) bool {
	roomy := timeout >= 4*interval
	switch {
	case timeout < 2*interval:
		return true
	case self > peer && roomy:
		return sinceHeard >= 2*interval+interval/2
	case self > peer:
		return sinceHeard >= interval+interval/2
	case roomy:
		return sinceHeard >= sinceBeat
	default:
		return true
	}
}

// collectMaintenance finds, under n.mu, the links to ping and to close as
// silent and the redials that are due into w, applies the superseded-link
// and autoclean rules, and returns how long until the next silence or
// redial deadline (or an hour if there is none). sinceBeat is the time since
// the previous beat if this pass is a beat (pings go out only on beats),
// else negative.
func (n *Node) collectMaintenance(now time.Time, sinceBeat time.Duration, w *maintenance) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	next := time.Hour
	interval, timeout := n.cfg.HeartbeatInterval, n.cfg.HeartbeatTimeout
	for _, lk := range n.links {
		sinceHeard := now.Sub(lk.heard())
		if sinceHeard > timeout {
			w.silent = append(w.silent, lk)
			continue
		}
		next = min(next, timeout-sinceHeard+time.Millisecond)
		if sinceBeat >= 0 && pingDue(n.cfg.Name, lk.peer, sinceHeard, sinceBeat, interval, timeout) {
			w.ping = append(w.ping, lk)
		}
	}
	var unreached []string // due redials of members never reached, after the others
	for node, st := range n.redial {
		if _, member := n.table.get(node); !member {
			delete(n.redial, node)
			continue
		}
		if n.links[node] != nil || n.dialing[node] {
			continue // a failed dial reschedules, and that wakes maintain
		}
		switch due := st.next.Sub(now); {
		case due > 0:
			next = min(next, due)
		case n.table.reached(node):
			w.dials = append(w.dials, node)
		default:
			unreached = append(unreached, node)
		}
	}
	w.dials = append(w.dials, unreached...)
	if allowed := n.redialBudget.available(now); len(w.dials) > allowed {
		// The rest stay due and go as the budget refills.
		clear(w.dials[allowed:])
		w.dials = w.dials[:allowed]
		next = min(next, max(n.redialBudget.untilNext(now), time.Millisecond))
	}
	n.redialBudget.spend(now, len(w.dials))
	for node, since := range n.superseded {
		switch {
		case n.links[node] != nil:
			delete(n.superseded, node)
		case now.Sub(since) > n.cfg.HandshakeTimeout:
			delete(n.superseded, node)
			ch := n.table.observeDown(node, now)
			n.applyChangeLocked(ch, "the peer closed a duplicate link and the link it kept never came")
			if _, ok := n.table.get(node); ok {
				n.scheduleRedialLocked(node, 0)
			}
		default:
			next = min(next, n.cfg.HandshakeTimeout-now.Sub(since)+time.Millisecond)
		}
	}
	if forgotten := n.table.forgetUnreached(now, n.cfg.ForgetUnreached); len(forgotten) > 0 {
		reason := fmt.Sprintf("never reached: learned from a peer more than %v ago, and no link to it came", n.cfg.ForgetUnreached)
		for _, node := range forgotten {
			delete(n.redial, node)
			n.publishLocked(EventNodeLeaving, node, GUID{}, reason)
		}
		n.log.Info("removed members learned from peers that this node never reached", "count", len(forgotten), "first", forgotten[0], "after", n.cfg.ForgetUnreached)
	}
	if n.cfg.ForgetUnreached > 0 {
		if at, ok := n.table.nextUnreachedExpiry(n.cfg.ForgetUnreached); ok {
			next = min(next, max(at.Sub(now), time.Millisecond))
		}
	}
	for _, node := range n.table.autoclean(now, n.cfg.Autoclean) {
		delete(n.redial, node)
		n.publishLocked(EventNodeLeaving, node, GUID{}, fmt.Sprintf("autoclean: down for longer than %v", n.cfg.Autoclean))
		n.log.Info("autoclean removed a member that stayed down", "member", node, "after", n.cfg.Autoclean)
	}
	return next
}

// runMaintenance pings, closes silent links and starts redials, outside
// n.mu, and empties w for the next pass.
func (n *Node) runMaintenance(now time.Time, w *maintenance) {
	for _, lk := range w.ping {
		lk.ping(now)
	}
	n.stats.beatsMissed.Add(uint64(len(w.silent)))
	for _, lk := range w.silent {
		lk.downReason = fmt.Sprintf("heartbeat timeout: nothing heard for %v", n.cfg.HeartbeatTimeout)
		n.log.Warn("peer silent; closing its link", "peer", lk.peer, "timeout", n.cfg.HeartbeatTimeout)
		lk.c.Abort(wire.CodeTimeout, lk.downReason)
	}
	for _, node := range w.dials {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, 2*n.cfg.HandshakeTimeout)
			err := n.dial(ctx, node)
			cancel()
			n.mu.Lock()
			defer n.mu.Unlock()
			if err != nil && n.links[node] == nil {
				if st := n.redial[node]; st != nil {
					n.scheduleRedialLocked(node, st.attempt+1)
				}
				n.log.Debug("redial failed", "member", node, "err", err)
			}
		}()
	}
	clear(w.ping)
	clear(w.silent)
	w.ping, w.silent, w.dials = w.ping[:0], w.silent[:0], w.dials[:0]
}

// Join links this node to node and, through node's member table, to every
// member of its cluster. It returns once the link to node is up.
//
// Joining a node this node is linked to does nothing, unless this node
// records a partition with it: then Join heals that partition by hand, the
// way autoheal heals a victim. This node rejoins node's cluster (Rejoin)
// and announces itself up again. Run it on each node of the side that gives
// way.
func (n *Node) Join(ctx context.Context, node string) error {
	if node == n.cfg.Name {
		return fmt.Errorf("mesh: node %s cannot join itself", node)
	}
	if _, err := parseName(node); err != nil {
		return &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if n.links[node] != nil {
		partitioned := slices.Contains(n.table.partitions(), node)
		n.mu.Unlock()
		if partitioned {
			return n.healByJoin(ctx, node)
		}
		return nil
	}
	w := make(chan struct{})
	n.joinWait[node] = append(n.joinWait[node], w)
	clear(n.leftFrom)
	n.mu.Unlock()
	n.setSelfStatus(StatusJoining)
	defer n.setSelfStatus(StatusUp)
	return n.awaitJoin(ctx, node, w)
}

// awaitJoin dials node until the link to it is up (w, registered in
// joinWait, is closed) or ctx ends.
func (n *Node) awaitJoin(ctx context.Context, node string, w chan struct{}) error {
	for attempt := 0; ; attempt++ {
		err := n.dial(ctx, node)
		select {
		case <-w:
			return nil
		default:
		}
		if err != nil {
			if errors.Is(err, ErrUnknownNode) || errors.Is(err, conn.ErrBadCookie) || errors.Is(err, conn.ErrWrongCluster) || errors.Is(err, conn.ErrWrongNode) || ctx.Err() != nil {
				return fmt.Errorf("mesh: join %s: %w", node, err)
			}
		}
		select {
		case <-w:
			return nil
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("mesh: join %s: %w", node, errors.Join(ctx.Err(), err))
		case <-n.ctx.Done():
			return ErrStopped
		case <-time.After(n.cfg.Redial.Delay(attempt, rand.Float64)):
		}
	}
}

// setSelfStatus records and announces this node's own status.
func (n *Node) setSelfStatus(s Status) {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	n.table.setStatus(n.cfg.Name, s, time.Now())
	links := n.memberLinksLocked()
	// Duplicate links still draining hear it too. A peer reads each link in
	// its own goroutine, and one of them may carry an older announcement
	// (told when the link was adopted, before it lost to its duplicate):
	// when every link to the peer ends with the newest status, the peer
	// applies the newest status last, whatever order it reads them in.
	for lk := range n.retired {
		links = append(links, lk)
	}
	n.mu.Unlock()
	tellAll(n.ctx, links, wire.TypeMemberStatus, n.statusMessage(s))
}

// statusMessage is the body announcing this node's own status s.
func (n *Node) statusMessage(s Status) []byte {
	m := wire.MemberStatus{Node: []byte(n.cfg.Name), GUID: n.guid, Status: wire.Status(s)}
	return m.Append(nil)
}

// memberLinksLocked returns the current links to members.
func (n *Node) memberLinksLocked() []*link { return slices.Collect(maps.Values(n.links)) }

// tellAll sends one control message on each link. It gives up only when
// ctx ends: a link whose send fails is going down and has nothing more to
// learn.
func tellAll(ctx context.Context, links []*link, t wire.Type, body []byte) error {
	for _, lk := range links {
		if err := lk.c.Send(ctx, t, 0, body, nil); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// forgetClusterLocked drops every member link, the member table and the
// redial state, for a node that leaves or is forced out (left: its members
// are recorded in leftFrom) or gives way to heal (it rejoins: leftFrom is
// cleared). It returns the dropped links for the caller to close once n.mu
// is released.
func (n *Node) forgetClusterLocked(left bool) []*link {
	if left {
		if n.leftFrom == nil {
			n.leftFrom = make(map[string]struct{})
		}
		for _, m := range n.table.snapshot() {
			if m.Node != n.cfg.Name {
				n.leftFrom[m.Node] = struct{}{}
			}
		}
	} else {
		clear(n.leftFrom)
	}
	links := n.memberLinksLocked()
	clear(n.links)
	clear(n.redial)
	clear(n.superseded)
	n.table = n.newTable(time.Now())
	return links
}

// newTable returns a fresh member table with this node alone, its limit
// and its services.
func (n *Node) newTable(now time.Time) *memberTable {
	t := newMemberTable(n.cfg.Name, n.guid, now)
	t.limit = n.cfg.MaxMembers
	t.setServices(n.cfg.Name, n.guid, n.services)
	t.setVersion(n.cfg.Name, n.guid, n.cfg.Version)
	return t
}

// Leave announces that this node leaves the cluster, drops every link and
// forgets every member. The node keeps running alone and can Join again.
// Until it does, a member of the cluster it left that links to it (one that
// missed the leave, cut off at the time) is told it left, and drops it.
func (n *Node) Leave(ctx context.Context) error {
	n.setSelfStatus(StatusLeaving)
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	links := n.memberLinksLocked()
	n.mu.Unlock()
	m := wire.Leave{Node: []byte(n.cfg.Name), GUID: n.guid}
	if err := tellAll(ctx, links, wire.TypeLeave, m.Append(nil)); err != nil {
		return fmt.Errorf("mesh: leave: %w", err)
	}
	n.mu.Lock()
	links = n.forgetClusterLocked(true)
	n.mu.Unlock()
	for _, lk := range links {
		lk.c.Close(wire.CodeShutdown, n.cfg.Name+" left the cluster")
	}
	n.log.Info("left the cluster", "peers", len(links))
	return nil
}

// ForceLeave removes node from the cluster everywhere: from this node's
// table, its link closed, and every member told to do the same. A live node
// that is forced out forgets its cluster, as after Leave.
func (n *Node) ForceLeave(ctx context.Context, node string) error {
	if node == n.cfg.Name {
		return fmt.Errorf("mesh: force-leave %s: a node cannot force itself out; use Leave", node)
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if _, ok := n.table.get(node); !ok {
		n.mu.Unlock()
		return &NodeError{Node: node, Err: fmt.Errorf("%w: force-leave: not a member", ErrNotMember)}
	}
	links := n.memberLinksLocked()
	n.mu.Unlock()
	m := wire.ForceLeave{Node: []byte(node), By: []byte(n.cfg.Name)}
	if err := tellAll(ctx, links, wire.TypeForceLeave, m.Append(nil)); err != nil {
		return fmt.Errorf("mesh: force-leave %s: %w", node, err)
	}
	n.removeMember(node, "forced out by "+n.cfg.Name)
	return nil
}

// removeMember drops node from the table and closes its link without a
// down event or a redial. Subscribers see a leaving event with the reason,
// unless the member had already announced it was leaving.
func (n *Node) removeMember(node, reason string) {
	n.mu.Lock()
	lk := n.links[node]
	delete(n.links, node)
	delete(n.redial, node)
	m, _ := n.table.get(node)
	removed := n.table.remove(node)
	if removed && m.Status != StatusLeaving {
		n.publishLocked(EventNodeLeaving, node, m.GUID, reason)
	}
	n.mu.Unlock()
	if lk != nil {
		lk.c.Close(wire.CodeRefused, reason)
	}
	if removed {
		n.log.Info("member removed", "member", node, "reason", reason)
	}
}

// forcedOut is called when a peer tells this node it was forced out.
func (n *Node) forcedOut(by string) {
	n.log.Warn("this node was forced out of the cluster", "by", by)
	n.mu.Lock()
	links := n.forgetClusterLocked(true)
	n.mu.Unlock()
	for _, lk := range links {
		lk.c.Close(wire.CodeRefused, n.cfg.Name+" was forced out by "+by)
	}
}

// mergeTable folds a peer's member table into ours and dials the members
// this node did not know.
func (n *Node) mergeTable(from string, mt *wire.MemberTable) {
	entries := make([]MemberInfo, 0, min(len(mt.Members), n.cfg.MaxMembers))
	for _, e := range mt.Members {
		entries = append(entries, MemberInfo{Node: string(e.Name), Status: Status(e.Status), GUID: GUID(e.GUID)})
	}
	n.learnMembers(from, "member table", entries)
}

// learnJoin records a member that a peer announced joined, and dials it.
func (n *Node) learnJoin(from, node string, guid GUID) {
	n.mu.Lock()
	linked := n.links[node] != nil
	n.mu.Unlock()
	if !linked {
		n.learnMembers(from, "join", []MemberInfo{{Node: node, Status: StatusJoining, GUID: guid}})
	}
}

// dropLogInterval is the least time between two warnings about members
// dropped from what peers announced.
const dropLogInterval = 10 * time.Second

// learnMembers merges what a peer announced (what: "member table", "join")
// within the member cap and the learning budget, schedules a dial of every
// member learned, and warns (at most once per dropLogInterval, with the
// totals) about the members dropped.
func (n *Node) learnMembers(from, what string, entries []MemberInfo) {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return
	}
	now := time.Now()
	changes, drops := n.table.mergeLimited(entries, now, n.learnBudget.available(now))
	learned := 0
	for _, ch := range changes {
		if ch.Kind == ChangeLearned {
			learned++
			n.redial[ch.Node] = &redialState{next: now}
		}
	}
	n.learnBudget.spend(now, learned)
	dropped, warn := n.dropLog.Note(now, drops.Total())
	n.mu.Unlock()
	if learned > 0 {
		n.log.Debug("learned members from a peer", "from", from, "via", what, "count", learned)
		n.wake()
	}
	if warn {
		n.log.Warn("dropped members announced by peers: member table full or learning too fast",
			"dropped", dropped, "since", dropLogInterval, "last_from", from, "via", what,
			"max_members", n.cfg.MaxMembers, "learn_rate", n.cfg.LearnRate, "learn_burst", n.cfg.LearnBurst)
	}
}

// AddService advertises that this node runs service (such as "autoheal",
// which autoheal adds when attached): every member shows it in
// MemberInfo.Services of this node, and members that link later are told
// too. A name is 1 to MaxServiceLen bytes of A-Z a-z 0-9 _ . -; a node
// advertises at most MaxServices. Adding a service already advertised does
// nothing.
func (n *Node) AddService(service string) error {
	if err := checkServiceName(service); err != nil {
		return fmt.Errorf("mesh: AddService: %w", err)
	}
	return n.changeServices(func(cur []string) ([]string, error) {
		if slices.Contains(cur, service) {
			return cur, nil
		}
		if len(cur) >= MaxServices {
			return nil, fmt.Errorf("mesh: AddService(%q): this node already advertises %d services, the most it may", service, MaxServices)
		}
		out := append(slices.Clone(cur), service)
		slices.Sort(out)
		return out, nil
	})
}

// RemoveService stops advertising service; removing one not advertised
// does nothing.
func (n *Node) RemoveService(service string) error {
	return n.changeServices(func(cur []string) ([]string, error) {
		return slices.DeleteFunc(slices.Clone(cur), func(s string) bool { return s == service }), nil
	})
}

// changeServices applies f to this node's services and announces the new
// set to every member when it changed.
func (n *Node) changeServices(f func([]string) ([]string, error)) error {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	next, err := f(n.services)
	if err != nil || slices.Equal(next, n.services) {
		n.mu.Unlock()
		return err
	}
	n.services = next
	n.announced = true
	n.table.setServices(n.cfg.Name, n.guid, next)
	links := n.memberLinksLocked()
	for lk := range n.retired {
		links = append(links, lk)
	}
	body := n.servicesMessageLocked()
	n.mu.Unlock()
	tellAll(n.ctx, links, wire.TypeMemberServices, body)
	return nil
}

// servicesMessageLocked is the body announcing this node's services.
func (n *Node) servicesMessageLocked() []byte {
	m := wire.MemberServices{Node: []byte(n.cfg.Name), GUID: n.guid, Services: make([][]byte, len(n.services))}
	for i, s := range n.services {
		m.Services[i] = []byte(s)
	}
	return m.Append(nil)
}

// announceServicesTo tells a newly adopted link this node's version, when
// it has one, and its services, once it has advertised any. The version
// travels on a message of its own (MemberVersion, optional) so that a node
// that predates it skips it.
func (n *Node) announceServicesTo(lk *link) {
	if n.cfg.Version != "" {
		v := wire.MemberVersion{Node: []byte(n.cfg.Name), GUID: n.guid, Version: []byte(n.cfg.Version)}
		lk.c.Send(lk.ctx, wire.TypeMemberVersion, 0, v.Append(nil), nil)
	}
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	if !n.announced {
		n.mu.Unlock()
		return
	}
	body := n.servicesMessageLocked()
	n.mu.Unlock()
	lk.c.Send(lk.ctx, wire.TypeMemberServices, 0, body, nil)
}

// memberServices records the services a member announced over its own link.
func (n *Node) memberServices(lk *link, m *wire.MemberServices) {
	services, err := parseServices(m.Services)
	if err != nil {
		n.log.Debug("ignored a bad service list from a member", "peer", lk.peer, "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.table.setServices(lk.peer, lk.guid, services)
}

// memberVersion records the version a member announced over its own link.
func (n *Node) memberVersion(lk *link, m *wire.MemberVersion) {
	version := string(m.Version)
	if err := checkVersion(version); err != nil {
		n.log.Debug("ignored a bad version from a member", "peer", lk.peer, "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.table.setVersion(lk.peer, lk.guid, version)
}
