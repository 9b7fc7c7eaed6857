package mesh

import "time"

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
	// TODO(metrics): fill in.
	return nil
}
