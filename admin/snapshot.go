package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// Snapshot is what the status page shows: /snapshot serves one, /events
// streams them. Lists are never null.
type Snapshot struct {
	Time time.Time `json:"time"`
	// Info is the node's view of the cluster, as /status serves it.
	Info mesh.Info `json:"info"`
	// Status is this node's own status.
	Status mesh.Status `json:"status"`
	// Stopped is set once the node stopped; the stream ends after it.
	Stopped bool `json:"stopped"`
	// Ready is what /readyz answers.
	Ready Readiness `json:"ready"`
	// Links are this node's links to members, as it sees them.
	Links []mesh.LinkInfo `json:"links"`
	// Locker says whether the node runs the lock service; Locks are the
	// locks held in its table.
	Locker bool              `json:"locker"`
	Locks  []locker.HeldLock `json:"locks"`
	// Autoheal is what autoheal does; null when autoheal is off.
	Autoheal *autoheal.Status `json:"autoheal"`
	// SplitBrain is what the split-brain resolver decided; absent without
	// one (autoheal is the strategy then).
	SplitBrain *splitbrain.Status `json:"split_brain,omitempty"`
	// Event is the membership event that made this snapshot, if one did.
	Event *Event `json:"event,omitempty"`
}

// Event is a membership event in a Snapshot.
type Event struct {
	Kind   string    `json:"kind"` // node-up, node-down, partition-occurred...
	Node   string    `json:"node"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
	Seq    uint64    `json:"seq"`
}

func (h *handler) buildSnapshot(ev *mesh.Event) Snapshot {
	s := Snapshot{
		Time:   time.Now().UTC(),
		Info:   h.node.Info(),
		Status: h.node.Status(),
		Links:  h.node.Links(),
		Locker: h.locker != nil,
		Locks:  []locker.HeldLock{},
	}
	s.Ready = h.readiness()
	s.Stopped = h.node.Stopping()
	if s.Links == nil {
		s.Links = []mesh.LinkInfo{}
	}
	if h.locker != nil {
		if held := h.locker.Held(); held != nil {
			s.Locks = held
		}
	}
	if h.heal != nil {
		st := h.heal.Status()
		if st.Partitions == nil {
			st.Partitions = []string{}
		}
		s.Autoheal = &st
	}
	if h.split != nil {
		st := h.split.Status()
		s.SplitBrain = &st
	}
	if ev != nil {
		s.Event = &Event{Kind: ev.Kind.String(), Node: ev.Node, Reason: ev.Reason, Time: ev.Time.UTC(), Seq: ev.Seq}
	}
	return s
}

func (h *handler) snapshot(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, h.buildSnapshot(nil))
}

// writeTimeout bounds each write of an event stream: a client that stops
// reading loses its stream rather than holding a goroutine.
const writeTimeout = 10 * time.Second

// events streams snapshots as server-sent events: one at once, one every
// interval, and one after every membership event (a burst of events makes
// one snapshot). It returns when the client goes, the request's context
// ends, a write fails or the node stops (after a last snapshot saying so).
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	sub := h.node.Subscribe()
	defer sub.Close()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // a proxy in front must not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	send := func(ev *mesh.Event) bool {
		s := h.buildSnapshot(ev)
		b, err := json.Marshal(s)
		if err != nil {
			h.log.Error("admin: encoding a snapshot", "err", err)
			return false
		}
		rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // not every ResponseWriter supports it
		if _, err := w.Write(append(append([]byte("event: snapshot\ndata: "), b...), '\n', '\n')); err != nil {
			return false
		}
		if err := rc.Flush(); err != nil {
			return false
		}
		return !s.Stopped
	}
	// Retry after 2 s when the stream breaks (the browser's default is 3 s).
	w.Write([]byte("retry: 2000\n\n"))
	if !send(nil) {
		return
	}
	tick := time.NewTicker(h.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.node.Done(): // the node is stopping: say so and end
			send(nil)
			return
		case ev, open := <-sub.C():
			if !open { // the node stopped
				send(nil)
				return
			}
			// Take whatever else is queued now, and report the last.
			for more := true; more; {
				select {
				case next, ok := <-sub.C():
					if !ok {
						send(nil)
						return
					}
					ev = next
				default:
					more = false
				}
			}
			if !send(&ev) {
				return
			}
		case <-tick.C:
			if !send(nil) {
				return
			}
		}
	}
}
