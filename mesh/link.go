package mesh

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// link is this node's side of one connection to a peer (a member or a
// hidden client): the calls waiting for replies on it, the ordered cast
// queue, and the time something was last heard from the peer.
type link struct {
	n      *Node
	c      *conn.Conn
	peer   string
	guid   GUID
	hidden bool

	created time.Time // when the link was adopted: heard counts from it
	nextID  atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan callResult
	closed  bool

	// casts run in arrival order on one goroutine per link, so a slow cast
	// handler delays later casts from the same peer but never the link's
	// reader (until the queue is full, which pushes back on the sender).
	casts *castQueue

	// ctx is cancelled when the link closes; handler contexts derive from it.
	ctx    context.Context
	cancel context.CancelFunc

	downReason string // set by the maintainer before it closes a silent link

	// active counts the peer's calls whose handlers are running.
	active atomic.Int64
	// serving bounds the peer's calls served at once (limits.go).
	serving servingGate
	// services bounds the peer's service messages served at once, apart
	// from its calls: the control lane's reader waits at this gate, and
	// must never wait behind the calls of the data lanes (service.go).
	services servingGate
	// rtt is the last heartbeat round trip in ns, 0 before one (observe.go).
	rtt atomic.Int64
}

// idle reports whether nothing is in flight on the link: no call of ours
// waiting for a reply and no handler running for a call of the peer's.
func (lk *link) idle() bool {
	lk.mu.Lock()
	waiting := len(lk.pending)
	lk.mu.Unlock()
	return waiting == 0 && lk.active.Load() == 0
}

type callResult struct {
	payload []byte
	err     error
	typ     wire.Type // the answer's type, for a service request
}

type castMsg struct {
	entry   handlerEntry
	payload []byte
	body    []byte // the buffer payload lies in, when the connection gave it to us
}

func newLink(n *Node, c *conn.Conn) *link {
	p := c.Peer()
	lk := &link{
		n:       n,
		c:       c,
		peer:    p.Name,
		guid:    GUID(p.GUID),
		hidden:  p.Hidden,
		pending: make(map[uint64]chan callResult),
		casts:   newCastQueue(n.cfg.castQueueMax()),
	}
	lk.serving.maxCalls, lk.serving.maxBytes = n.cfg.servingMax()
	lk.services.maxCalls, lk.services.maxBytes = n.cfg.servingMax()
	lk.ctx, lk.cancel = context.WithCancel(callerContext(n.ctx, p.Hidden, p.Name, c.RemoteAddr()))
	lk.created = time.Now()
	return lk
}

// heard is when something was last heard from the peer: the last read on
// the link's connection, or the link's adoption if later.
func (lk *link) heard() time.Time {
	if t := lk.c.LastRead(); t.After(lk.created) {
		return t
	}
	return lk.created
}

// start begins reading and the cast runner. The caller has added 2 to n.wg
// (for the cast runner and watch).
func (lk *link) start() {
	lk.n.stats.linkStarted(lk)
	lk.c.Start(lk.onFrame)
	go lk.runCasts()
}

// watch waits for the connection to close, then fails the calls waiting on
// it and tells the node.
func (lk *link) watch() {
	defer lk.n.wg.Done()
	<-lk.c.Closed()
	lk.cancel()
	lk.mu.Lock()
	lk.closed = true
	pending := lk.pending
	lk.pending = nil
	lk.mu.Unlock()
	for _, ch := range pending {
		ch <- callResult{err: ErrNodeDown}
	}
	lk.n.linkDown(lk)
	<-lk.c.Done()
	lk.n.stats.linkDone(lk)
}

func (lk *link) runCasts() {
	defer lk.n.wg.Done()
	for {
		batch := lk.casts.take(lk.ctx)
		if batch == nil {
			return
		}
		for _, m := range batch {
			if lk.ctx.Err() != nil {
				return
			}
			lk.n.runCast(lk, m)
		}
	}
}

// onFrame dispatches every message of the link; it runs on the lane's
// reader goroutine and must not block for long.
func (lk *link) onFrame(c *conn.Conn, h wire.Header, body []byte, owned bool) {
	n := lk.n
	switch h.Type {
	case wire.TypeCall:
		n.serveCall(lk, h.ID, body, owned)
	case wire.TypeReply:
		lk.deliver(h.ID, callResult{payload: keep(body, owned)})
	case wire.TypeErrorReply:
		re, err := decodeErrorReply(lk.peer, body)
		if err != nil {
			lk.protocolError(err)
			return
		}
		lk.deliver(h.ID, callResult{err: re})
	case wire.TypeCast:
		var m wire.Cast
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		n.stats.castsReceived.Add(1)
		e := n.handlers.entryOf(m.Method)
		if e.h == nil {
			n.stats.castsDropped.Add(1)
			n.log.Debug("cast for a method without handler dropped", "method", string(m.Method), "from", lk.peer)
			return
		}
		msg := castMsg{entry: e, payload: keep(m.Payload, owned)}
		if owned {
			msg.body = body
		}
		lk.casts.push(lk.ctx, msg)
	case wire.TypePing:
		var p wire.Ping
		if err := p.Decode(body); err != nil {
			lk.protocolError(err) // PROTOCOL.md 6.3: a Ping body is one u64
			return
		}
		var b [8]byte
		lk.c.Send(lk.ctx, wire.TypePong, h.ID, (&wire.Pong{SentNanos: p.SentNanos}).Append(b[:0]), nil)
	case wire.TypePong:
		lk.pong(body)
	case wire.TypeMemberTable, wire.TypeJoin, wire.TypeLeave, wire.TypeForceLeave, wire.TypeMemberStatus, wire.TypeMemberServices, wire.TypeMemberVersion, wire.TypeMemberTags, wire.TypeMemberSuspended:
		if lk.hidden {
			// A control client is no member: it changes membership through
			// the built-in methods (MethodJoin, ...), which act as this
			// node, never by announcing members or statuses itself.
			n.log.Debug("membership message from a hidden client ignored", "type", h.Type.String(), "from", lk.peer)
			return
		}
		lk.onMembership(h.Type, body)
	default:
		// Partition, autoheal and lock messages: the services built on the
		// node registered for them (service.go).
		switch {
		case h.Type.IsAnswer():
			lk.deliver(h.ID, callResult{payload: keep(body, owned), typ: h.Type})
		case h.Type.IsService():
			n.serveMessage(lk, h, body, owned)
		}
	}
}

