package autoheal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Defaults of Config.
const (
	DefaultDelay       = 15 * time.Second // cluster.autoheal = on
	DefaultHealTimeout = time.Minute
	DefaultCallTimeout = 5 * time.Second
)

// healPoll is how often a coordinator asks a victim how its heal goes.
const healPoll = 50 * time.Millisecond

// Hooks let the application drop and reload its replicated state around a
// heal. Both run on the victim, with the reason for people, and must return
// when ctx ends (Config.HealTimeout, or Close). A nil hook does nothing.
// mesh.Hooks gives the order of all six lifecycle hooks: the node's Start,
// Join, Leave and Stop, and these two.
type Hooks struct {
	// Prepare runs before the node drops its links and member table. An
	// error (or a panic) stops the heal: the node keeps its links, and the
	// leader retries later.
	Prepare func(ctx context.Context, reason string) error
	// Reboot runs once the node has rejoined the coordinator's cluster and
	// every member has cleared its partition with it. An error is logged
	// and reported to the coordinator; the node has rejoined all the same.
	// It also runs when the rejoin failed, since the node serves again
	// where it is: every Prepare is followed by one Reboot unless the node
	// stops, and the reason then says the rejoin failed and why.
	Reboot func(ctx context.Context, reason string) error
}

// Config configures autoheal on one node. The zero value uses the defaults.
type Config struct {
	// Delay is how long partition reports must have stopped before the
	// leader gathers the views and heals (default DefaultDelay). It is also
	// how long the leader waits before it retries.
	Delay time.Duration
	// Hooks are the application's prepare and reboot hooks.
	Hooks Hooks
	// Logger receives autoheal's log (default: discard).
	Logger *slog.Logger
	// HealTimeout bounds one victim's heal: hooks, rejoin and clearing
	// (default DefaultHealTimeout).
	HealTimeout time.Duration
	// CallTimeout bounds each call autoheal makes to another node (default
	// DefaultCallTimeout).
	CallTimeout time.Duration
}

// Autoheal heals the partitions of the cluster a node belongs to, after
// ekka's autoheal. Attach it to every node of the cluster.
//
// Every node reports the partitions it records to the leader (Leader: the
// oldest running member that runs autoheal, which each node advertises as
// the service "autoheal" while attached) as they occur, and again every Delay while it
// still records some. Once reports have stopped for Delay, the leader asks
// every running member for its View and Decides. To heal, it hands the plan
// to the coordinator, which heals the victims one at a time: each victim
// announces healing, runs the Prepare hook, rejoins the coordinator's
// cluster (mesh.Node.Rejoin, which has every member clear its partition with
// the victim: partition-healed events), runs the Reboot hook and announces
// up. A heal that fails or is interrupted leaves partitions recorded; the
// reports go on and the leader tries again, one heal at a time.
type Autoheal struct {
	node *mesh.Node
	cfg  Config
	log  *slog.Logger
	tick time.Duration

	ctx       context.Context // ends with Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	sub       *mesh.Subscription
	reportNow chan struct{} // a partition occurred: report it fresh
	wake      chan struct{} // a report came in, or the members changed

	mu     sync.Mutex
	closed bool
	// The leader's state.
	pending   bool      // a report came in since the last decision
	lastFresh time.Time // the last report of a new partition
	nextTry   time.Time // no decision before
	rounds    uint64
	// The coordinator's state.
	coordinating bool
	// The victim's state: the current or last heal of this node.
	heal *victimHeal

	stats healStats // what Status and Stats report (stats.go)
}

type victimHeal struct {
	round string
	state wire.HealState // running, done or failed
	err   string
}

