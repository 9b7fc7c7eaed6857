package config

import (
	"sort"
	"strings"
)

// RefusedKey is a key of ekka's (or EMQX's) configuration schema that
// ekka-mesh does not take, and what to use instead.
type RefusedKey struct {
	Key     string // such as "cluster.proto_dist"
	Instead string // what to set (or do) instead, and why
}

// refusedKeys are ekka's keys with no counterpart here. Setting one, from
// any source, is an error matching ErrRefusedKey whose text is Instead, so
// an ekka configuration fails with directions rather than "unknown key".
var refusedKeys = map[string]string{
	"cluster.discovery_strategy":  "EMQX 5's name for it: use cluster.discovery",
	"cluster.enable":              "ekka's switch for its autocluster: on is what ekka-mesh does, so remove the line; for off, set cluster.discovery = manual (join with ekka-mesh ctl join) or stop a running node's loop with ekka-mesh ctl autocluster off; for a node that never clusters, cluster.discovery = singleton",
	"cluster.proto_dist":          "ekka-mesh has its own transport, not Erlang distribution: inet_tcp needs nothing, inet_tls is node.tls.enable = on with node.tls.certfile, keyfile and cacertfile, inet6_tcp is a node name with an IPv6 address (n1@::1) or node.bind",
	"cluster.mcast.buffer":        "Erlang's user-level driver buffer has no counterpart (ekka never applied it either): every datagram is read into a buffer sized for the longest discovery packet. Remove the line; the kernel's buffers are cluster.mcast.recbuf and cluster.mcast.sndbuf",
	"cluster.etcd.version":        "ekka-mesh speaks etcd's v3 API only: remove the line (an etcd that serves only v2 cannot be used)",
	"cluster.etcd.transport":      "the scheme of each cluster.etcd.server URL chooses it: http:// or https:// (with cluster.etcd.ssl.* for client certificates)",
	"cluster.k8s.hostname_suffix": "use cluster.k8s.suffix",
	"rlog.role":                   "ekka-mesh has no Mnesia and no replicant nodes: every node is a full member; remove the line",
	"rlog.core_nodes":             "there are no core and replicant roles: list the nodes to join in cluster.static.seeds (with cluster.discovery = static)",
	"node.proto_dist":             "see cluster.proto_dist: ekka-mesh's transport is TCP, with node.tls.* for TLS",
	"node.ssl_dist_optfile":       "TLS between nodes is node.tls.enable, node.tls.certfile, node.tls.keyfile, node.tls.cacertfile and node.tls.verify",
	"node.dist_listen_min":        "a node's port comes from its name (the port rule: node.base_port plus the trailing digits of the short name, see ekka-mesh port NAME): set node.base_port",
	"node.dist_listen_max":        "a node's port comes from its name (the port rule: node.base_port plus the trailing digits of the short name, see ekka-mesh port NAME): set node.base_port",
	"node.dist_net_ticktime":      "failure detection is node.heartbeat_interval and node.heartbeat_timeout (a peer silent for the timeout is down)",
	"node.dist_buffer_size":       "a link's outgoing queue is bounded by node.limits.lane_budget, per lane",
	"node.heartbeat":              "Erlang's heart (restart a hung VM) has no counterpart: run ekka-mesh under a supervisor such as systemd with Restart=on-failure; between nodes, heartbeats are node.heartbeat_interval and node.heartbeat_timeout",
}

// refusedPrefix is a group of ekka keys refused whole: ekka passed any
// Erlang ssl option under cluster.etcd.ssl.
const (
	refusedPrefix     = "cluster.etcd.ssl."
	refusedPrefixWhat = "ekka passed any Erlang ssl option under cluster.etcd.ssl.; ekka-mesh takes cluster.etcd.ssl.keyfile, certfile and cacertfile, and checks etcd's certificate against cacertfile (the system roots when empty)"
)

// refused returns what to use instead of key when key is one of ekka's that
// ekka-mesh refuses; ok is false for any other key, known or not.
func refused(key string) (instead string, ok bool) {
	if instead, ok := refusedKeys[key]; ok {
		return instead, true
	}
	if _, known := keyIndex[key]; !known && strings.HasPrefix(key, refusedPrefix) && len(key) > len(refusedPrefix) {
		return refusedPrefixWhat, true
	}
	return "", false
}

// RefusedKeys lists the keys of ekka's schema that ekka-mesh refuses, with
// what to use instead, sorted by key; the last entry, cluster.etcd.ssl.*,
// stands for every cluster.etcd.ssl. key other than the three taken.
func RefusedKeys() []RefusedKey {
	keys := make([]RefusedKey, 0, len(refusedKeys)+1)
	for k, v := range refusedKeys {
		keys = append(keys, RefusedKey{Key: k, Instead: v})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
	return append(keys, RefusedKey{Key: refusedPrefix + "*", Instead: refusedPrefixWhat})
}

// refusedKeyError is the error for setting a refused key.
func refusedKeyError(where, key, value, instead string) *Error {
	return &Error{Where: where, Key: key, Value: displayValue(key, value), Msg: "an ekka key that ekka-mesh does not take: " + instead, Err: ErrRefusedKey}
}
