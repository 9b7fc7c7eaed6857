// Package mcast is the multicast discovery strategy (cluster.discovery =
// mcast): nodes find each other by UDP multicast on one IPv4 group, with
// announce and answer packets scoped by cluster name and signed with the
// cluster's cookie.
//
//	cfg := mcast.DefaultConfig()
//	cfg.Name, cfg.Cluster, cfg.Cookie = "emqx1@10.0.0.1", "emqxcl", cookie
//	d, err := mcast.New(cfg)
//
// Register binds the first port of Config.Ports that binds (with
// SO_REUSEPORT, so several nodes on one host share the port: "free" in
// effect means the first port not held by a program without SO_REUSEPORT),
// joins the group and answers other nodes' announces until Unregister.
// Discover sends an announce from a socket of its own and collects answers
// for Config.Window (3 s by default); it returns the names of the nodes that
// answered, never this node's own name, so a node alone gets an empty list.
// Lock and Unlock do not apply and return errors wrapping
// discovery.ErrNotSupported.
//
// Anything that is not an authentic, fresh packet of this cluster is dropped
// and counted (see Stats), never trusted: garbage, packets of another
// cluster, packets signed with another cookie, replays. A packet never
// changes what a node does beyond adding a name to a Discover result or
// sending one answer.
//
// # Requirements
//
// The interface must carry multicast (the MULTICAST flag) and there must be
// a route to the group (a default route, or 224.0.0.0/4). Several nodes on
// one host need Config.Loop. The clocks of the cluster's hosts must agree
// within Config.MaxSkew (30 s). Answers come back by unicast to the port the
// announce was sent from, so a host firewall must let them in.
//
// # PROTOCOL
//
// Version 1. Each packet is one UDP datagram of 86 to 401 bytes. Integers
// are big-endian.
//
//	offset   size  field
//	0        4     magic "EKMC" (45 4B 4D 43)
//	4        1     version: 1
//	5        1     type: 1 announce ("who is there?"), 2 answer ("I am here")
//	6        2     reserved: zero
//	8        8     timestamp: the sender's clock, Unix time in nanoseconds, signed
//	16       16    nonce: random, fresh for every packet
//	32       16    reply-to: in an answer, the nonce of the announce it answers;
//	               zero in an announce
//	48       1     C: length of the cluster name, 1 to 64
//	49       C     cluster name: A-Z a-z 0-9 _ . -
//	49+C     1     N: length of the node name, 3 to 255
//	50+C     N     node name of the sender, short@host, in canonical form
//	               (an IPv6 host without brackets)
//	50+C+N   32    HMAC-SHA256 keyed with the cookie over bytes 0 to 49+C+N
//
// An exchange: a node's Discover sends an announce to the group, one copy to
// each port of Ports, from an ephemeral UDP port. Every registered node of
// the cluster that receives it sends an answer by unicast to the announce's
// source address and port, from its group socket. The announcer collects
// answers until its window closes.
//
// A receiver checks each datagram in this order; the first check that fails
// drops it and decides which Stats counter counts it:
//
//  1. Malformed: the layout above (size, magic, version, type, reserved
//     bytes, reply-to zero exactly in announces, lengths, name syntax, no
//     trailing bytes).
//  2. OtherCluster: the cluster name must be the receiver's.
//  3. BadMAC: the HMAC must match one of the receiver's cookies, compared
//     in constant time.
//  4. Unsolicited: the type must be the one the socket expects (announces
//     on the group socket, answers on Discover's socket).
//  5. Self: a packet carrying the receiver's own name is ignored.
//  6. Stale: the timestamp must lie within MaxSkew of the receiver's clock.
//  7. Unsolicited: an answer's reply-to must be the nonce of an announce
//     being collected.
//  8. Replayed: the nonce must not have been accepted before. Nonces are
//     remembered until their timestamp leaves the window, so a copy is
//     refused either as a replay or as stale. (Busy: more than 65536 live
//     nonces.)
//
// During a cookie rotation a node holds its current cookie and previous ones
// (Config.CookiePrevious, SetCookie, which mesh.Node.SetCookie calls). It
// then sends one announce per cookie, current first, each with its own
// nonce, collects answers to any of them, accepts a packet whose HMAC
// matches any cookie (checking all of them, in constant time), and answers
// an announce signed with the cookie that verified it. Two nodes that share
// a cookie find each other whichever rotated first.
//
// The HMAC covers the whole packet, so a packet cannot be altered, moved to
// another cluster or re-typed; the cookie never crosses the wire. An
// announce replayed by an attacker gets no answer, so the protocol cannot be
// used to make nodes send traffic to a third party.
package mcast
