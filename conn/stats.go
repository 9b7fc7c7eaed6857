package conn

import (
	"sync/atomic"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// laneCounters counts what one lane of a link carried. The received counts
// are added to by the lane's reader goroutine alone; the sent count by the
// senders of the lane. Counting costs one uncontended atomic add per frame.
type laneCounters struct {
	framesSent atomic.Uint64
	framesRecv atomic.Uint64
	bytesRecv  atomic.Uint64
}

// received counts a frame whose header h was read (nil-safe: a
// messageReader made without counters counts nothing).
func (lc *laneCounters) received(h wire.Header) {
	if lc == nil {
		return
	}
	lc.framesRecv.Add(1)
	lc.bytesRecv.Add(uint64(h.Length) + wire.HeaderSize)
}

// LaneStats counts what one lane of a link carried since the link was set
// up: frames (a chunk counts one) and their bytes (header and payload, as
// framed; on the control lane without the smux framing around them), and
// the bytes waiting to be written now.
type LaneStats struct {
	BytesSent, BytesReceived   uint64
	FramesSent, FramesReceived uint64
	// Queued is the bytes of frames waiting on the lane now: queued
	// behind a write, or held by senders waiting for room.
	Queued int64
}

// Lanes is the number of lanes of a link; LaneName names each.
const Lanes = 3

// LaneName names a lane: "control", "data" or "large" (wire.LaneControl,
// wire.LaneData, wire.LaneLarge).
func LaneName(lane uint8) string {
	if int(lane) < len(laneNames) {
		return laneNames[lane]
	}
	return "unknown"
}

// LaneStats returns the counts of each lane, indexed by wire.LaneControl,
// wire.LaneData and wire.LaneLarge.
func (c *Conn) LaneStats() [Lanes]LaneStats {
	var out [Lanes]LaneStats
	for i := range out {
		lc, lw := &c.laneCount[i], c.lanes[i]
		_, queued, written := lw.backlog()
		out[i] = LaneStats{
			BytesSent:      uint64(written),
			BytesReceived:  lc.bytesRecv.Load(),
			FramesSent:     lc.framesSent.Load(),
			FramesReceived: lc.framesRecv.Load(),
			Queued:         int64(queued),
		}
	}
	return out
}

// listenerCounters counts what a Listener admitted; its refusals are
// counted by reason in its rateLog.
type listenerCounters struct {
	accepted   atomic.Uint64 // TCP connections accepted
	handshakes atomic.Uint64 // server handshakes that succeeded (one per lane)
	links      atomic.Uint64 // links completed (all their lanes arrived)
}

// ListenerCounts counts what a Listener admitted since Listen.
type ListenerCounts struct {
	// Accepted is the TCP connections accepted, before any handshake.
	Accepted uint64
	// Handshakes is the handshakes that succeeded: one per lane of a link.
	Handshakes uint64
	// Links is the links whose lanes all arrived, handed to Accept.
	Links uint64
}

// Counts returns what the listener admitted so far; Stats has what it
// holds now and what it refused.
func (l *Listener) Counts() ListenerCounts {
	return ListenerCounts{
		Accepted:   l.counts.accepted.Load(),
		Handshakes: l.counts.handshakes.Load(),
		Links:      l.counts.links.Load(),
	}
}