// Attach starts autoheal on node: it serves the wire's partition and
// autoheal messages for the service Service (mesh.Node.HandleMessage),
// subscribes to the node's events and runs until Close. A node runs one
// autoheal at most: Attach on a node where one runs fails with an error
// that wraps mesh.ErrHandlerExists. Attach every node of the cluster with
// the same Delay.
func Attach(node *mesh.Node, cfg Config) (*Autoheal, error) {
	if node == nil {
		return nil, errors.New("autoheal: Attach: node is nil, want a started *mesh.Node")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"Delay", &cfg.Delay, DefaultDelay}, {"HealTimeout", &cfg.HealTimeout, DefaultHealTimeout}, {"CallTimeout", &cfg.CallTimeout, DefaultCallTimeout}} {
		switch {
		case *d.v < 0:
			return nil, fmt.Errorf("autoheal: Attach: %s is %v, want a positive duration (0 means the default, %v)", d.name, *d.v, d.def)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Autoheal{
		node:      node,
		cfg:       cfg,
		log:       cfg.Logger.With("node", node.Name()),
		tick:      min(max(cfg.Delay/10, 10*time.Millisecond), 500*time.Millisecond),
		reportNow: make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
	}
	handlers := map[wire.Type]mesh.MessageHandler{
		wire.TypePartitionReport: a.serveReport,
		wire.TypeViewRequest:     a.serveView,
		wire.TypeHealOrder:       a.serveOrder,
	}
	for i, t := range served {
		if err := node.HandleMessage(t, Service, handlers[t]); err != nil {
			unhandle(node, served[:i]) // only what this Attach registered
			if errors.Is(err, mesh.ErrHandlerExists) {
				return nil, fmt.Errorf("autoheal: Attach: autoheal already runs on node %s; Close it first: %w", node.Name(), mesh.ErrHandlerExists)
			}
			return nil, fmt.Errorf("autoheal: Attach: %w", err)
		}
	}
	if err := node.AddService(Service); err != nil {
		unhandle(node, served)
		return nil, fmt.Errorf("autoheal: Attach: advertising the %q service: %w", Service, err)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.sub = node.Subscribe()
	a.wg.Add(2)
	go a.watchEvents()
	go a.run()
	a.log.Info("autoheal attached", "delay", cfg.Delay)
	return a, nil
}

// Close stops autoheal on its node: its messages are unregistered, a heal in
// progress is cancelled (its hooks see their context end), and every
// goroutine has returned when Close does. Close is idempotent.
func (a *Autoheal) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	a.mu.Unlock()
	_ = a.node.RemoveService(Service) // fails only when the node stopped: then no one needs telling
	unhandle(a.node, served)
	a.cancel()
	a.sub.Close()
	a.wg.Wait()
}

// unhandle removes autoheal's registrations for the message types ts.
func unhandle(node *mesh.Node, ts []wire.Type) {
	for _, t := range ts {
		_ = node.HandleMessage(t, Service, nil) // valid types and name: removing cannot fail
	}
}

// watchEvents turns partition-occurred events into reports, and wakes run
// on every other membership event: a member going down or coming back may
// change the leader, which a pending decision must notice.
func (a *Autoheal) watchEvents() {
	defer a.wg.Done()
	for ev := range a.sub.C() {
		ch := a.wake
		if ev.Kind == mesh.EventPartitionOccurred {
			ch = a.reportNow
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// run reports, reminds and, on the leader, decides. Between two passes it
// sleeps until the earliest thing it waits for (schedule) or an event, so an
// idle node, with no partition recorded and no decision pending, does no
// work at all.
func (a *Autoheal) run() {
	defer a.wg.Done()
	// The first pass runs at once: it reminds the leader of partitions
	// recorded before Attach.
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastReminder time.Time
	freshUnsent := false
	mayRecord := true // partitions may be recorded: remind every Delay
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.reportNow:
			freshUnsent, mayRecord = true, true
		case <-a.wake:
		case <-timer.C:
		}
		now := time.Now()
		if freshUnsent {
			freshUnsent = !a.report(true)
			lastReminder = now
		} else if mayRecord && now.Sub(lastReminder) >= a.cfg.Delay {
			lastReminder = now
			mayRecord = a.remind()
		}
		a.maybeDecide(now)

		var s schedule
		if freshUnsent {
			s.retryFresh = now.Add(a.tick)
		}
		if mayRecord {
			s.remind = lastReminder.Add(a.cfg.Delay)
		}
		a.mu.Lock()
		s.decide = decisionAt(a.pending, a.lastFresh, a.nextTry, a.cfg.Delay)
		a.mu.Unlock()
		if at, ok := s.next(); ok {
			timer.Reset(time.Until(at))
		} else {
			timer.Stop()
		}
	}
}

// report tells the leader what partitions this node records, with the
// fresh mark when one just occurred. It reports whether the leader got it.
func (a *Autoheal) report(fresh bool) bool {
	return a.send(a.node.Info(), fresh)
}

// remind reminds the leader of the partitions this node still records, if
// any; it reports whether there were some.
func (a *Autoheal) remind() (recorded bool) {
	info := a.node.Info()
	if len(info.Partitions) == 0 {
		return false
	}
	a.send(info, false)
	return true
}

func (a *Autoheal) send(info mesh.Info, fresh bool) bool {
	r := report{Node: a.node.Name(), Partitions: info.Partitions, Fresh: fresh}
	leader := Leader(info.Members)
	if leader == "" {
		// No running member runs autoheal, not even this node: Close
		// withdrew its advertisement while this pass ran.
		return false
	}
	if leader == a.node.Name() {
		a.onReport(r)
		return true
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
	defer cancel()
	t, body, err := a.node.Request(ctx, leader, wire.TypePartitionReport, r.encode())
	if err == nil {
		err = decodeAnswer(leader, wire.TypePartitionReport, t, body, new(wire.PartitionAck))
	}
	if err != nil {
		a.log.Debug("autoheal: could not report partitions to the leader; will retry", "leader", leader, "err", err)
		return false
	}
	return true
}

func (a *Autoheal) serveReport(_ context.Context, from string, _ wire.Type, body []byte) (wire.Type, []byte, error) {
	r, err := decodeReport(body)
	if err != nil {
		return 0, nil, fmt.Errorf("autoheal: report from %s: %w", from, err)
	}
	a.onReport(r)
	return wire.TypePartitionAck, (&wire.PartitionAck{Node: []byte(a.node.Name())}).Append(nil), nil
}

func (a *Autoheal) onReport(r report) {
	a.mu.Lock()
	a.pending = true
	if r.Fresh {
		a.lastFresh = time.Now()
	}
	a.mu.Unlock()
	a.log.Debug("autoheal: partition report", "from", r.Node, "partitions", r.Partitions, "fresh", r.Fresh)
	// run schedules the decision.
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// maybeDecide runs a decision on the leader once reports have stopped for
// the delay. With no report pending it returns at once, without building
// the node's Info.
func (a *Autoheal) maybeDecide(now time.Time) {
	a.mu.Lock()
	pending := a.pending
	a.mu.Unlock()
	if !pending {
		return
	}
	info := a.node.Info()
	if Leader(info.Members) != a.node.Name() {
		a.mu.Lock()
		a.pending = false
		a.mu.Unlock()
		return
	}
	a.mu.Lock()
	at := decisionAt(a.pending, a.lastFresh, a.nextTry, a.cfg.Delay)
	due := !at.IsZero() && !now.Before(at)
	if due {
		a.pending = false
		a.rounds++
	}
	rounds := a.rounds
	a.mu.Unlock()
	if !due {
		return
	}
	round := fmt.Sprintf("%s#%d", a.node.Name(), rounds)
	// Members that run no autoheal have no view to give and cannot heal:
	// plan without them.
	bystanders := Bystanders(info.Members)
	running := slices.DeleteFunc(slices.Clone(info.RunningNodes), func(s string) bool { return slices.Contains(bystanders, s) })
	plan := Decide(WithoutBystanders(a.gather(round, running), bystanders))
	retry := func() {
		a.mu.Lock()
		a.pending = true
		a.nextTry = time.Now().Add(a.cfg.Delay)
		a.mu.Unlock()
	}
	switch plan.Action {
	case ActionNone:
		a.log.Debug("autoheal: nothing to heal", "round", round, "reason", plan.Reason)
		a.stats.ended(round, roleLeader, "nothing to heal: "+plan.Reason, nil)
	case ActionWait:
		a.log.Info("autoheal: cannot heal now; retrying later", "round", round, "reason", plan.Reason, "retry_in", a.cfg.Delay)
		a.stats.ended(round, roleLeader, "waiting: "+plan.Reason, nil)
		retry()
	case ActionHeal:
		a.log.Warn("autoheal: healing a partition", "round", round, "sides", fmt.Sprint(plan.Sides), "coordinator", plan.Coordinator, "victims", plan.Victims)
		req := order{Round: round, Leader: a.node.Name(), Coordinator: plan.Coordinator, Victims: plan.Victims, Reason: plan.Reason}
		if err := a.dispatch(req); err != nil {
			a.log.Warn("autoheal: the coordinator did not take the heal; retrying later", "round", round, "coordinator", plan.Coordinator, "err", err, "retry_in", a.cfg.Delay)
			a.stats.ended(round, roleLeader, "", fmt.Errorf("the coordinator %s did not take the heal: %w", plan.Coordinator, err))
			retry()
			return
		}
		a.stats.ended(round, roleLeader, "heal handed to "+plan.Coordinator, nil)
		// Give the heal time before the next decision; a failed heal
		// leaves partitions recorded, whose reminders bring the leader back.
		a.mu.Lock()
		a.nextTry = time.Now().Add(a.cfg.Delay)
		a.mu.Unlock()
	}
}

// gather returns the views of nodes in round: this node's own and those
// the others answered with, asked all at once. A node that did not answer
// has no view (Decide then waits).
func (a *Autoheal) gather(round string, nodes []string) []View {
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
	defer cancel()
	others := slices.DeleteFunc(slices.Clone(nodes), func(s string) bool { return s == a.node.Name() })
	views := []View{a.localView()}
	if len(others) == 0 {
		return views
	}
	for _, ans := range a.node.RequestAll(ctx, others, wire.TypeViewRequest, viewRequest(round)) {
		if ans.Err != nil {
			a.log.Info("autoheal: no view from a member", "member", ans.Node, "err", ans.Err)
			continue
		}
		v, err := a.decodeView(ans.Node, ans.Type, ans.Body)
		if err != nil {
			a.log.Warn("autoheal: bad view from a member", "member", ans.Node, "err", err)
			continue
		}
		views = append(views, v.View)
	}
	return views
}

// decodeView decodes node's answer to a ViewRequest, which must be its own
// view.
func (a *Autoheal) decodeView(node string, t wire.Type, body []byte) (viewAnswer, error) {
	var m wire.ViewReply
	if err := decodeAnswer(node, wire.TypeViewRequest, t, body, &m); err != nil {
		return viewAnswer{}, err
	}
	v, _ := decodeViewAnswer(body) // m decoded: so does v
	if v.Node != node {
		return viewAnswer{}, fmt.Errorf("autoheal: %s answered with the view of %s", node, v.Node)
	}
	return v, nil
}

func (a *Autoheal) localView() View {
	info := a.node.Info()
	return View{
		Node: a.node.Name(), GUID: a.node.GUID(),
		Running: info.RunningNodes, Stopped: info.StoppedNodes, Partitions: info.Partitions,
		Healing: a.busy(),
	}
}

func (a *Autoheal) busy() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.coordinating || (a.heal != nil && a.heal.state == wire.HealRunning)
}

// serveView answers a ViewRequest: this node's view, and how its heal of
// the round asked about goes (a coordinator polls its victims so).
func (a *Autoheal) serveView(_ context.Context, from string, _ wire.Type, body []byte) (wire.Type, []byte, error) {
	var req wire.ViewRequest
	if err := req.Decode(body); err != nil {
		return 0, nil, fmt.Errorf("autoheal: view request from %s: %w", from, err)
	}
	v := viewAnswer{View: a.localView()}
	a.mu.Lock()
	if a.heal != nil && a.heal.round == string(req.Round) {
		v.Heal, v.HealError = a.heal.state, a.heal.err
	}
	a.mu.Unlock()
	return wire.TypeViewReply, v.encode(), nil
}

// request sends the autoheal request t with body to node, bounded by
// CallTimeout, and decodes its answer into m.
func (a *Autoheal) request(ctx context.Context, node string, t wire.Type, body []byte, m wire.Message) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	defer cancel()
	at, reply, err := a.node.Request(ctx, node, t, body)
	if err != nil {
		return err
	}
	return decodeAnswer(node, t, at, reply, m)
}

// order sends a HealOrder to node and returns its answer.
func (a *Autoheal) order(ctx context.Context, node string, o order) (answer, error) {
	var r wire.HealReply
	if err := a.request(ctx, node, wire.TypeHealOrder, o.encode(), &r); err != nil {
		return answer{}, err
	}
	return answer{Accepted: r.Accepted, Reason: string(r.Reason)}, nil
}

// dispatch hands a plan to its coordinator.
func (a *Autoheal) dispatch(req order) error {
	var ans answer
	if req.Coordinator == a.node.Name() {
		ans = a.startCoordinating(req)
	} else {
		var err error
		if ans, err = a.order(a.ctx, req.Coordinator, req); err != nil {
			return err
		}
	}
	if !ans.Accepted {
		return fmt.Errorf("refused: %s", ans.Reason)
	}
	return nil
}

// serveOrder answers a HealOrder: this node coordinates the heal when the
// order names it coordinator, and heals itself when it names it victim.
func (a *Autoheal) serveOrder(_ context.Context, from string, _ wire.Type, body []byte) (wire.Type, []byte, error) {
	o, err := decodeOrder(body)
	switch {
	case err != nil:
		return 0, nil, fmt.Errorf("autoheal: heal order from %s: %w", from, err)
	case o.Round == "" || o.Coordinator == "":
		return 0, nil, fmt.Errorf("autoheal: heal order from %s: round %q, coordinator %q: want both named", from, o.Round, o.Coordinator)
	}
	var ans answer
	switch self := a.node.Name(); {
	case o.Coordinator == self:
		ans = a.startCoordinating(o)
	case slices.Contains(o.Victims, self):
		ans = a.startHealing(o)
	default:
		ans = answer{Reason: fmt.Sprintf("%s is neither the coordinator (%s) nor a victim (%v) of round %s", self, o.Coordinator, o.Victims, o.Round)}
	}
	return wire.TypeHealReply, ans.encode(), nil
}

func (a *Autoheal) startCoordinating(req order) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return answer{Reason: "autoheal is closing on " + a.node.Name()}
	case a.coordinating:
		return answer{Reason: a.node.Name() + " already coordinates a heal"}
	case a.heal != nil && a.heal.state == wire.HealRunning:
		return answer{Reason: a.node.Name() + " is healing itself (round " + a.heal.round + ")"}
	case slices.Contains(req.Victims, a.node.Name()):
		return answer{Reason: "the coordinator " + a.node.Name() + " is among the victims"}
	}
	a.coordinating = true
	a.wg.Add(1)
	go a.coordinate(req)
	return answer{Accepted: true}
}

