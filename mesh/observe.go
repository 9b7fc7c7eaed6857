package mesh

import (
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// LinkInfo is one of this node's links to a member, as this node sees it:
// what the status page and the metrics show.
type LinkInfo struct {
	Peer   string    `json:"peer"`
	Addr   string    `json:"addr"`   // the peer's address
	Dialed bool      `json:"dialed"` // this node dialed the link (else it accepted it)
	Since  time.Time `json:"since"`  // when the link was adopted
	// RTT is the last heartbeat round trip; 0 until one was measured.
	RTT   time.Duration `json:"rtt_ns"`
	Lanes []LaneInfo    `json:"lanes"`
}

// LaneInfo counts one lane of a link (control, data or large).
type LaneInfo struct {
	Lane           string `json:"lane"`
	BytesSent      uint64 `json:"bytes_sent"`
	BytesReceived  uint64 `json:"bytes_received"`
	FramesSent     uint64 `json:"frames_sent"`
	FramesReceived uint64 `json:"frames_received"`
	Queued         int64  `json:"queued"` // bytes of frames waiting to be written
}

// Links returns this node's links to members (not hidden clients), sorted
// by peer name.
func (n *Node) Links() []LinkInfo {
	n.mu.Lock()
	links := n.memberLinksLocked()
	n.mu.Unlock()
	slices.SortFunc(links, func(a, b *link) int { return strings.Compare(a.peer, b.peer) })
	out := make([]LinkInfo, 0, len(links))
	for _, lk := range links {
		out = append(out, lk.info())
	}
	return out
}

// info describes the link; its counters are read without a lock of the node.
func (lk *link) info() LinkInfo {
	li := LinkInfo{
		Peer:   lk.peer,
		Addr:   lk.c.RemoteAddr().String(),
		Dialed: lk.c.Dialed(),
		Since:  lk.created,
		RTT:    time.Duration(lk.rtt.Load()),
		Lanes:  make([]LaneInfo, 0, conn.Lanes),
	}
	for i, ls := range lk.c.LaneStats() {
		li.Lanes = append(li.Lanes, LaneInfo{
			Lane:           conn.LaneName(uint8(i)),
			BytesSent:      ls.BytesSent,
			BytesReceived:  ls.BytesReceived,
			FramesSent:     ls.FramesSent,
			FramesReceived: ls.FramesReceived,
			Queued:         ls.Queued,
		})
	}
	return li
}

// pong records the round trip of a heartbeat whose pong came back. A pong
// that does not decode, or carries a time that is not in the past, is not
// measured (the peer echoes what this node sent: only a broken peer does
// that, and a pong is no reason to close the link).
func (lk *link) pong(body []byte) {
	var p wire.Pong
	if p.Decode(body) != nil {
		return
	}
	if rtt := time.Now().UnixNano() - int64(p.SentNanos); rtt > 0 && p.SentNanos != 0 {
		lk.rtt.Store(rtt)
	}
}

// counts returns the events published so far by kind name.
func (b *eventBus) counts() map[string]uint64 {
	m := make(map[string]uint64, len(eventKindNames))
	for k := EventNodeUp; int(k) < len(eventKindNames); k++ {
		m[k.String()] = b.kinds[k].Load()
	}
	return m
}

// Stopping reports whether Stop has been called: the node is stopping or
// has stopped. A health probe turns unhealthy from then on, so that a load
// balancer stops sending work while the node says goodbye to its peers.
func (n *Node) Stopping() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopped
}

// Done is closed when the node is stopping: after Stop has unregistered it
// from discovery, as its links close.
func (n *Node) Done() <-chan struct{} { return n.ctx.Done() }
