package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

// autocluster runs the discovery loop (after ekka_autocluster): lock,
// register, discover, link to every discovered node, unlock; retry every
// AutoclusterInterval until this node is linked to every discovered node
// and registered, or ctx ends (SetAutocluster off, Stop). Linking to one
// member merges member tables, so nodes that start at once end in one
// cluster whatever order they find each other in.
func (n *Node) autocluster(ctx context.Context, ended chan struct{}) {
	defer n.wg.Done()
	defer n.autoclusterEnded(ended)
	lastWhy := ""
	for attempt := 1; ; attempt++ {
		done, why, ok := n.runAutoclusterPass(ctx)
		if !ok {
			return // turned off, or the node stops
		}
		if done {
			n.log.Info("autocluster: done", "passes", attempt, "result", why)
			return
		}
		// The same reason pass after pass (a lone node, a seed that is
		// down for a while) is logged once at info, then at debug.
		level := slog.LevelInfo
		if why == lastWhy {
			level = slog.LevelDebug
		}
		lastWhy = why
		n.log.Log(ctx, level, "autocluster: will retry", "in", n.cfg.AutoclusterInterval, "why", why, "pass", attempt)
		select {
		case <-ctx.Done():
			return
		case <-time.After(n.cfg.AutoclusterInterval):
		}
	}
}

// autoclusterState is what the loop remembers between passes (guarded by
// autoclusterCtl.pass).
type autoclusterState struct {
	registered bool
	lastFound  string // the last discovery result, logged at info only when it changes
}

// autoclusterPass is one pass: lock, register (once), discover, link to
// every discovered node, unlock. Registering before discovering means nodes
// that start together see each other on their first pass: a registry
// (etcd) lists the node, a multicast responder answers.
func (n *Node) autoclusterPass(ctx context.Context, st *autoclusterState) (bool, string) {
	d := n.cfg.Discovery
	ctx, cancel := context.WithTimeout(ctx, max(n.cfg.AutoclusterInterval, 2*n.cfg.HandshakeTimeout))
	defer cancel()
	if err := d.Lock(ctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
		return false, fmt.Sprintf("discovery lock failed: %v", err)
	}
	defer func() {
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		if err := d.Unlock(uctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
			n.log.Warn("autocluster: discovery unlock failed", "err", err)
		}
	}()
	if err := n.register(ctx, &st.registered); err != nil {
		return false, err.Error()
	}
	found, err := d.Discover(ctx)
	if err != nil {
		return false, fmt.Sprintf("discover failed: %v", err)
	}
	n.stats.discovered.Store(int64(len(found)))
	if len(found) == 0 {
		return false, "discovered no nodes"
	}
	if list := strings.Join(found, ","); list != st.lastFound {
		st.lastFound = list
		n.log.Info("autocluster: discovered", "nodes", list)
	}
	var others []string
	for _, node := range found {
		if node != n.cfg.Name && !slices.Contains(others, node) {
			others = append(others, node)
		}
	}
	slices.Sort(others)
	if len(others) == 0 {
		// Only this node: with DNS or Kubernetes the others may not be
		// published yet. Keep looking rather than settle as a cluster of
		// one that the others might never find.
		return false, "only this node was discovered"
	}
	if err := n.joinHookBeforeLinking(ctx, others); err != nil {
		return false, err.Error()
	}
	var failed []string
	for _, node := range others {
		if _, err := n.linkTo(node); err == nil {
			continue
		}
		if err := n.dial(ctx, node); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", node, err))
			continue
		}
		n.log.Info("autocluster: joined", "member", node)
	}
	for _, node := range others {
		if _, err := n.linkTo(node); err != nil && !slices.ContainsFunc(failed, func(f string) bool { return strings.HasPrefix(f, node+" ") }) {
			failed = append(failed, fmt.Sprintf("%s (not linked yet)", node))
		}
	}
	if len(failed) > 0 {
		return false, "discovered nodes did not answer: " + strings.Join(failed, "; ")
	}
	return true, fmt.Sprintf("linked to all %d discovered nodes", len(others))
}

// register registers this node with discovery unless it already did.
func (n *Node) register(ctx context.Context, registered *bool) error {
	if *registered {
		return nil
	}
	if err := n.cfg.Discovery.Register(ctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
		return fmt.Errorf("register failed: %v", err)
	}
	*registered = true
	return nil
}

// joinHookBeforeLinking runs the Join hook (hooks.go) before a pass links
// a node that has no members yet to the nodes it discovered: the node is
// about to join a cluster. A node already linked to a member, or to every
// node discovered, is in its cluster and runs none.
func (n *Node) joinHookBeforeLinking(ctx context.Context, others []string) error {
	n.mu.Lock()
	alone := len(n.linkset.current) == 0
	var unlinked []string
	for _, node := range others {
		if n.linkset.current[node] == nil {
			unlinked = append(unlinked, node)
		}
	}
	n.mu.Unlock()
	if !alone || len(unlinked) == 0 {
		return nil
	}
	return n.runHook(ctx, HookJoin, "autocluster", unlinked...)
}