// coordinate heals the victims one at a time; it stops at the first that
// fails (the leader retries later).
func (a *Autoheal) coordinate(req order) {
	defer a.wg.Done()
	defer func() {
		a.mu.Lock()
		a.coordinating = false
		a.mu.Unlock()
	}()
	t0 := time.Now()
	a.stats.round(req.Round)
	for _, v := range req.Victims {
		if err := a.healVictim(req, v); err != nil {
			a.log.Warn("autoheal: a victim's heal failed; the rest waits for the next round", "round", req.Round, "victim", v, "err", err)
			a.stats.ended(req.Round, roleCoordinator, "", fmt.Errorf("victim %s: %w", v, err))
			return
		}
		a.log.Info("autoheal: victim healed", "round", req.Round, "victim", v)
	}
	a.log.Warn("autoheal: partition healed", "round", req.Round, "victims", req.Victims, "took", time.Since(t0).Round(time.Millisecond))
	a.stats.ended(req.Round, roleCoordinator, fmt.Sprintf("healed %v into the cluster of %s", req.Victims, a.node.Name()), nil)
}

// healVictim has v heal itself into this node's cluster and waits for the
// outcome.
func (a *Autoheal) healVictim(req order, v string) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.HealTimeout+a.cfg.CallTimeout)
	defer cancel()
	hreq := order{
		Round: req.Round, Leader: req.Leader, Coordinator: a.node.Name(), Victims: []string{v},
		Reason: fmt.Sprintf("autoheal round %s: %s is on a minority side of a partition and rejoins the cluster of %s (%s)", req.Round, v, a.node.Name(), req.Reason),
	}
	ans, err := a.order(ctx, v, hreq)
	switch {
	case err == nil && !ans.Accepted:
		return fmt.Errorf("%s refused to heal: %s", v, ans.Reason)
	case err != nil && !errors.Is(err, mesh.ErrNodeDown):
		return fmt.Errorf("asking %s to heal: %w", v, err)
	}
	// Accepted, or the link went down with the answer: the victim drops its
	// links when it rejoins. Its status says which.
	t := time.NewTicker(healPoll)
	defer t.Stop()
	var lastErr error
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not finish healing within %v (last status error: %v): %w", v, a.cfg.HealTimeout, lastErr, ctx.Err())
		case <-t.C:
		}
		st, err := a.status(ctx, v, req.Round)
		if err != nil {
			lastErr = err
			continue
		}
		switch st.Heal {
		case wire.HealDone:
			return nil
		case wire.HealFailed:
			return fmt.Errorf("%s: %s", v, st.HealError)
		case wire.HealUnknown:
			return fmt.Errorf("%s never started healing for round %s", v, req.Round)
		}
	}
}

