package mesh

// Membership operations: joining, leaving, forcing out, removing members,
// learning members from peers, and turning member-table changes into
// events.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// applyChangeLocked turns a member-table change into events.
func (n *Node) applyChangeLocked(ch change, reason string) {
	switch ch.Kind {
	case changeNew, changeUp:
		n.publishLocked(EventNodeUp, ch.Node, ch.GUID, reason)
	case changeRestart:
		if ch.PartitionCleared {
			n.publishLocked(EventPartitionHealed, ch.Node, ch.GUID, "member restarted")
		}
		n.publishLocked(EventNodeUp, ch.Node, ch.GUID, "restarted (new GUID)")
	case changePartition:
		n.publishLocked(EventNodeUp, ch.Node, ch.GUID, reason)
		n.publishLocked(EventPartitionOccurred, ch.Node, ch.GUID, "reconnected to a member that was down with the same GUID: both sides ran apart")
	case changeDown:
		n.publishLocked(EventNodeDown, ch.Node, ch.GUID, reason)
	case changeStatus:
		switch ch.Status {
		case StatusJoining:
			n.publishLocked(EventNodeJoining, ch.Node, ch.GUID, reason)
		case StatusLeaving:
			n.publishLocked(EventNodeLeaving, ch.Node, ch.GUID, reason)
		case StatusHealing:
			n.publishLocked(EventNodeHealing, ch.Node, ch.GUID, reason)
		case StatusUp:
			n.publishLocked(EventNodeUp, ch.Node, ch.GUID, reason)
		}
	}
}

