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
// base is the cluster's base port (node.base_port, DefaultBasePort = 4370),
// within 1..65535: a base of 0 or less, or above 65535, is an error
// (ErrBadBase), whoever gives it. The one exception is the package-level
// Port function, which reads its base argument 0 as "not configured" and
// uses DefaultBasePort, as Go zero values go; Name.Port, ShortPort and
// ekka-mesh port --base-port 0 refuse it.
// offset is the run of decimal digits at the very end of the short name, read
// as an integer, modulo 60000; a short name that does not end in a digit has
// offset 0. The host never affects the port. So emqx@h listens on 4370,
// emqx12@h and emqx-12@h on 4382, emqx007@h on 4377, emqx1a@h on 4370 and
// n60000@h on 4370. A base plus offset above 65535 is an error.
//
// As in ekka_dist:port/1, the rule also answers for a short name given alone,
// without "@host", which is what epmd's port_please asks about: ShortPort
// ("emqx12", 4370) is 4382, and so is ekka-mesh port emqx12.
//
// Names whose short name begins with "remsh" (RemoteShellPrefix,
// case-sensitive) have no port (ErrRemoteShell). ekka gives them port 0, a
// random port, because they are remote shells: consoles that connect to a
// node and are never connected to. ekka-mesh's counterpart of a remote shell
// is the hidden client (ekka-mesh ctl, mesh.Client), which never listens and
// so needs no port; a node, on the other hand, must be reachable at the port
// its name gives, or peers could never dial it. So a node cannot be named
// remsh...: node.name refuses such a name, Name.Port, Addr and ListenAddr
// return ErrRemoteShell, so no node listens or dials under one, and
// ekka-mesh port says so. Parse still accepts the name: a hidden client may
// call itself remsh1@host.
//
// Every node of a cluster must use the same base port: a node finds a peer by
// computing the peer's port with its own base.
//
// Errors are *Error values that say which rule was broken; test for a rule
// with errors.Is and the Err* sentinels.
package portmap
