package mesh

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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
	_, err := n.changeSelf(n.ctx, wire.TypeMemberSuspended, func() ([]byte, error) {
		was := n.suspended.Swap(&reason)
		if was == nil {
			n.publishLocked(EventSuspended, n.cfg.Name, n.guid, reason)
			n.log.Warn("suspended: this node stopped serving calls", "reason", reason)
		}
		if was != nil && *was == reason {
			return nil, nil
		}
		return n.recordSuspendedLocked(reason), nil
	})
	return err
}

// recordSuspendedLocked records this node's suspension reason ("" when it
// serves) in its own member entry, and returns the MemberSuspended body
// that tells the members, so that their member tables show it.
func (n *Node) recordSuspendedLocked(reason string) []byte {
	n.suspendTold = true
	n.table.setSuspended(n.cfg.Name, n.guid, reason)
	return n.suspendedMessage(reason)
}

// suspendedMessage is the body announcing this node's suspension reason.
func (n *Node) suspendedMessage(reason string) []byte {
	m := wire.MemberSuspended{Node: []byte(n.cfg.Name), GUID: n.guid, Reason: []byte(reason)}
	return m.Append(nil)
}

// announceSuspendedTo tells a newly adopted link whether this node is
// suspended, once it has ever been: a member that comes back after a split
// may still record a suspension that ended meanwhile. A node never
// suspended sends nothing.
func (n *Node) announceSuspendedTo(lk *link) {
	n.announceSelfTo(lk, wire.TypeMemberSuspended, func() []byte {
		if !n.suspendTold {
			return nil
		}
		reason, _ := n.Suspended()
		return n.suspendedMessage(reason)
	})
}

// memberSuspended records what a member said over its own link about its
// suspension. The reason is cut to maxSuspendReason bytes, so that a peer
// cannot make the table hold much, and control characters and invalid
// UTF-8 become '?', so that it is safe to print (ctl status).
func (n *Node) memberSuspended(lk *link, m *wire.MemberSuspended) {
	reason := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, string(m.Reason[:min(len(m.Reason), maxSuspendReason)]))
	n.mu.Lock()
	defer n.mu.Unlock()
	n.table.setSuspended(lk.peer, lk.guid, reason)
}

// maxSuspendReason bounds a member's suspension reason as recorded.
const maxSuspendReason = 1024

// setSuspended records why node (incarnation guid, linked) is suspended,
// "" when it serves; like setTags, a member this node is not linked to, or
// another incarnation, changes nothing.
func (t *memberTable) setSuspended(node string, guid GUID, reason string) {
	m, ok := t.members[node]
	if !ok || !m.linked || m.info.GUID != guid {
		return
	}
	m.info.Suspended = reason
}

// Resume makes a suspended node serve the application again, and publishes
// EventResumed with reason. It does nothing on a node that serves.
func (n *Node) Resume(reason string) error {
	_, err := n.changeSelf(n.ctx, wire.TypeMemberSuspended, func() ([]byte, error) {
		if n.suspended.Swap(nil) == nil {
			return nil, nil
		}
		n.publishLocked(EventResumed, n.cfg.Name, n.guid, reason)
		n.log.Info("resumed: this node serves calls again", "reason", reason)
		return n.recordSuspendedLocked(""), nil
	})
	return err
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
