package mesh

// A singleton node (ekka's singleton strategy, discovery/singleton): a node
// whose discovery strategy is discovery.Standalone never clusters. It runs
// no autocluster loop, its own Join fails with ErrSingleton, and its
// listener refuses every member dialer in the handshake (conn.Config's
// RefuseMembers), so a node that tries to join it fails at once with the
// reason; hidden clients are served as usual.

import (
	"errors"
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/discovery"
)

// ErrSingleton: this node's discovery strategy is singleton
// (discovery.Standalone): it never joins a cluster.
var ErrSingleton = errors.New("mesh: singleton node: it never joins a cluster")

// standalone reports whether the node's strategy keeps it out of every
// cluster.
func (c *Config) standalone() bool { return discovery.IsStandalone(c.Discovery) }

// refuseMembers is the reason a singleton node refuses a member dialer
// with (conn.Config.RefuseMembers); "" for any other node.
func (c *Config) refuseMembers() string {
	if !c.standalone() {
		return ""
	}
	return fmt.Sprintf("node %s is a singleton (discovery strategy singleton, cluster.discovery = singleton): it never joins a cluster and accepts no members", c.Name)
}

// singletonJoin is Join's answer on a singleton node: ErrSingleton, naming
// the node asked for; nil on any other node.
func (n *Node) singletonJoin(node string) error {
	if !n.cfg.standalone() {
		return nil
	}
	return &NodeError{Node: node, Op: "join", Err: fmt.Errorf("%w: %s runs the singleton discovery strategy (cluster.discovery = singleton)", ErrSingleton, n.cfg.Name)}
}

// refusedByPeer reports whether a dial failed because the peer refused
// this node in the handshake for good (a singleton): retrying cannot help.
func refusedByPeer(err error) bool { return errors.Is(err, conn.ErrRefused) }
