package mesh

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// Hook is one lifecycle hook: it is told the event, and returns an error
// to report a failure (see Hooks for what an error does).
type Hook func(ctx context.Context, ev HookEvent) error

// Hooks are the application's lifecycle hooks (Config.Hooks), after
// ekka's callbacks (ekka:callback(start | stop | prepare | reboot)). A
// node runs these four itself; package autoheal
// runs the other two (autoheal.Hooks Prepare and Reboot) around a heal. In
// the order a node's life meets them:
//
//	Start    Start: the node listens, its accept and maintenance loops run,
//	         its built-in methods are served; then the Start hook; then the
//	         autocluster loop (Config.Discovery) begins. An error fails Start:
//	         the node is stopped (the Stop hook does not run) and Start
//	         returns the error.
//	Join     Node.Join, once the request is checked (a valid name, not this
//	         node, not stopped) and the node has announced it is joining,
//	         before it dials: an error aborts the join, which returns it.
//	         The autocluster loop runs it too, in a pass that is about to
//	         link a node that has no members yet to the nodes it discovered
//	         (HookEvent.Reason "autocluster"): an error ends that pass,
//	         which is retried after AutoclusterInterval. A Join that finds
//	         the node already linked to the peer does not run it.
//	Prepare  autoheal, on a victim of a heal: before it drops its links.
//	Reboot   autoheal, on that victim once it has rejoined, or once its
//	         rejoin failed (it serves again where it is): every Prepare is
//	         followed by a Reboot unless the node stops.
//	Leave    Node.Leave, once the node has announced it is leaving and
//	         while its links are still up, before it tells its members
//	         and drops them. An error does not keep the node from leaving:
//	         Leave leaves, then returns the error. A node forced out by a
//	         peer (ForceLeave elsewhere) learns it after the fact and does
//	         not run it.
//	Stop     first thing in Node.Stop, while the node still serves calls
//	         and its links are up: before it unregisters from discovery,
//	         says goodbye and closes its links. An error does not keep the
//	         node from stopping: Stop stops, then returns the error (joined
//	         with any error of the stop itself).
//
// ekka's prepare and reboot also run around a join and a leave, since
// ekka's join and leave restart the node's database; ekka-mesh keeps no
// replicated state of its own, so Join and Leave run once, before, and
// the call's return (or the node-up and node-leaving events) says when
// the change is done.
//
// Every hook gets a context that bounds it (Start's, Join's, Leave's or
// Stop's, which also bounds the rest of the operation) and must return
// when it ends: a hook runs in the goroutine of the operation and the
// operation waits for it. A hook that returns an error or panics yields a
// *HookError naming the hook; a panic does not crash the process. Hooks
// of one node may run concurrently (two Join calls at once, the
// autocluster loop and a Leave): a hook guards its own state.
//
// A nil hook does nothing.
type Hooks struct {
	// Start runs once the node is up, before the autocluster loop begins.
	Start Hook
	// Stop runs first thing in Stop, links still up.
	Stop Hook
	// Join runs before the node joins a cluster: Node.Join, and an
	// autocluster pass that links a lone node.
	Join Hook
	// Leave runs in Node.Leave before the node tells its members it leaves.
	Leave Hook
}

// The events a hook is told, HookEvent.Event; the binary passes them to a
// hook command as EKKA_MESH_EVENT.
const (
	HookStart = "start"
	HookStop  = "stop"
	HookJoin  = "join"
	HookLeave = "leave"
)

// HookEvent is what a hook is told.
type HookEvent struct {
	// Event is HookStart, HookStop, HookJoin or HookLeave.
	Event string
	// Node is this node's name.
	Node string
	// Peers are, for a join, the nodes this node is about to link to: the
	// node given to Join, or the nodes an autocluster pass discovered and
	// is not linked to yet. Empty for the other events.
	Peers []string
	// Reason says what started the event: "Join", "autocluster", "Leave",
	// "Start", "Stop".
	Reason string
	// Self is the node running the hook. A Start hook may use it before
	// Start returns (Handle, AddService, Call), a Stop hook while the
	// node still serves.
	Self *Node
}

// HookError is a hook's failure: it returned Err, or panicked (Panicked;
// Err then holds the value and the stack). errors.Is and errors.As see
// through it to Err.
type HookError struct {
	Node     string
	Event    string
	Panicked bool
	Err      error
}

func (e *HookError) Error() string {
	what := "failed"
	if e.Panicked {
		what = "panicked"
	}
	switch e.Event {
	case HookLeave:
		what += " (the node left all the same)"
	case HookStop:
		what += " (the node stopped all the same)"
	}
	return fmt.Sprintf("mesh: node %s: %s hook %s: %v", e.Node, e.Event, what, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }

// hookPanic is the value of a hook's panic, with the stack where it
// happened (for the log; its text is the value alone).
type hookPanic struct {
	value any
	stack []byte
}

func (p *hookPanic) Error() string { return fmt.Sprint(p.value) }

// hookFor returns the configured hook of event.
func (h *Hooks) hookFor(event string) Hook {
	switch event {
	case HookStart:
		return h.Start
	case HookStop:
		return h.Stop
	case HookJoin:
		return h.Join
	case HookLeave:
		return h.Leave
	}
	return nil
}

// runHook runs the hook of event, if one is set, in this goroutine: a
// failure or a panic becomes a *HookError, which is logged too.
func (n *Node) runHook(ctx context.Context, event, reason string, peers ...string) (err error) {
	hook := n.cfg.Hooks.hookFor(event)
	if hook == nil {
		return nil
	}
	ev := HookEvent{Event: event, Node: n.cfg.Name, Peers: peers, Reason: reason, Self: n}
	defer func() {
		if r := recover(); r != nil {
			err = &HookError{Node: n.cfg.Name, Event: event, Panicked: true, Err: &hookPanic{value: r, stack: debug.Stack()}}
		}
		if err != nil {
			attrs := []any{"hook", event, "reason", reason, "peers", strings.Join(peers, ","), "err", err}
			if p, ok := errors.AsType[*hookPanic](err); ok {
				attrs = append(attrs, "stack", string(p.stack))
			}
			n.log.Error("lifecycle hook failed", attrs...)
		}
	}()
	if err := hook(ctx, ev); err != nil {
		return &HookError{Node: n.cfg.Name, Event: event, Err: err}
	}
	return nil
}
