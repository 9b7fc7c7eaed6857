package autoheal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Defaults of Config.
const (
	DefaultDelay       = 15 * time.Second // cluster.autoheal = on
	DefaultHealTimeout = time.Minute
	DefaultCallTimeout = 5 * time.Second
)

// MethodPrefix starts the name of every method autoheal serves on a node;
// an application must not use it for its own methods.
const MethodPrefix = "autoheal."

const (
	methodReport     = MethodPrefix + "report"      // report -> {}
	methodView       = MethodPrefix + "view"        // {} -> View
	methodCoordinate = MethodPrefix + "coordinate"  // coordinateRequest -> answer
	methodHeal       = MethodPrefix + "heal"        // healRequest -> answer
	methodHealStatus = MethodPrefix + "heal_status" // healStatusRequest -> healStatus
)

var methods = []string{methodReport, methodView, methodCoordinate, methodHeal, methodHealStatus}

// healPoll is how often a coordinator asks a victim how its heal goes.
const healPoll = 50 * time.Millisecond

// Hooks let the application drop and reload its replicated state around a
// heal. Both run on the victim, with the reason for people, and must return
// when ctx ends (Config.HealTimeout, or Close). A nil hook does nothing.
type Hooks struct {
	// Prepare runs before the node drops its links and member table. An
	// error (or a panic) stops the heal: the node keeps its links, and the
	// leader retries later.
	Prepare func(ctx context.Context, reason string) error
	// Reboot runs once the node has rejoined the coordinator's cluster and
	// every member has cleared its partition with it. An error is logged
	// and reported to the coordinator; the node has rejoined all the same.
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
	state string // healRunning, healDone, healFailed
	err   string
}

const (
	healRunning = "running"
	healDone    = "done"
	healFailed  = "failed"
	healUnknown = "unknown"
)

// The messages, as JSON.
type (
	report struct {
		Node       string   `json:"node"`
		Partitions []string `json:"partitions"`
		// Fresh is set when a partition just occurred; a reminder of
		// partitions still recorded is not fresh and does not hold the
		// leader back.
		Fresh bool `json:"fresh"`
	}
	coordinateRequest struct {
		Round   string   `json:"round"`
		Leader  string   `json:"leader"`
		Victims []string `json:"victims"`
		Reason  string   `json:"reason"`
	}
	healRequest struct {
		Round       string `json:"round"`
		Coordinator string `json:"coordinator"`
		Reason      string `json:"reason"`
	}
	answer struct {
		Accepted bool   `json:"accepted"`
		Reason   string `json:"reason,omitempty"`
	}
	healStatusRequest struct {
		Round string `json:"round"`
	}
	healStatus struct {
		State string `json:"state"`
		Err   string `json:"err,omitempty"`
	}
)

// attached holds the nodes autoheal runs on, so a node gets one at most.
var attached sync.Map // *mesh.Node -> *Autoheal

// Attach starts autoheal on node: it serves the "autoheal." methods,
// subscribes to the node's events and runs until Close. Attach every node of
// the cluster with the same Delay.
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
	if _, dup := attached.LoadOrStore(node, a); dup {
		return nil, fmt.Errorf("autoheal: Attach: autoheal already runs on node %s; Close it first", node.Name())
	}
	handlers := map[string]mesh.Handler{
		methodReport:     a.serveReport,
		methodView:       a.serveView,
		methodCoordinate: a.serveCoordinate,
		methodHeal:       a.serveHeal,
		methodHealStatus: a.serveHealStatus,
	}
	for _, m := range methods {
		if err := node.Handle(m, handlers[m]); err != nil {
			a.unhandle()
			attached.Delete(node)
			return nil, fmt.Errorf("autoheal: Attach: %w", err)
		}
	}
	if err := node.AddService(Service); err != nil {
		a.unhandle()
		attached.Delete(node)
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

// Close stops autoheal on its node: the methods are unregistered, a heal in
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
	a.unhandle()
	a.cancel()
	a.sub.Close()
	a.wg.Wait()
	attached.Delete(a.node)
}

