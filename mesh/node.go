package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/discovery"
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
	linkset  *linkSet[*link] // every link, and link admission (linkset.go)
	dialing  map[string]bool
	redial   map[string]*redialState
	stopped  bool
	stopping bool // Stop was called: it runs the Stop hook, then sets stopped
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
	// tags are this node's tags (Config.Tags, SetTags), nil when none;
	// replaced, never changed in place. tagsTold is set once it had any,
	// so that every new link hears the set from then on, an empty one
	// included (a member may still hold the old set). Guarded by mu.
	tags     map[string]string
	tagsTold bool

	stats nodeStats // counters for Stats and the metrics (stats.go)
	// suspended is why the node stopped serving calls (suspend.go); nil
	// while it serves. Read on every call without the lock.
	suspended atomic.Pointer[string]
	// suspendTold is set once the node was ever suspended: from then on
	// every new link hears whether it is (announceSuspendedTo). Under mu.
	suspendTold bool

	ac autoclusterCtl // the autocluster loop, on and off at run time (autocluster.go)
}

type redialState struct {
	attempt int
	next    time.Time
}

// Start starts a node: it validates cfg, listens on the node's port, and
// begins its maintenance loop (heartbeats, failure detection, redials,
// autoclean), runs the Start hook (Config.Hooks) and, with a Discovery,
// begins the autocluster loop. When the Start hook fails the node is
// stopped again and Start returns the hook's *HookError.
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
		linkset:  newLinkSet(cfg.Name, linkFactsOf),
		dialing:  make(map[string]bool),
		redial:   make(map[string]*redialState),
		joinWait: make(map[string][]chan struct{}),
		kick:     make(chan struct{}, 1),
		ac:       autoclusterCtl{pass: make(chan struct{}, 1)},
		tags:     cloneTags(cfg.Tags),
		tagsTold: len(cfg.Tags) > 0,
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
	kr, err := conn.NewKeyring(ctx, cfg.Cluster, cfg.Cookie, cfg.CookiePrevious...) // derives the keys
	if err != nil {
		return nil, fmt.Errorf("mesh: node %s: %w", cfg.Name, err)
	}
	cc.Keyring = kr
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
	cc.RefuseMembers = cfg.refuseMembers() // a singleton accepts no members (singleton.go)
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
	if err := n.runHook(ctx, HookStart, "Start"); err != nil {
		// The caller never gets the node: stop it here, without the Stop
		// hook, within a bound of its own (ctx may be what failed).
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopAfterFailedStart)
		defer cancel()
		n.mu.Lock()
		n.stopping = true
		n.mu.Unlock()
		return nil, errors.Join(err, n.shutdown(sctx))
	}
	if n.autoclusterUnavailable() == nil {
		n.mu.Lock()
		n.ac.enabled = true
		n.startAutoclusterLocked()
		n.mu.Unlock()
	}
	n.log.Info("node started", "addr", ln.Addr().String(), "guid", guid.String(), "cluster", cfg.Cluster)
	return n, nil
}

// stopAfterFailedStart bounds stopping a node whose Start hook failed.
const stopAfterFailedStart = 10 * time.Second

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// GUID identifies this incarnation of the node.
func (n *Node) GUID() GUID { return n.guid }

// Cluster is the cluster name.
func (n *Node) Cluster() string { return n.cfg.Cluster }

// Addr is the address the node listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Stop stops the node: it runs the Stop hook (Config.Hooks), unregisters
// from discovery, says goodbye to every peer, closes every link, cancels
// running handlers and waits (bounded by ctx) until every goroutine of the
// node has returned. Peers see the node down. A Stop hook's error does not
// keep the node from stopping: it is returned, joined with any error of
// the stop itself. Stop is idempotent: a second call returns nil at once.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	if n.stopping {
		n.mu.Unlock()
		return nil
	}
	n.stopping = true
	n.mu.Unlock()
	hookErr := n.runHook(ctx, HookStop, "Stop")
	return errors.Join(hookErr, n.shutdown(ctx))
}

// shutdown is Stop after the Stop hook.
func (n *Node) shutdown(ctx context.Context) error {
	n.mu.Lock()
	n.stopped = true
	links := n.linkset.all()
	n.mu.Unlock()

	if n.cfg.Discovery != nil {
		uctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := n.cfg.Discovery.Unregister(uctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
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

// Subscribe returns a subscription to the node's events from now on, in
// order. A slow subscriber only grows its own queue; Close it when done.
// Events before the subscription are not replayed (as with Erlang's
// monitor_nodes): read Info after subscribing for the state so far.
func (n *Node) Subscribe() *Subscription { return n.events.subscribe() }

// Info returns the node's view of the cluster.
func (n *Node) Info() Info {
	n.mu.Lock()
	defer n.mu.Unlock()
	info := buildInfo(n.cfg.Name, n.cfg.Cluster, n.table)
	info.Suspended, _ = n.Suspended()
	return info
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