// Join links this node to node and, through node's member table, to every
// member of its cluster. It returns once the link to node is up.
//
// Joining a node this node is linked to returns an error that matches
// ErrAlreadyInCluster (ekka's {error, {already_in_cluster, Node}}): node
// runs in this node's cluster already. Joining a member this node records
// down dials it like any other node. When this node records a partition
// with node, Join heals that partition by hand instead, the way autoheal
// heals a victim: this node rejoins node's cluster (Rejoin) and announces
// itself up again. Run it on each node of the side that gives way.
func (n *Node) Join(ctx context.Context, node string) error {
	if err := n.singletonJoin(node); err != nil {
		return err
	}
	if node == n.cfg.Name {
		return fmt.Errorf("mesh: node %s cannot join itself", node)
	}
	if _, err := parseName(node); err != nil {
		return &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if n.linkset.current[node] != nil {
		partitioned := slices.Contains(n.table.partitions(), node)
		n.mu.Unlock()
		if partitioned {
			return n.healByJoin(ctx, node)
		}
		return &NodeError{Node: node, Op: "join", Err: fmt.Errorf("%w: %s runs with it already, there is nothing to join (to join another cluster, leave this one first)", ErrAlreadyInCluster, n.cfg.Name)}
	}
	n.mu.Unlock()
	n.setSelfStatus(StatusJoining)
	defer n.setSelfStatus(StatusUp)
	if err := n.runHook(ctx, HookJoin, "Join", node); err != nil {
		return err // hooks.go: a Join hook's error aborts the join
	}
	n.mu.Lock()
	switch {
	case n.stopped:
		n.mu.Unlock()
		return ErrStopped
	case n.linkset.current[node] != nil: // node linked to this one meanwhile
		n.mu.Unlock()
		return nil
	}
	w := make(chan struct{})
	n.joinWait[node] = append(n.joinWait[node], w)
	clear(n.leftFrom)
	n.mu.Unlock()
	return n.awaitJoin(ctx, node, w)
}

// awaitJoin dials node until the link to it is up (w, registered in
// joinWait, is closed) or ctx ends.
func (n *Node) awaitJoin(ctx context.Context, node string, w chan struct{}) error {
	for attempt := 0; ; attempt++ {
		err := n.dial(ctx, node)
		select {
		case <-w:
			return nil
		default:
		}
		if err != nil {
			if errors.Is(err, ErrUnknownNode) || errors.Is(err, ErrBadCookie) || errors.Is(err, ErrWrongCluster) || errors.Is(err, ErrWrongNode) || refusedByPeer(err) || ctx.Err() != nil {
				return &NodeError{Node: node, Op: "join", Err: dialCause(node, err)}
			}
		}
		select {
		case <-w:
			return nil
		case <-ctx.Done():
			cause := ctx.Err()
			if err != nil {
				// The last dial's error says why the waiting was in vain.
				cause = errors.Join(cause, dialCause(node, err))
			}
			return &NodeError{Node: node, Op: "join", Err: cause}
		case <-n.ctx.Done():
			return ErrStopped
		case <-time.After(n.cfg.Redial.Delay(attempt, rand.Float64)):
		}
	}
}

// dialCause is the cause of a failed dial of node: the error without the
// *NodeError that names node, for an error that names it already.
func dialCause(node string, err error) error {
	if ne, ok := err.(*NodeError); ok && ne.Node == node && ne.Op == "" {
		return ne.Err
	}
	return err
}

// memberLinksLocked returns the current links to members.
func (n *Node) memberLinksLocked() []*link { return slices.Collect(maps.Values(n.linkset.current)) }

// forgetClusterLocked drops every member link, the member table and the
// redial state, for a node that leaves or is forced out (left: its members
// are recorded in leftFrom) or gives way to heal (it rejoins: leftFrom is
// cleared). It returns the dropped links for the caller to close once n.mu
// is released.
func (n *Node) forgetClusterLocked(left bool) []*link {
	if left {
		if n.leftFrom == nil {
			n.leftFrom = make(map[string]struct{})
		}
		for _, m := range n.table.snapshot() {
			if m.Node != n.cfg.Name {
				n.leftFrom[m.Node] = struct{}{}
			}
		}
	} else {
		clear(n.leftFrom)
	}
	links := n.memberLinksLocked()
	clear(n.linkset.current)
	clear(n.redial)
	clear(n.superseded)
	n.table = n.newTable(time.Now())
	return links
}

// newTable returns a fresh member table with this node alone, its limit,
// its services, version and tags.
func (n *Node) newTable(now time.Time) *memberTable {
	t := newMemberTable(n.cfg.Name, n.guid, now)
	t.limit = n.cfg.MaxMembers
	t.setServices(n.cfg.Name, n.guid, n.services)
	t.setVersion(n.cfg.Name, n.guid, n.cfg.Version)
	t.setTags(n.cfg.Name, n.guid, n.tags)
	return t
}

// Leave announces that this node leaves the cluster, drops every link and
// forgets every member. The node keeps running alone and can Join again.
// Until it does, a member of the cluster it left that links to it (one that
// missed the leave, cut off at the time) is told it left, and drops it.
//
// A node with no other member in its table (alone: it never joined, or left
// already) has no cluster to leave: Leave returns an error that matches
// ErrNotInCluster (ekka's {error, node_not_in_cluster}) and changes
// nothing. A node whose members are all down is not alone: it leaves them.
func (n *Node) Leave(ctx context.Context) error {
	n.mu.Lock()
	stopped, alone := n.stopped, len(n.table.members) <= 1
	n.mu.Unlock()
	if alone && !stopped {
		return &NodeError{Node: n.cfg.Name, Op: "leave", Err: fmt.Errorf("%w: it has no other member, there is nothing to leave (join a node to form a cluster)", ErrNotInCluster)}
	}
	n.setSelfStatus(StatusLeaving)
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	n.mu.Unlock()
	// hooks.go: the Leave hook runs with the links up; its error is
	// returned once the node has left.
	hookErr := n.runHook(ctx, HookLeave, "Leave")
	n.mu.Lock()
	links := n.memberLinksLocked()
	n.mu.Unlock()
	m := wire.Leave{Node: []byte(n.cfg.Name), GUID: n.guid}
	if err := tellAll(ctx, links, wire.TypeLeave, m.Append(nil)); err != nil {
		return errors.Join(hookErr, fmt.Errorf("mesh: leave: %w", err))
	}
	n.mu.Lock()
	links = n.forgetClusterLocked(true)
	n.mu.Unlock()
	for _, lk := range links {
		lk.c.Close(wire.CodeShutdown, n.cfg.Name+" left the cluster")
	}
	n.log.Info("left the cluster", "peers", len(links))
	return hookErr
}

// ForceLeave removes node from the cluster everywhere: from this node's
// table, its link closed, and every member told to do the same. A live node
// that is forced out forgets its cluster, as after Leave.
func (n *Node) ForceLeave(ctx context.Context, node string) error {
	if node == n.cfg.Name {
		return fmt.Errorf("mesh: force-leave %s: a node cannot force itself out; use Leave", node)
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if _, ok := n.table.get(node); !ok {
		n.mu.Unlock()
		return &NodeError{Node: node, Err: fmt.Errorf("%w: force-leave: not a member", ErrNotMember)}
	}
	links := n.memberLinksLocked()
	n.mu.Unlock()
	m := wire.ForceLeave{Node: []byte(node), By: []byte(n.cfg.Name)}
	if err := tellAll(ctx, links, wire.TypeForceLeave, m.Append(nil)); err != nil {
		return fmt.Errorf("mesh: force-leave %s: %w", node, err)
	}
	n.removeMember(node, "forced out by "+n.cfg.Name)
	return nil
}

// removeMember drops node from the table and closes its link without a
// down event or a redial. Subscribers see a leaving event with the reason,
// unless the member had already announced it was leaving.
func (n *Node) removeMember(node, reason string) {
	n.mu.Lock()
	lk := n.linkset.current[node]
	delete(n.linkset.current, node)
	delete(n.redial, node)
	m, _ := n.table.get(node)
	removed := n.table.remove(node)
	if removed && m.Status != StatusLeaving {
		n.publishLocked(EventNodeLeaving, node, m.GUID, reason)
	}
	n.mu.Unlock()
	if lk != nil {
		lk.c.Close(wire.CodeRefused, reason)
	}
	if removed {
		n.log.Info("member removed", "member", node, "reason", reason)
	}
}

// forcedOut is called when a peer tells this node it was forced out.
func (n *Node) forcedOut(by string) {
	n.log.Warn("this node was forced out of the cluster", "by", by)
	n.mu.Lock()
	links := n.forgetClusterLocked(true)
	n.mu.Unlock()
	for _, lk := range links {
		lk.c.Close(wire.CodeRefused, n.cfg.Name+" was forced out by "+by)
	}
}

// mergeTable folds a peer's member table into ours and dials the members
// this node did not know.
func (n *Node) mergeTable(from string, mt *wire.MemberTable) {
	entries := make([]MemberInfo, 0, min(len(mt.Members), n.cfg.MaxMembers))
	for _, e := range mt.Members {
		entries = append(entries, MemberInfo{Node: string(e.Name), Status: Status(e.Status), GUID: GUID(e.GUID)})
	}
	n.learnMembers(from, "member table", entries)
}

// learnJoin records a member that a peer announced joined, and dials it.
func (n *Node) learnJoin(from, node string, guid GUID) {
	n.mu.Lock()
	linked := n.linkset.current[node] != nil
	n.mu.Unlock()
	if !linked {
		n.learnMembers(from, "join", []MemberInfo{{Node: node, Status: StatusJoining, GUID: guid}})
	}
}

// dropLogInterval is the least time between two warnings about members
// dropped from what peers announced.
const dropLogInterval = 10 * time.Second

// learnMembers merges what a peer announced (what: "member table", "join")
// within the member cap and the learning budget, schedules a dial of every
// member learned, and warns (at most once per dropLogInterval, with the
// totals) about the members dropped.
func (n *Node) learnMembers(from, what string, entries []MemberInfo) {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return
	}
	now := time.Now()
	changes, drops := n.table.mergeLimited(entries, now, n.learnBudget.available(now))
	learned := 0
	for _, ch := range changes {
		if ch.Kind == changeLearned {
			learned++
			n.redial[ch.Node] = &redialState{next: now}
		}
	}
	n.learnBudget.spend(now, learned)
	dropped, warn := n.dropLog.Note(now, drops.Total())
	n.mu.Unlock()
	if learned > 0 {
		n.log.Debug("learned members from a peer", "from", from, "via", what, "count", learned)
		n.wake()
	}
	if warn {
		n.log.Warn("dropped members announced by peers: member table full or learning too fast",
			"dropped", dropped, "since", dropLogInterval, "last_from", from, "via", what,
			"max_members", n.cfg.MaxMembers, "learn_rate", n.cfg.LearnRate, "learn_burst", n.cfg.LearnBurst)
	}
}
