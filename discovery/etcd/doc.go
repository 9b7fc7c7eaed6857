// Package etcd is the etcd discovery strategy (etcd v3 API): each node
// registers itself under a prefix and the cluster name, on a lease kept
// alive while the node runs, and finds the others by listing that prefix.
//
// Keys, with the default prefix "ekkacl" and cluster "mycl":
//
//	ekkacl/mycl/nodes/emqx1@10.0.0.1   value "emqx1@10.0.0.1", on the node's lease
//	ekkacl/mycl/lock/<lease id, hex>   the autocluster lock (etcd's own lock,
//	                                   go.etcd.io/etcd/client/v3/concurrency)
//
// Register grants a lease of Config.NodeTTL, keeps it alive and puts the
// node's key on it. A node that dies stops the keepalives, so its key
// vanishes from etcd within NodeTTL. If the lease is lost anyway (etcd was
// unreachable for longer than NodeTTL), the strategy logs it and registers
// again, on a new lease, as soon as etcd answers. Discover lists the nodes of
// this cluster only. Lock takes etcd's lock on the same lease, so a node that
// dies holding it releases it within NodeTTL. Unregister deletes the key,
// revokes the lease and closes the client: it is what a stopping node calls
// last (mesh.Node.Stop does).
//
// An unreachable etcd makes each call fail, when its context ends or after
// Config.RequestTimeout, with an error that names the operation and the
// endpoints; the autocluster loop logs it and retries. Nothing blocks without
// a context and nothing panics.
//
// Client TLS (https:// endpoints, a client certificate, a CA) comes from
// Config.TLS; LoadTLS builds it from the PEM files of the
// cluster.etcd.ssl.* keys.
package etcd
