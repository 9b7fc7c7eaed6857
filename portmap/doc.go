// Package portmap owns ekka-mesh node names and the rule that turns a name
// into a TCP port, so that nodes need no port-mapper daemon (no epmd): every
// node computes every other node's port from its name alone.
//
// A node name is short@host, at most MaxNameLen (255) bytes in all, the
// limit of an Erlang atom. The short part uses only the characters
// A-Z a-z 0-9 _ . - and must not be empty. The host is one of
//
//   - a hostname: labels of letters, digits and '-' separated by '.', each
//     label 1 to 63 characters that neither starts nor ends with '-', at most
//     253 characters in all (no trailing dot);
//   - an IPv4 literal, such as 127.0.0.1;
//   - an IPv6 literal, written bare (n1@::1) or in brackets (n1@[::1]).
//     Parse stores it without brackets, so Name.String writes n1@::1. Zones
//     (fe80::1%eth0) are not accepted.
//
// The port rule, compatible with ekka:
//
//	port = base + offset
//
// base is the cluster's base port (node.base_port, DefaultBasePort = 4370).
// offset is the run of decimal digits at the very end of the short name, read
// as an integer, modulo 60000; a short name that does not end in a digit has
// offset 0. The host never affects the port. So emqx@h listens on 4370,
// emqx12@h and emqx-12@h on 4382, emqx007@h on 4377, emqx1a@h on 4370 and
// n60000@h on 4370. A base plus offset above 65535 is an error.
//
// Every node of a cluster must use the same base port: a node finds a peer by
// computing the peer's port with its own base.
//
// Errors are *Error values that say which rule was broken; test for a rule
// with errors.Is and the Err* sentinels.
package portmap
