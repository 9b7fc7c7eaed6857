package mesh

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// A node that lost a split-brain decision (package splitbrain) stops serving
// until its side serves again: it suspends itself. A suspended node keeps
// its links, its member table and its heartbeats, so that the split can be
// seen to heal, and it still serves the built-in $ekka. methods (ekka-mesh
// ctl, heals) and service messages (their services decide for themselves:
// a locker gives up its locks and grants none). What it refuses is the
// application: every call to one of its methods, from a peer or from this
// node itself, fails with ErrSuspended (wire.CodeSuspended, the reason in
// the message), and casts to it are dropped and counted.

// ErrSuspended: the node that was called stopped serving because its side
// lost a split-brain decision (Node.Suspend); the error's text says why.
// errors.Is matches it on a *RemoteError with wire.CodeSuspended.
var ErrSuspended = errors.New("mesh: node is suspended")

// Suspend makes this node stop serving the application: calls to its
// methods fail with ErrSuspended and reason, casts to them are dropped,
// and subscribers see an EventSuspended with the reason. Info reports the
// reason. Suspending a suspended node changes its reason only. reason must
// not be empty: it is what callers are told.
func (n *Node) Suspend(reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("mesh: Suspend: reason is empty; say why the node stops serving (callers are told)")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return ErrStopped
	}
	was := n.suspended.Swap(&reason)
	if was == nil {
		n.publishLocked(EventSuspended, n.cfg.Name, n.guid, reason)
		n.log.Warn("suspended: this node stopped serving calls", "reason", reason)
	}
	return nil
}

// Resume makes a suspended node serve the application again, and publishes
// EventResumed with reason. It does nothing on a node that serves.
func (n *Node) Resume(reason string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return ErrStopped
	}
	if n.suspended.Swap(nil) != nil {
		n.publishLocked(EventResumed, n.cfg.Name, n.guid, reason)
		n.log.Info("resumed: this node serves calls again", "reason", reason)
	}
	return nil
}

// Suspended reports whether this node is suspended, and why.
func (n *Node) Suspended() (reason string, ok bool) {
	if r := n.suspended.Load(); r != nil {
		return *r, true
	}
	return "", false
}

// refuseSuspended returns the error code and message of a call to method
// on a suspended node, or 0 when the node serves it: it serves the
// built-in methods whatever happens.
func (n *Node) refuseSuspended(method string) (wire.Code, string) {
	r := n.suspended.Load()
	if r == nil || strings.HasPrefix(method, reservedPrefix) {
		return 0, ""
	}
	n.stats.suspendedRefused.Add(1)
	return wire.CodeSuspended, fmt.Sprintf("%s is suspended and serves no calls: %s", n.cfg.Name, *r)
}