// status asks victim v for its view in round, which says how its heal goes.
func (a *Autoheal) status(ctx context.Context, v, round string) (viewAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	defer cancel()
	t, body, err := a.node.Request(ctx, v, wire.TypeViewRequest, viewRequest(round))
	if err != nil {
		return viewAnswer{}, err
	}
	return a.decodeView(v, t, body)
}

// startHealing takes a victim's part of an order: this node heals itself
// into the coordinator's cluster, unless it is busy.
func (a *Autoheal) startHealing(req order) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return answer{Reason: "autoheal is closing on " + a.node.Name()}
	case a.coordinating:
		return answer{Reason: a.node.Name() + " coordinates a heal"}
	case a.heal != nil && a.heal.state == wire.HealRunning:
		return answer{Reason: a.node.Name() + " already heals (round " + a.heal.round + ")"}
	}
	h := &victimHeal{round: req.Round, state: wire.HealRunning}
	a.heal = h
	a.wg.Add(1)
	go a.healSelf(h, req)
	return answer{Accepted: true}
}

// healSelf runs this node's heal as a victim.
func (a *Autoheal) healSelf(h *victimHeal, req order) {
	defer a.wg.Done()
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.HealTimeout)
	defer cancel()
	t0 := time.Now()
	a.stats.round(req.Round)
	err := a.healSteps(ctx, req)
	a.mu.Lock()
	if err != nil {
		h.state, h.err = wire.HealFailed, err.Error()
	} else {
		h.state = wire.HealDone
	}
	a.mu.Unlock()
	a.stats.ended(req.Round, roleVictim, "rejoined the cluster of "+req.Coordinator, err)
	if err != nil {
		a.log.Error("autoheal: this node's heal failed", "round", req.Round, "coordinator", req.Coordinator, "err", err)
		return
	}
	a.log.Warn("autoheal: this node healed: it rejoined the cluster of the coordinator", "round", req.Round, "coordinator", req.Coordinator, "took", time.Since(t0).Round(time.Millisecond))
}

