package mesh

// The node's side of its links: dialing, adopting a link once it is up
// (acting on linkSet's decision, linkset.go), retiring duplicates, and
// what a closed link means for its member.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// dial opens a link to node unless one exists or a dial is in progress, and
// adopts it. It returns the error of the dial.
func (n *Node) dial(ctx context.Context, node string) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if lk := n.linkset.current[node]; lk != nil {
		n.mu.Unlock()
		return nil
	}
	if n.dialing[node] {
		n.mu.Unlock()
		return nil
	}
	n.dialing[node] = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.dialing, node)
		n.mu.Unlock()
	}()
	addr, err := n.cfg.resolve(node)
	if err != nil {
		return &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.ctx, cancel)
	defer stop()
	c, err := conn.Dial(dctx, n.ccfg, node, addr)
	if err != nil {
		return &NodeError{Node: node, Err: err}
	}
	n.adopt(c)
	return nil
}

// adopt makes an authenticated connection this node's link to its peer, or
// closes it when a better link exists (exactly one link per pair). The
// linkSet decides under n.mu (linkset.go); adopt acts on the decision
// once n.mu is released.
func (n *Node) adopt(c *conn.Conn) {
	p := c.Peer()
	lk := newLink(n, c)
	n.mu.Lock()
	_, left := n.leftFrom[p.Name]
	a := n.linkset.admit(lk, n.stopped, left)
	var up linkUp
	switch a.verdict {
	case admitTellLeft:
		n.wg.Add(1) // sayLeft's wait for the close
	case admitHidden:
		n.wg.Add(2) // the link's cast runner and watch
	case admitRetire:
		n.wg.Add(3) // the link's cast runner and watch, and its retirement
	case admitKeep, admitReplace, admitRestart:
		if a.verdict == admitReplace {
			n.wg.Add(1) // the old link's retirement
		}
		up = n.linkUpLocked(lk)
		if !up.refused {
			n.wg.Add(2)
		}
	}
	n.mu.Unlock()

	switch a.verdict {
	case admitRefuseStopping:
		c.Close(wire.CodeShutdown, "node "+n.cfg.Name+" is stopping")
		return
	case admitRefuseSelf:
		c.Close(wire.CodeRefused, "a node cannot link to itself")
		return
	case admitTellLeft:
		n.sayLeft(c)
		return
	case admitHidden:
		lk.start()
		go lk.watch()
		return
	case admitRetire:
		// The peer may already be sending calls on this link (it may have
		// had no other when it dialed): serve it until it falls idle.
		n.log.Debug("retiring duplicate link", "peer", p.Name)
		n.retire(lk, "a link between "+n.cfg.Name+" and "+p.Name+" already exists")
		lk.start()
		go lk.watch()
		return
	case admitReplace:
		// Calls may be in flight on the old link, both ways: it retires
		// once idle instead of failing them.
		n.retire(a.old, "replaced by a newer link")
	}
	if up.evicted != "" {
		n.log.Info("removed a member never reached to make room in the full member table", "member", up.evicted, "for", p.Name, "max_members", n.cfg.MaxMembers)
	}
	if up.refused {
		reason := fmt.Sprintf("the member table of %s is full (%d members, MaxMembers) and every member has been reached", n.cfg.Name, n.cfg.MaxMembers)
		n.log.Warn("refused a link from a new node: the member table is full", "peer", p.Name, "max_members", n.cfg.MaxMembers)
		c.Close(wire.CodeRefused, reason)
		return
	}
	for _, w := range up.waiters {
		close(w)
	}
	lk.start()
	go lk.watch()
	if a.verdict == admitRestart {
		// The old link led to an earlier incarnation of the peer.
		a.old.c.Close(wire.CodeDuplicateLink, "replaced by a link to the restarted node")
	}
	lk.sendMemberTable()
	n.announceStatusTo(lk)
	n.announceServicesTo(lk)
	n.announceTagsTo(lk)
	n.announceSuspendedTo(lk)
}

// linkUp is what the member table made of a link that came up.
type linkUp struct {
	refused bool            // the table is full: the link is dropped
	evicted string          // the member removed to make room, if any
	waiters []chan struct{} // Joins waiting for this link
}

