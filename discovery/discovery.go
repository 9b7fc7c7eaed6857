package discovery

import (
	"context"
	"errors"
	"fmt"
)

// Strategy finds the nodes of a cluster. The package documentation says
// in which order a node calls the methods and with which contexts.
type Strategy interface {
	// Discover returns the names (short@host) of the cluster's nodes; the
	// list may include this node.
	Discover(ctx context.Context) ([]string, error)
	// Lock takes the strategy's cluster-wide autocluster lock, so that nodes
	// starting together do not form separate clusters.
	Lock(ctx context.Context) error
	// Unlock releases the lock taken by Lock.
	Unlock(ctx context.Context) error
	// Register makes this node discoverable by the others.
	Register(ctx context.Context) error
	// Unregister withdraws what Register published.
	Unregister(ctx context.Context) error
}

// ErrNotSupported is returned (possibly wrapped) by a Strategy method that
// does not apply to the strategy; the autocluster loop treats it as
// success.
var ErrNotSupported = errors.New("not supported by this discovery strategy")

// NotSupported returns the error a strategy's method that does not apply
// returns: it names the strategy and the method and wraps ErrNotSupported,
// as in "static discovery: lock: not supported by this discovery strategy".
func NotSupported(strategy, method string) error {
	return fmt.Errorf("%s discovery: %s: %w", strategy, method, ErrNotSupported)
}

// Standalone is implemented by a strategy under which the node never
// clusters (discovery/singleton, ekka's singleton strategy). A node whose
// strategy reports Standalone() true runs no autocluster loop, refuses to
// join another node, and refuses every node that would link to it as a
// member; hidden clients (ekka-mesh ctl) are still served.
type Standalone interface {
	Strategy
	// Standalone reports whether the node must stay out of every cluster.
	Standalone() bool
}

// IsStandalone reports whether s is a Standalone strategy that says so.
// A nil s is not.
func IsStandalone(s Strategy) bool {
	st, ok := s.(Standalone)
	return ok && st.Standalone()
}

// Keyed is implemented by a strategy that signs or checks its traffic with
// the cluster's cookie (discovery/mcast). mesh.Node.SetCookie passes every
// cookie change to the node's strategy when it is Keyed, so a rotation by
// ekka-mesh ctl rotate-cookie or a config reload reaches discovery too: the
// strategy signs with current and still accepts previous.
type Keyed interface {
	Strategy
	SetCookie(current string, previous ...string) error
}