// ErrNoDiscovery: the node has no discovery strategy (Config.Discovery is
// nil, the manual strategy), so it has no autocluster loop to turn on or
// run.
var ErrNoDiscovery = errors.New("mesh: no discovery strategy configured")

// autoclusterUnavailable says why this node has no autocluster loop to
// control: no strategy (ErrNoDiscovery) or the singleton strategy
// (ErrSingleton), saying what to configure; nil when it has one.
func (n *Node) autoclusterUnavailable() error {
	switch {
	case n.cfg.Discovery == nil:
		return fmt.Errorf("%w on node %s: it joins only when told to (Config.Discovery is nil; the binary's cluster.discovery is manual): configure a strategy such as static, then restart it", ErrNoDiscovery, n.cfg.Name)
	case n.cfg.standalone():
		return fmt.Errorf("%w: %s runs the singleton discovery strategy (cluster.discovery = singleton), which has no autocluster loop", ErrSingleton, n.cfg.Name)
	}
	return nil
}

// autoclusterCtl is the autocluster loop's control at run time (after
// ekka:autocluster/1, enable_autocluster, disable_autocluster).
type autoclusterCtl struct {
	// pass is held (a token sent) by the pass that runs: one at a time,
	// the loop's or Autocluster's; it guards st. A channel rather than a
	// mutex, so that a caller waiting for its turn honours its context.
	pass chan struct{}
	st   autoclusterState

	// Guarded by Node.mu.
	enabled bool               // the loop runs, or ran until done, and is not turned off
	cancel  context.CancelFunc // ends the running loop; nil when none runs
	done    chan struct{}      // closed when the running loop has returned
	last    string             // what the last pass found, for AutoclusterStatus
	lastOK  bool
	passes  uint64
}

// AutoclusterStatus is the state of a node's autocluster loop.
type AutoclusterStatus struct {
	// Configured: the node has a discovery strategy with a loop (not
	// manual, not singleton).
	Configured bool `json:"configured"`
	// Enabled: the loop is on (the default with a strategy) and not
	// turned off with SetAutocluster.
	Enabled bool `json:"enabled"`
	// Running: a loop is running now; an enabled loop ends once this node
	// is linked to every node discovered (SetAutocluster(ctx, true) starts
	// a new one).
	Running bool `json:"running"`
	// Passes counts the passes run since Start (the loop's and
	// Autocluster's); LastResult says what the last one found, and LastOK
	// whether it linked this node to every node discovered.
	Passes     uint64 `json:"passes"`
	LastResult string `json:"last_result,omitempty"`
	LastOK     bool   `json:"last_ok"`
}

// AutoclusterStatus reports the autocluster loop's state.
func (n *Node) AutoclusterStatus() AutoclusterStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	return AutoclusterStatus{
		Configured: n.autoclusterUnavailable() == nil,
		Enabled:    n.ac.enabled,
		Running:    n.ac.cancel != nil,
		Passes:     n.ac.passes,
		LastResult: n.ac.last,
		LastOK:     n.ac.lastOK,
	}
}

// AutoclusterEnabled reports whether the autocluster loop is on: the node
// has a discovery strategy and the loop was not turned off.
func (n *Node) AutoclusterEnabled() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ac.enabled
}

// SetAutocluster turns the autocluster loop on or off on a running node
// (ekka's enable_autocluster with autocluster/1, and disable_autocluster).
// On starts a loop unless one runs: it retries every AutoclusterInterval
// until this node is linked to every node discovered, as at Start. Off
// ends the running loop, interrupting its pass (whose discovery lock is
// released), and waits for it within ctx; the node keeps its links and
// members, and stays registered with discovery. The setting lasts until
// the node stops: a restarted node starts its loop when it has a
// discovery strategy. ErrNoDiscovery when it has none, ErrSingleton for a
// singleton, ErrStopped when the node is stopped.
func (n *Node) SetAutocluster(ctx context.Context, on bool) error {
	if err := n.autoclusterUnavailable(); err != nil {
		return err
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	was := n.ac.enabled
	n.ac.enabled = on
	if on {
		n.startAutoclusterLocked()
		n.mu.Unlock()
		if !was {
			n.log.Info("autocluster: turned on")
		}
		return nil
	}
	cancel, done := n.ac.cancel, n.ac.done
	n.mu.Unlock()
	if was {
		n.log.Info("autocluster: turned off")
	}
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mesh: node %s: autocluster off: the loop's pass did not end in time: %w", n.cfg.Name, ctx.Err())
	}
}

