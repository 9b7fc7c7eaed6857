// Package dns is the DNS discovery strategy (cluster.discovery = dns): the
// cluster's nodes are the records of one DNS name, after ekka's dns
// strategy.
//
//   - Type A: every IPv4 address a of the name gives the node app@a.
//   - Type AAAA: every IPv6 address a gives app@a, written bare as
//     package portmap stores IPv6 hosts (emqx@fd00::1, never in brackets),
//     so a discovered name equals the name the node calls itself.
//   - Type SRV: every SRV target t gives app@t, without the trailing dot.
//     The record's port is ignored: a node's port follows from its name
//     (package portmap), the same on every node of a cluster.
//
// app is the short name shared by the cluster's nodes (cluster.dns.app);
// when it is empty, this node's own short name is used.
//
//	d, err := dns.New(dns.Config{
//		Name:   "emqx@10.0.0.1",     // this node
//		Domain: "emqx.example.com",  // cluster.dns.name
//		Type:   dns.TypeA,           // cluster.dns.type
//		Server: "10.0.0.53:53",      // cluster.dns.server; empty: the system resolver
//	})
//
// Without Server, lookups are the system's, like any other in the process
// (and like the mesh's own when it dials a discovered host name). With
// Server set, Go's own resolver (net.Resolver with PreferGo) sends every
// query to that server instead of those in /etc/resolv.conf, over UDP, and
// over TCP when a UDP answer is truncated; search domains and ndots from
// /etc/resolv.conf still apply (end Domain with a dot to avoid them), and
// for A and AAAA /etc/hosts is read first when /etc/nsswitch.conf says so.
// Go's resolver checks every answer (ID, question, record syntax) and
// drops what it cannot parse, so a broken or hostile server can delay a
// lookup until its context ends but never crash it. Nothing is cached: a
// name that starts resolving later is seen by the next Discover, which the
// autocluster loop retries every few seconds while it finds no nodes.
//
// DNS has nothing to lock and no way to register: Lock, Unlock, Register and
// Unregister return errors wrapping discovery.ErrNotSupported, which the
// autocluster loop treats as success. The records are the operator's (or
// the orchestrator's) to maintain.
package dns
