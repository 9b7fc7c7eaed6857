package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Healing a partition (docs/ARCHITECTURE.md, "How a heal runs") needs three things of a node,
// and any user may use them, not only package autoheal:
//
//   - SetStatus announces the node's own status (joining, up, healing) to
//     every member: peers show it in Info and publish it as an event.
//   - Rejoin makes the node give way: it drops its links and its member
//     table without announcing a leave, rejoins a coordinator's cluster and
//     has every member forget the partition it recorded with this node.
//   - Join on a node this node records a partition with heals by hand: it
//     is Rejoin followed by SetStatus(StatusUp).

// MethodClearPartition is the built-in method Rejoin calls on every member
// once it has rejoined: {"node"}; the member forgets the partition it
// records with node (ClearPartition, with a partition-healed event). A
// member that records none answers all the same.
const MethodClearPartition = reservedPrefix + "clear_partition"

// rejoinPoll is how often Rejoin looks whether it has linked to every
// member the coordinator runs with.
const rejoinPoll = 10 * time.Millisecond

func (n *Node) registerHealBuiltins() {
	n.handlers.set(MethodClearPartition, func(_ context.Context, _ string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			return nil, err
		}
		n.ClearPartition(req.Node)
		return nil, nil
	})
}

// Status returns this node's own status: up unless it announced another
// one with SetStatus, or is joining, healing or leaving.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, _ := n.table.get(n.cfg.Name)
	return m.Status
}

// SetStatus records this node's own status and announces it to every member
// it has a link to: each shows it in Info and publishes node-joining,
// node-up or node-healing. Only joining, up and healing can be announced:
// Leave announces leaving, and down is what peers observe, never announced.
// A member that links to this node later is told the status too when it
// is healing; otherwise it sees the node up until the next SetStatus.
func (n *Node) SetStatus(s Status) error {
	switch s {
	case StatusJoining, StatusUp, StatusHealing:
	default:
		return fmt.Errorf("mesh: SetStatus(%v): want joining, up or healing (Leave announces leaving; down is observed by peers, never announced)", s)
	}
	n.mu.Lock()
	stopped := n.stopped
	n.mu.Unlock()
	if stopped {
		return ErrStopped
	}
	n.setSelfStatus(s)
	return nil
}