// Autocluster runs one autocluster pass now and waits for it (ekka's
// autocluster/1 on a node whose loop ended): lock, register, discover,
// link to every node discovered, unlock. It returns what the pass found,
// such as "linked to all 2 discovered nodes", and an error when the pass
// did not link this node to every node discovered (the reason: "discovered
// no nodes", "discovered nodes did not answer: ..."), or when ctx ended.
// It runs whether or not the loop is on, after the loop's pass if one
// runs, and does not turn the loop on. ErrNoDiscovery when the node has
// no discovery strategy, ErrSingleton for a singleton.
func (n *Node) Autocluster(ctx context.Context) (string, error) {
	if err := n.autoclusterUnavailable(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.ctx, cancel) // the node stops
	defer stop()
	done, why, ok := n.runAutoclusterPass(ctx)
	switch {
	case !ok && n.ctx.Err() != nil:
		return "", ErrStopped
	case !ok:
		return "", fmt.Errorf("mesh: node %s: autocluster pass: %w", n.cfg.Name, ctx.Err())
	case !done:
		return why, fmt.Errorf("mesh: node %s: autocluster pass: %s", n.cfg.Name, why)
	}
	n.log.Info("autocluster: pass done", "result", why)
	return why, nil
}

// runAutoclusterPass runs one pass once no other runs, and records it:
// ok is false when ctx ended before or during it (nothing recorded).
func (n *Node) runAutoclusterPass(ctx context.Context) (done bool, why string, ok bool) {
	select {
	case n.ac.pass <- struct{}{}:
	case <-ctx.Done():
		return false, "", false
	}
	defer func() { <-n.ac.pass }()
	if ctx.Err() != nil {
		return false, "", false
	}
	done, why = n.autoclusterPass(ctx, &n.ac.st)
	if ctx.Err() != nil && !done {
		return false, why, false
	}
	n.stats.discoveryPass(done, why)
	n.mu.Lock()
	n.ac.passes++
	n.ac.last, n.ac.lastOK = why, done
	n.mu.Unlock()
	return done, why, true
}

// startAutoclusterLocked starts the loop unless one runs or the node is
// stopped. n.mu is held.
func (n *Node) startAutoclusterLocked() {
	if n.ac.cancel != nil || n.stopped || n.cfg.standalone() { // a singleton never clusters
		return
	}
	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan struct{})
	n.ac.cancel, n.ac.done = cancel, done
	n.wg.Add(1)
	go n.autocluster(ctx, done)
}

// autoclusterEnded records that the loop that closes done has returned.
func (n *Node) autoclusterEnded(done chan struct{}) {
	n.mu.Lock()
	if n.ac.done == done {
		n.ac.cancel()
		n.ac.cancel, n.ac.done = nil, nil
	}
	n.mu.Unlock()
	close(done)
}

// MethodAutocluster is the built-in method behind ekka-mesh ctl
// autocluster: {"action": "on" | "off" | "now" | "status"} (empty:
// status) -> AutoclusterStatus as JSON, with "pass" {"ok","result"} for
// now. On, off and now are logged as admin actions.
const MethodAutocluster = reservedPrefix + "autocluster"

// AutoclusterRequest is MethodAutocluster's request.
type AutoclusterRequest struct {
	Action string `json:"action,omitempty"`
}

// AutoclusterReply is MethodAutocluster's reply: the loop's state after
// the action and, for now, the pass it ran.
type AutoclusterReply struct {
	AutoclusterStatus
	Pass *AutoclusterPass `json:"pass,omitempty"`
}

// AutoclusterPass is the outcome of the pass an "autocluster now" ran:
// OK when it linked this node to every node discovered; Result says what
// it found.
type AutoclusterPass struct {
	OK     bool   `json:"ok"`
	Result string `json:"result"`
}

func (n *Node) registerAutoclusterBuiltin() {
	n.handlers.set(MethodAutocluster, func(ctx context.Context, from string, p []byte) ([]byte, error) {
		var req AutoclusterRequest
		if len(p) > 0 {
			if err := json.Unmarshal(p, &req); err != nil {
				return nil, fmt.Errorf("bad request: %v (want a JSON object with \"action\")", err)
			}
		}
		var rep AutoclusterReply
		var err error
		args := []any{"op", req.Action}
		switch req.Action {
		case "", "status":
			rep.AutoclusterStatus = n.AutoclusterStatus()
			return json.Marshal(rep)
		case "on", "off":
			err = n.SetAutocluster(ctx, req.Action == "on")
		case "now":
			// A pass that ran answers with what it found, even when it
			// did not link every node; the error is for one that did not.
			why, perr := n.Autocluster(ctx)
			if why == "" {
				err = perr
			} else {
				rep.Pass = &AutoclusterPass{OK: perr == nil, Result: why}
				args = append(args, "result", why)
				if perr != nil {
					args = append(args, "err", perr)
				}
			}
		default:
			return nil, fmt.Errorf("bad request: \"action\" %q, want on, off, now or status", req.Action)
		}
		out := outcome(err)
		if rep.Pass != nil && !rep.Pass.OK {
			out = "failed"
		}
		LogAdminAction(ctx, n.log, from, "autocluster", out, append(args, "err", err)...)
		if err != nil {
			return nil, err
		}
		rep.AutoclusterStatus = n.AutoclusterStatus()
		return json.Marshal(rep)
	})
}
