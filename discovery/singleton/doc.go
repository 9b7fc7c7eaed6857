// Package singleton is ekka's singleton discovery strategy
// (cluster.discovery = singleton): a node that never clusters, and says so
// when asked to join.
//
// Singleton satisfies discovery.Standalone, which is how the node learns
// what it must do (see package mesh): it runs no autocluster loop; its own
// Join of another node fails with mesh.ErrSingleton; and a node that dials
// it to link as a member (a join through it, a seed list naming it) is
// refused in the handshake with CodeRefused and a reason naming the
// strategy, so that node's Join fails at once instead of retrying. Hidden
// clients (ekka-mesh ctl) connect as to any node. ekka does the same:
// ekka_cluster:join/1 answers {error, singleton} when either end is a
// singleton, and its autocluster is not configured under one.
//
// The strategy has nothing to lock, register or discover: Lock, Unlock,
// Register and Unregister return discovery.ErrNotSupported, and Discover
// fails with ErrNeverClusters, should it be called at all.
package singleton