func (a *Autoheal) unhandle() {
	for _, m := range methods {
		_ = a.node.Handle(m, nil) // the names are valid: Handle cannot fail
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
	body, _ := json.Marshal(r)
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
	defer cancel()
	if _, err := a.node.Call(ctx, leader, methodReport, body); err != nil {
		a.log.Debug("autoheal: could not report partitions to the leader; will retry", "leader", leader, "err", err)
		return false
	}
	return true
}

func (a *Autoheal) serveReport(_ context.Context, from string, p []byte) ([]byte, error) {
	var r report
	if err := json.Unmarshal(p, &r); err != nil {
		return nil, fmt.Errorf("autoheal: report from %s: %v (want a JSON object with node, partitions and fresh)", from, err)
	}
	a.onReport(r)
	return []byte("{}"), nil
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
	plan := Decide(WithoutBystanders(a.gather(running), bystanders))
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
		req := coordinateRequest{Round: round, Leader: a.node.Name(), Victims: plan.Victims, Reason: plan.Reason}
		if err := a.dispatch(plan.Coordinator, req); err != nil {
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

// gather returns the views of nodes: this node's own and those the others
// answered with. A node that did not answer has no view (Decide then waits).
func (a *Autoheal) gather(nodes []string) []View {
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
	defer cancel()
	others := slices.DeleteFunc(slices.Clone(nodes), func(s string) bool { return s == a.node.Name() })
	views := []View{a.localView()}
	if len(others) == 0 {
		return views
	}
	res := a.node.Multicall(ctx, others, methodView, nil)
	for _, node := range others {
		if err, failed := res.Errors[node]; failed {
			a.log.Info("autoheal: no view from a member", "member", node, "err", err)
			continue
		}
		var v View
		if err := json.Unmarshal(res.Replies[node], &v); err != nil || v.Node != node {
			a.log.Warn("autoheal: bad view from a member", "member", node, "err", err, "view_of", v.Node)
			continue
		}
		views = append(views, v)
	}
	return views
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
	return a.coordinating || (a.heal != nil && a.heal.state == healRunning)
}

func (a *Autoheal) serveView(context.Context, string, []byte) ([]byte, error) {
	return json.Marshal(a.localView())
}

// call calls method on node with req as JSON, bounded by CallTimeout, and
// decodes the reply into out.
func (a *Autoheal) call(ctx context.Context, node, method string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	defer cancel()
	reply, err := a.node.Call(ctx, node, method, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return fmt.Errorf("autoheal: %s answered %s with %q: %v", node, method, reply, err)
	}
	return nil
}

// dispatch hands a plan to its coordinator.
func (a *Autoheal) dispatch(coordinator string, req coordinateRequest) error {
	var ans answer
	if coordinator == a.node.Name() {
		ans = a.startCoordinating(req)
	} else if err := a.call(a.ctx, coordinator, methodCoordinate, req, &ans); err != nil {
		return err
	}
	if !ans.Accepted {
		return fmt.Errorf("refused: %s", ans.Reason)
	}
	return nil
}

func (a *Autoheal) serveCoordinate(_ context.Context, from string, p []byte) ([]byte, error) {
	var req coordinateRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("autoheal: coordinate request from %s: %v (want a JSON object with round, leader and victims)", from, err)
	}
	return json.Marshal(a.startCoordinating(req))
}

func (a *Autoheal) startCoordinating(req coordinateRequest) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return answer{Reason: "autoheal is closing on " + a.node.Name()}
	case a.coordinating:
		return answer{Reason: a.node.Name() + " already coordinates a heal"}
	case a.heal != nil && a.heal.state == healRunning:
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
func (a *Autoheal) coordinate(req coordinateRequest) {
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
func (a *Autoheal) healVictim(req coordinateRequest, v string) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.HealTimeout+a.cfg.CallTimeout)
	defer cancel()
	hreq := healRequest{
		Round: req.Round, Coordinator: a.node.Name(),
		Reason: fmt.Sprintf("autoheal round %s: %s is on a minority side of a partition and rejoins the cluster of %s (%s)", req.Round, v, a.node.Name(), req.Reason),
	}
	var ans answer
	err := a.call(ctx, v, methodHeal, hreq, &ans)
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
		var st healStatus
		if err := a.call(ctx, v, methodHealStatus, healStatusRequest{Round: req.Round}, &st); err != nil {
			lastErr = err
			continue
		}
		switch st.State {
		case healDone:
			return nil
		case healFailed:
			return fmt.Errorf("%s: %s", v, st.Err)
		case healUnknown:
			return fmt.Errorf("%s never started healing for round %s", v, req.Round)
		}
	}
}

