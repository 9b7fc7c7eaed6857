package mesh

import (
	"context"
	"net"
)

// callerKey is the key of a link's Caller in its contexts.
type callerKey struct{}

// Caller is the peer a handler serves: who sent the call or cast.
type Caller struct {
	// Name is the name the peer authenticated with. A hidden client
	// chooses its own (ekka-mesh ctl: ctl-<random>@127.0.0.1).
	Name string
	// Addr is the peer's address as the link knows it (host:port).
	Addr string
	// Hidden: the peer is a hidden client (ctl, a Client), not a member.
	Hidden bool
}

// callerContext returns the parent of a link's context, carrying the
// peer's identity so that handlers can tell who called (CallerOf,
// FromHiddenClient).
func callerContext(parent context.Context, hidden bool, name string, addr net.Addr) context.Context {
	c := Caller{Name: name, Hidden: hidden}
	if addr != nil {
		c.Addr = addr.String()
	}
	return context.WithValue(parent, callerKey{}, c)
}

// CallerOf returns the peer whose call or cast ctx serves, and whether ctx
// is (or derives from) a handler's context. Like FromHiddenClient, a call
// a handler makes to this node itself with ctx keeps the caller.
func CallerOf(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
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
	c, _ := CallerOf(ctx)
	return c.Hidden
}

// Member returns node's entry in this node's member table, and whether it
// has one: a cheaper question than Members when only one node matters (a
// handler checking that its caller is a member, for example).
func (n *Node) Member(node string) (MemberInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.table.get(node)
}