// linkUpLocked records in the member table that the link lk kept is up,
// publishes the change, and takes the Joins waiting for it. When the table
// refuses the peer (full), the link is dropped from the link set. The
// caller holds n.mu.
func (n *Node) linkUpLocked(lk *link) linkUp {
	ch := n.table.observeUp(lk.peer, lk.guid, time.Now())
	if ch.Kind == changeRefused {
		n.linkset.drop(lk)
		return linkUp{refused: true}
	}
	delete(n.redial, lk.peer)
	delete(n.superseded, lk.peer)
	if ch.Evicted != "" {
		delete(n.redial, ch.Evicted)
		n.publishLocked(EventNodeLeaving, ch.Evicted, GUID{}, "removed to make room for "+lk.peer+": the member table is full and it was never reached")
	}
	n.applyChangeLocked(ch, "link up")
	up := linkUp{evicted: ch.Evicted, waiters: n.joinWait[lk.peer]}
	delete(n.joinWait, lk.peer)
	return up
}

// sayLeft tells the peer of a new link that this node left the cluster
// they shared, then closes the link. The peer adopted the link and would
// otherwise keep this node as a member. It calls n.wg.Done once the
// connection is closed.
func (n *Node) sayLeft(c *conn.Conn) {
	// Read (and ignore) what the peer sends, so the orderly close is not
	// turned into a reset that could swallow the leave.
	c.Start(func(*conn.Conn, wire.Header, []byte, bool) {})
	m := wire.Leave{Node: []byte(n.cfg.Name), GUID: n.guid}
	c.Send(n.ctx, wire.TypeLeave, 0, m.Append(nil), nil)
	c.Close(wire.CodeShutdown, n.cfg.Name+" left the cluster of "+c.Peer().Name)
	n.log.Info("told a member of the cluster this node left that it left", "peer", c.Peer().Name)
	go func() {
		defer n.wg.Done()
		<-c.Done()
	}()
}

// Retiring links: a duplicate link is not closed at once, since calls may be
// in flight on it in either direction; it stops being anyone's choice for
// new calls, and closes once it has been idle (no call of ours waiting, no
// handler of the peer's call running) after drainGrace, or after
// drainLimit whatever.
const (
	drainGrace = 300 * time.Millisecond
	drainLimit = 10 * time.Second
)

// retire closes lk, which the link set has taken out of service, once it
// is idle. The caller added one to n.wg for it under n.mu.
func (n *Node) retire(lk *link, reason string) {
	go func() {
		defer n.wg.Done()
		start := time.Now()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-lk.c.Closed():
				return
			case <-n.ctx.Done():
				return
			case now := <-t.C:
				if now.Sub(start) >= drainGrace && lk.idle() || now.Sub(start) >= drainLimit {
					lk.c.Close(wire.CodeDuplicateLink, reason)
					return
				}
			}
		}
	}()
}

// linkDown is called once a link's connection has closed. The link set
// decides what the close means (linkset.go: decideDown).
func (n *Node) linkDown(lk *link) {
	superseded := supersededByPeer(lk.c.Err())
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.linkset.down(lk, n.stopped, superseded) {
	case downSuperseded:
		// The peer keeps another link to this node, not adopted yet: the
		// member stays up unless that link fails to come within the
		// handshake timeout (collectMaintenance).
		n.superseded[lk.peer] = time.Now()
	case downLost:
		reason := "connection closed"
		if err := lk.c.Err(); err != nil && !errors.Is(err, conn.ErrClosed) {
			reason = err.Error()
		} else if lk.downReason != "" {
			reason = lk.downReason
		}
		ch := n.table.observeDown(lk.peer, time.Now())
		n.applyChangeLocked(ch, reason)
		if _, ok := n.table.get(lk.peer); ok {
			n.scheduleRedialLocked(lk.peer, 0)
		}
	}
}

// supersededByPeer reports whether a link's error is the peer's goodbye for
// a duplicate link.
func supersededByPeer(err error) bool {
	var pc *conn.PeerClosedError
	return errors.As(err, &pc) && pc.Code == wire.CodeDuplicateLink
}

// linkFactsOf is what link admission knows of lk.
func linkFactsOf(lk *link) linkFacts {
	return linkFacts{peer: lk.peer, guid: lk.guid, hidden: lk.hidden, dialed: lk.c.Dialed(), closed: lk.c.Err() != nil}
}

func (n *Node) scheduleRedialLocked(node string, attempt int) {
	d := n.cfg.Redial.Delay(attempt, rand.Float64)
	n.redial[node] = &redialState{attempt: attempt, next: time.Now().Add(d)}
	n.wake()
}

func (n *Node) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}