func (a *Autoheal) serveHeal(_ context.Context, from string, p []byte) ([]byte, error) {
	var req healRequest
	if err := json.Unmarshal(p, &req); err != nil || req.Round == "" || req.Coordinator == "" {
		return nil, fmt.Errorf("autoheal: heal request from %s: want a JSON object with round and coordinator, got %q", from, p)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return json.Marshal(answer{Reason: "autoheal is closing on " + a.node.Name()})
	case a.coordinating:
		return json.Marshal(answer{Reason: a.node.Name() + " coordinates a heal"})
	case a.heal != nil && a.heal.state == healRunning:
		return json.Marshal(answer{Reason: a.node.Name() + " already heals (round " + a.heal.round + ")"})
	}
	h := &victimHeal{round: req.Round, state: healRunning}
	a.heal = h
	a.wg.Add(1)
	go a.healSelf(h, req)
	return json.Marshal(answer{Accepted: true})
}

func (a *Autoheal) serveHealStatus(_ context.Context, from string, p []byte) ([]byte, error) {
	var req healStatusRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("autoheal: heal status request from %s: %v (want a JSON object with round)", from, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st := healStatus{State: healUnknown}
	if a.heal != nil && a.heal.round == req.Round {
		st = healStatus{State: a.heal.state, Err: a.heal.err}
	}
	return json.Marshal(st)
}

// healSelf runs this node's heal as a victim.
func (a *Autoheal) healSelf(h *victimHeal, req healRequest) {
	defer a.wg.Done()
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.HealTimeout)
	defer cancel()
	t0 := time.Now()
	a.stats.round(req.Round)
	err := a.healSteps(ctx, req)
	a.mu.Lock()
	if err != nil {
		h.state, h.err = healFailed, err.Error()
	} else {
		h.state = healDone
	}
	a.mu.Unlock()
	a.stats.ended(req.Round, roleVictim, "rejoined the cluster of "+req.Coordinator, err)
	if err != nil {
		a.log.Error("autoheal: this node's heal failed", "round", req.Round, "coordinator", req.Coordinator, "err", err)
		return
	}
	a.log.Warn("autoheal: this node healed: it rejoined the cluster of the coordinator", "round", req.Round, "coordinator", req.Coordinator, "took", time.Since(t0).Round(time.Millisecond))
}

func (a *Autoheal) healSteps(ctx context.Context, req healRequest) error {
	a.log.Warn("autoheal: this node is on a minority side; healing", "round", req.Round, "coordinator", req.Coordinator)
	if err := a.node.SetStatus(mesh.StatusHealing); err != nil {
		return err
	}
	defer a.node.SetStatus(mesh.StatusUp) //nolint:errcheck // only fails when the node stopped
	if err := runHook(ctx, "prepare", a.cfg.Hooks.Prepare, req.Reason); err != nil {
		return err
	}
	if err := a.node.Rejoin(ctx, req.Coordinator); err != nil {
		return err
	}
	return runHook(ctx, "reboot", a.cfg.Hooks.Reboot, req.Reason)
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
