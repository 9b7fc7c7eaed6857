// Package discovery defines what a discovery strategy is: the contract
// between a node's autocluster loop and the strategies that find the other
// nodes of a cluster (discovery/static, discovery/mcast, discovery/dns,
// discovery/etcd, discovery/k8s, and discovery/singleton, which finds none:
// see Standalone), as database/sql/driver does for drivers.
//
// Most code does not use this package directly: a program builds a strategy
// from one of the subpackages and hands it to mesh.Config.Discovery. It
// exists so that a strategy depends on this small package alone, not on the
// node, the transport or the codec (no mesh, conn, wire, smux or s2), and
// so that the node depends on no strategy.
//
// # Who calls what
//
// With mesh.Config.Discovery set, the node's autocluster loop runs passes
// until one succeeds, one every mesh.Config.AutoclusterInterval. A pass is:
//
//  1. Lock. When it fails (other than with ErrNotSupported) the pass ends
//     there and Unlock is not called.
//  2. Register, until it has succeeded once (or returned ErrNotSupported);
//     later passes skip it.
//  3. Discover. The node links to every name it returns other than its own.
//  4. Unlock, with a fresh context of a few seconds, even when the pass
//     failed or its context is done.
//
// Lock, Register and Discover get the pass's context, which ends when the
// node stops or after max(AutoclusterInterval, 2×HandshakeTimeout): they
// must return soon after it is done. Unregister is called once, from
// mesh.Node.Stop, with a context of at most two seconds, and may run while
// a pass is in progress: a strategy must be safe for concurrent use. The
// loop never calls two methods of a pass at once.
//
// # What a strategy returns
//
// Discover returns node names (short@host), possibly including this node
// and possibly with duplicates; an empty list or a list of only this node
// makes the pass fail and retry, so that a node whose peers are not yet
// published keeps looking instead of settling as a cluster of one. An
// error makes the pass retry; its text is logged and counted.
//
// A method that does not apply to a strategy (Lock on a fixed seed list,
// Register where Kubernetes publishes the endpoints itself) returns an
// error wrapping ErrNotSupported, best made with NotSupported; the loop
// treats it as success.
//
// Unregister releases what Register started (a socket, a lease, a
// client), since it is the last call a stopping node makes; a strategy
// whose Register starts nothing may treat it as not supported.
package discovery
