package mcast

import "sync/atomic"

// Stats counts what the strategy sent and what it did with what it
// received. Every received datagram is counted once in Received and once in
// exactly one of the other fields except Sent.
type Stats struct {
	// Sent counts the packets sent: one announce per port per Discover, and
	// the answers.
	Sent uint64
	// Received counts every datagram received, valid or not.
	Received uint64
	// Accepted counts the packets acted on: announces answered and answers
	// collected.
	Accepted uint64
	// Self counts this node's own packets, looped back and ignored.
	Self uint64

	// The dropped packets, by the first check they failed (see PROTOCOL).

	// Malformed: not a packet of this protocol version (garbage, truncated,
	// oversized, bad magic, version, type, lengths or names).
	Malformed uint64
	// OtherCluster: a packet of another cluster.
	OtherCluster uint64
	// BadMAC: the MAC matches none of this cluster's cookies (a wrong cookie
	// or a forged or altered packet).
	BadMAC uint64
	// Unsolicited: an authentic packet of the wrong type for the socket, or
	// an answer to an announce this node is not collecting answers for (an
	// earlier Discover's, for example).
	Unsolicited uint64
	// Stale: a timestamp further than MaxSkew from this node's clock (an
	// old packet replayed, or a host whose clock is off).
	Stale uint64
	// Replayed: a copy of a packet already accepted (same nonce).
	Replayed uint64
	// Busy: too many live nonces remembered to accept another packet.
	Busy uint64
}

// Dropped returns the number of packets dropped, for any reason (Self
// excluded: those are ignored, not dropped).
func (s Stats) Dropped() uint64 {
	return s.Malformed + s.OtherCluster + s.BadMAC + s.Unsolicited + s.Stale + s.Replayed + s.Busy
}

type counters struct {
	sent, received, accepted, self                                      atomic.Uint64
	malformed, otherCluster, badMAC, unsolicited, stale, replayed, busy atomic.Uint64
}

// Stats returns the counters since New.
func (m *Mcast) Stats() Stats {
	c := &m.stats
	return Stats{
		Sent: c.sent.Load(), Received: c.received.Load(), Accepted: c.accepted.Load(), Self: c.self.Load(),
		Malformed: c.malformed.Load(), OtherCluster: c.otherCluster.Load(), BadMAC: c.badMAC.Load(),
		Unsolicited: c.unsolicited.Load(), Stale: c.stale.Load(), Replayed: c.replayed.Load(), Busy: c.busy.Load(),
	}
}
