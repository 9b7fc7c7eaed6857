package meshtest

import (
	"context"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// TB is the part of testing.TB that Started and Formed use (meshtest does
// not import package testing: ekka-mesh demo runs its clusters).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// setupTimeout bounds starting and forming a cluster, and stopping it.
const setupTimeout = 30 * time.Second

// Started starts n nodes (Start with tweak) and stops them when the test
// ends; it fails the test when they do not start, or do not stop cleanly.
// A test may stop the cluster itself first: Stop is idempotent.
func Started(tb TB, n int, tweak func(i int, cfg *mesh.Config)) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := Start(ctx, n, tweak)
	if err != nil {
		tb.Fatalf("meshtest: start %d nodes: %v", n, err)
	}
	stopAtCleanup(tb, c)
	return c
}

// Formed is StartFormed for a test: n nodes running together, stopped
// when the test ends.
func Formed(tb TB, n int, tweak func(i int, cfg *mesh.Config)) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := StartFormed(ctx, n, tweak)
	if err != nil {
		tb.Fatalf("meshtest: start and form a cluster of %d: %v", n, err)
	}
	stopAtCleanup(tb, c)
	return c
}

func stopAtCleanup(tb TB, c *Cluster) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			tb.Errorf("meshtest: stop: %v", err)
		}
	})
}
