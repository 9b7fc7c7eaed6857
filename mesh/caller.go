package mesh

import "context"

// hiddenCallerKey marks the contexts of a hidden client's link.
type hiddenCallerKey struct{}

// callerContext returns the parent of a link's context: marked when the
// peer is a hidden client, so that handlers can tell (FromHiddenClient).
func callerContext(parent context.Context, hidden bool) context.Context {
	if hidden {
		return context.WithValue(parent, hiddenCallerKey{}, true)
	}
	return parent
}

// FromHiddenClient reports whether ctx is, or derives from, the context a
// handler got for a call or cast from a hidden client (ekka-mesh ctl, a
// Client) rather than from a member node. A hidden client chooses its own
// name, which may be a member's, so a handler that serves members only
// (a lock table, for example) checks this, not the caller's name. A call
// that a handler makes on behalf of a hidden client to this node itself
// (through Call with ctx) keeps the mark; a call it makes to another node
// arrives there from this node, a member.
func FromHiddenClient(ctx context.Context) bool {
	v, _ := ctx.Value(hiddenCallerKey{}).(bool)
	return v
}

// Member returns node's entry in this node's member table, and whether it
// has one: a cheaper question than Members when only one node matters (a
// handler checking that its caller is a member, for example).
func (n *Node) Member(node string) (MemberInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.table.get(node)
}
