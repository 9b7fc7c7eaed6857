package mesh

import (
	"context"
	"errors"
)

// Discovery is a strategy that finds the nodes of a cluster (static seeds,
// multicast, DNS, etcd, Kubernetes). Strategies live in their own packages
// (discovery/...) and satisfy this interface without mesh importing them.
// Manual clustering means no Discovery at all.
//
// A method that does not apply to a strategy returns an error wrapping
// ErrNotSupported; the autocluster loop treats that as success for Lock,
// Unlock, Register and Unregister.
type Discovery interface {
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

// ErrNotSupported is returned (possibly wrapped) by a Discovery method that
// does not apply to the strategy.
var ErrNotSupported = errors.New("mesh: not supported by this discovery strategy")
