package singleton

import (
	"context"
	"errors"
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

// ErrNeverClusters is what Discover returns: a singleton node looks for no
// other node.
var ErrNeverClusters = errors.New("a singleton node never joins a cluster, so it discovers no nodes")

// Singleton is the strategy of a node that never clusters.
type Singleton struct{}

var _ discovery.Standalone = (*Singleton)(nil)

// New returns the strategy.
func New() *Singleton { return &Singleton{} }

// Standalone reports true: the node stays out of every cluster.
func (*Singleton) Standalone() bool { return true }

// Discover fails with ErrNeverClusters (or ctx's error when it is done).
func (*Singleton) Discover(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("singleton discovery: %w", err)
	}
	return nil, fmt.Errorf("singleton discovery: %w", ErrNeverClusters)
}

// Lock is not supported: there is nothing to lock.
func (*Singleton) Lock(context.Context) error { return discovery.NotSupported("singleton", "lock") }

// Unlock is not supported.
func (*Singleton) Unlock(context.Context) error {
	return discovery.NotSupported("singleton", "unlock")
}

// Register is not supported: nobody looks for a singleton.
func (*Singleton) Register(context.Context) error {
	return discovery.NotSupported("singleton", "register")
}

// Unregister is not supported.
func (*Singleton) Unregister(context.Context) error {
	return discovery.NotSupported("singleton", "unregister")
}