func (a *Autoheal) healSteps(ctx context.Context, req order) error {
	a.log.Warn("autoheal: this node is on a minority side; healing", "round", req.Round, "coordinator", req.Coordinator)
	if err := a.node.SetStatus(mesh.StatusHealing); err != nil {
		return err
	}
	defer a.node.SetStatus(mesh.StatusUp) //nolint:errcheck // only fails when the node stopped
	if err := runHook(ctx, "prepare", a.cfg.Hooks.Prepare, req.Reason); err != nil {
		return err
	}
	// Once Prepare ran, Reboot runs whatever the rejoin's outcome: the node
	// serves again when the heal ends, so the application must reload what
	// it dropped. A failed heal is not always retried with this node as a
	// victim (the next plan may put it on the majority side), so leaving
	// Reboot to a later heal could leave the state dropped for good.
	reason := req.Reason
	rejoinErr := a.node.Rejoin(ctx, req.Coordinator)
	switch {
	case errors.Is(rejoinErr, mesh.ErrStopped):
		return rejoinErr // the node serves no more: nothing to reload
	case rejoinErr != nil:
		reason += "; the rejoin failed (" + rejoinErr.Error() + "), so this node serves where it is until the next heal"
	}
	rctx := ctx
	if ctx.Err() != nil {
		// The heal's time ran out in the rejoin: the hook gets its own.
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(a.ctx, a.cfg.HealTimeout)
		defer cancel()
	}
	return errors.Join(rejoinErr, runHook(rctx, "reboot", a.cfg.Hooks.Reboot, reason))
}

// runHook runs an application hook, turning a panic into an error.
func runHook(ctx context.Context, name string, hook func(context.Context, string) error, reason string) (err error) {
	if hook == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("autoheal: %s hook panicked: %v", name, r)
		}
	}()
	if err := hook(ctx, reason); err != nil {
		return fmt.Errorf("autoheal: %s hook: %w", name, err)
	}
	return nil
}