// Rejoin makes this node give way after a partition and rejoin the cluster
// of coordinator, in these steps:
//
//  1. It announces StatusHealing, then drops every link to a member and
//     forgets its member table, with the partitions it recorded, without
//     announcing a leave: its peers see it down while healing, so its return
//     is no new partition. Each partition it forgets is published as
//     partition-healed. Hidden links (ekka-mesh ctl) stay.
//  2. It joins coordinator and links to every member coordinator runs with.
//  3. It has each of them forget the partition it recorded with this node
//     (MethodClearPartition: they publish partition-healed), and announces
//     StatusHealing again to the links it made.
//
// The node stays healing when Rejoin returns, so that the application can
// reload its state first; announce SetStatus(StatusUp) then. Rejoin returns
// once every step is done, or an error naming the step and the members that
// were missing, or ctx's error; the node then keeps running with whatever
// links it has, and its peers keep redialing it as they do any down member.
func (n *Node) Rejoin(ctx context.Context, coordinator string) error {
	if coordinator == n.cfg.Name {
		return fmt.Errorf("mesh: rejoin %s: a node cannot rejoin itself; name a member of the cluster to rejoin", coordinator)
	}
	if _, err := parseName(coordinator); err != nil {
		return &NodeError{Node: coordinator, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mesh: rejoin %s: %w", coordinator, err)
	}
	if err := n.SetStatus(StatusHealing); err != nil {
		return err
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	for _, node := range n.table.partitions() {
		m, _ := n.table.get(node)
		n.publishLocked(EventPartitionHealed, node, m.GUID, "healing: this node rejoins the cluster of "+coordinator)
	}
	links := n.forgetClusterLocked(false)
	n.table.setStatus(n.cfg.Name, StatusHealing, time.Now())
	w := make(chan struct{})
	n.joinWait[coordinator] = append(n.joinWait[coordinator], w)
	n.mu.Unlock()
	for _, lk := range links {
		lk.c.Close(wire.CodeShutdown, n.cfg.Name+" is healing: it rejoins the cluster of "+coordinator)
	}
	// Wait for each peer's answer to the goodbye (bounded by the close
	// grace): a peer that still held the old link when the new one came
	// might otherwise keep the old one, then see this node go down.
	for _, lk := range links {
		select {
		case <-lk.c.Closed():
		case <-ctx.Done():
		case <-n.ctx.Done():
		}
	}
	n.log.Info("healing: dropped every link and the member table; rejoining", "coordinator", coordinator, "links", len(links))

	if err := n.awaitJoin(ctx, coordinator, w); err != nil {
		n.forgetJoinWait(coordinator, w)
		return fmt.Errorf("mesh: rejoin %s: %w", coordinator, err)
	}
	running, err := n.runningOf(ctx, coordinator)
	if err != nil {
		return err
	}
	if err := n.awaitLinks(ctx, coordinator, running); err != nil {
		return err
	}
	body, _ := json.Marshal(AdminRequest{Node: n.cfg.Name})
	res := n.Multicall(ctx, running, MethodClearPartition, body)
	n.setSelfStatus(StatusHealing)
	if len(res.Failed) > 0 {
		var why []string
		for _, node := range res.Failed {
			why = append(why, fmt.Sprintf("%s: %v", node, res.Errors[node]))
		}
		return fmt.Errorf("mesh: rejoin %s: rejoined, but %d member(s) could not be told to clear the partition with %s: %s",
			coordinator, len(res.Failed), n.cfg.Name, strings.Join(why, "; "))
	}
	n.log.Info("healing: rejoined; every member cleared its partition with this node", "coordinator", coordinator, "members", len(running)+1)
	return nil
}

// healByJoin is Join on a node this node records a partition with.
func (n *Node) healByJoin(ctx context.Context, node string) error {
	err := n.Rejoin(ctx, node)
	n.setSelfStatus(StatusUp)
	return err
}

// runningOf asks coordinator which nodes it runs with, and returns them
// without this node.
func (n *Node) runningOf(ctx context.Context, coordinator string) ([]string, error) {
	reply, err := n.Call(ctx, coordinator, MethodInfo, nil)
	if err != nil {
		return nil, fmt.Errorf("mesh: rejoin %s: asking it which nodes it runs with: %w", coordinator, err)
	}
	var info Info
	if err := json.Unmarshal(reply, &info); err != nil {
		return nil, fmt.Errorf("mesh: rejoin %s: its info is not the JSON of an Info: %v", coordinator, err)
	}
	return slices.DeleteFunc(info.RunningNodes, func(s string) bool { return s == n.cfg.Name }), nil
}

// awaitLinks waits until this node has a link to each of nodes.
func (n *Node) awaitLinks(ctx context.Context, coordinator string, nodes []string) error {
	t := time.NewTicker(rejoinPoll)
	defer t.Stop()
	for {
		n.mu.Lock()
		var missing []string
		for _, node := range nodes {
			if n.linkset.current[node] == nil {
				missing = append(missing, node)
			}
		}
		stopped := n.stopped
		n.mu.Unlock()
		switch {
		case len(missing) == 0:
			return nil
		case stopped:
			return ErrStopped
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mesh: rejoin %s: joined it, but no link yet to %s, which it runs with: %w", coordinator, strings.Join(missing, ", "), ctx.Err())
		case <-n.ctx.Done():
			return ErrStopped
		case <-t.C:
		}
	}
}

// forgetJoinWait removes a waiter that gave up.
func (n *Node) forgetJoinWait(node string, w chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.joinWait[node] = slices.DeleteFunc(n.joinWait[node], func(c chan struct{}) bool { return c == w })
	if len(n.joinWait[node]) == 0 {
		delete(n.joinWait, node)
	}
}