// onMembership handles a membership message from a member (never from a
// hidden client: onFrame drops those).
func (lk *link) onMembership(t wire.Type, body []byte) {
	n := lk.n
	switch t {
	case wire.TypeMemberTable:
		var mt wire.MemberTable
		if err := mt.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		n.mergeTable(lk.peer, &mt)
	case wire.TypeJoin:
		var m wire.Join
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		n.learnJoin(lk.peer, string(m.Node), GUID(m.GUID))
	case wire.TypeLeave:
		var m wire.Leave
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		if string(m.Node) == lk.peer {
			n.memberLeft(lk.peer, GUID(m.GUID))
		}
	case wire.TypeForceLeave:
		var m wire.ForceLeave
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		node := string(m.Node)
		if node == n.cfg.Name {
			go n.forcedOut(string(m.By))
		} else {
			go n.removeMember(node, "forced out by "+string(m.By))
		}
	case wire.TypeMemberStatus:
		var m wire.MemberStatus
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		if string(m.Node) == lk.peer && GUID(m.GUID) == lk.guid {
			n.memberStatus(lk.peer, Status(m.Status))
		}
	case wire.TypeMemberServices:
		var m wire.MemberServices
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		if string(m.Node) == lk.peer && GUID(m.GUID) == lk.guid {
			n.memberServices(lk, &m)
		}
	case wire.TypeMemberVersion:
		var m wire.MemberVersion
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		if string(m.Node) == lk.peer && GUID(m.GUID) == lk.guid {
			n.memberVersion(lk, &m)
		}
	case wire.TypeMemberTags:
		var m wire.MemberTags
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		if string(m.Node) == lk.peer && GUID(m.GUID) == lk.guid {
			n.memberTags(lk, &m)
		}
	case wire.TypeMemberSuspended:
		var m wire.MemberSuspended
		if err := m.Decode(body); err != nil {
			lk.protocolError(err)
			return
		}
		if string(m.Node) == lk.peer && GUID(m.GUID) == lk.guid {
			n.memberSuspended(lk, &m)
		}
	}
}

func (lk *link) protocolError(err error) {
	lk.n.log.Warn("malformed message from peer; closing the link", "peer", lk.peer, "err", err)
	lk.c.Close(frameCode(err), err.Error())
}

func (lk *link) deliver(id uint64, r callResult) {
	lk.mu.Lock()
	ch := lk.pending[id]
	delete(lk.pending, id)
	lk.mu.Unlock()
	if ch != nil {
		ch <- r // buffered: never blocks
	}
}

// register files a call waiting for its reply.
func (lk *link) register(id uint64, ch chan callResult) bool {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.closed {
		return false
	}
	lk.pending[id] = ch
	return true
}

func (lk *link) forget(id uint64) {
	lk.mu.Lock()
	delete(lk.pending, id)
	lk.mu.Unlock()
}

func (lk *link) ping(now time.Time) {
	p := wire.Ping{SentNanos: uint64(now.UnixNano())}
	var b [8]byte
	lk.c.Send(lk.ctx, wire.TypePing, lk.nextID.Add(1), p.Append(b[:0]), nil)
	lk.n.stats.beatsSent.Add(1)
}

// sendMemberTable sends this node's member table to the peer, so that a
// joining node learns every member and connects to all of them.
func (lk *link) sendMemberTable() {
	n := lk.n
	n.mu.Lock()
	snap := n.table.snapshot()
	n.mu.Unlock()
	mt := wire.MemberTable{Members: make([]wire.MemberEntry, 0, len(snap))}
	for _, m := range snap {
		if m.Node == lk.peer {
			continue
		}
		mt.Members = append(mt.Members, wire.MemberEntry{
			Name: []byte(m.Node), GUID: m.GUID, Status: wire.Status(m.Status),
			SinceMillis: uint64(m.Since.UnixMilli()),
		})
	}
	body, err := wire.AppendValid(nil, &mt)
	if err != nil {
		// MaxMembers keeps the table within what the message can carry;
		// never send a table the peer would reject as malformed.
		n.log.Error("member table not sent: it does not fit its message", "peer", lk.peer, "members", len(mt.Members), "err", err)
		return
	}
	lk.c.Send(lk.ctx, wire.TypeMemberTable, 0, body, nil)
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	return append([]byte(nil), b...)
}

// keep returns a payload the handler may keep: b itself when the
// connection read it into a buffer of its own (owned), else a copy.
func keep(b []byte, owned bool) []byte {
	if owned && len(b) > 0 {
		return b
	}
	return clone(b)
}
