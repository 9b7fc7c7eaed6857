package mesh

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MemberInfo is one member as this node sees it.
type MemberInfo struct {
	Node   string `json:"node"`
	Status Status `json:"status"`
	GUID   GUID   `json:"guid"`
	// Since is when the member entered Status, on this node's clock.
	Since time.Time `json:"-"`
}

// ChangeKind says what an observation did to the member table.
type ChangeKind uint8

const (
	// ChangeNone: the observation changed nothing (a duplicate, the self
	// node, an unknown node or bad input).
	ChangeNone ChangeKind = iota
	// ChangeNew: a node this table did not hold came up; it is now a member.
	ChangeNew
	// ChangeUp: a member came up with no partition: its first link since it
	// was learned from a peer, or a reconnect after it went down while
	// joining, healing or leaving (it dropped its links on purpose).
	ChangeUp
	// ChangeRestart: a member came up with a GUID other than the recorded
	// one. It restarted; that is not a partition, and a partition recorded
	// for it is cleared (Change.PartitionCleared).
	ChangeRestart
	// ChangePartition: a member this node had marked down while it was up
	// came back with the same GUID: both sides kept running apart. The
	// partition stays recorded until clearPartition, a restart or removal.
	ChangePartition
	// ChangeDown: this node lost its link to a member.
	ChangeDown
	// ChangeStatus: a member announced a new status (joining, up, healing,
	// leaving).
	ChangeStatus
	// ChangeRemoved: a member was removed (leave, force-leave, autoclean).
	// The table reports removals as names; the node uses this kind for them.
	ChangeRemoved
	// ChangeLearned: a member was learned from a peer's member table and is
	// recorded as down until this node links to it.
	ChangeLearned
)

var changeNames = [...]string{
	ChangeNone: "none", ChangeNew: "new", ChangeUp: "up", ChangeRestart: "restart",
	ChangePartition: "partition", ChangeDown: "down", ChangeStatus: "status",
	ChangeRemoved: "removed", ChangeLearned: "learned",
}

func (k ChangeKind) String() string {
	if int(k) < len(changeNames) {
		return changeNames[k]
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change describes what one observation did to one member.
type Change struct {
	Kind      ChangeKind
	Node      string
	GUID      GUID   // the member's GUID after the change
	OldGUID   GUID   // the GUID recorded before a restart
	Status    Status // the member's status after the change
	OldStatus Status // the status before the change (0 for a new member)
	// PartitionCleared is set when the change cleared a recorded partition
	// (a restart or a removal).
	PartitionCleared bool
}

// member is one row of the table.
type member struct {
	info MemberInfo
	// linked is true once this node has had a link to the member's current
	// incarnation. A member learned from a peer is not linked, so its first
	// link is not mistaken for a reconnect.
	linked bool
	// downFrom is the status the member had when this node marked it down.
	downFrom Status
	// partitioned records a partition with the member until cleared.
	partitioned bool
}

// memberTable is this node's member table: pure decision logic fed with
// observations and the time they happened. It does no I/O, reads no clock
// and is not safe for concurrent use; the node serialises access.
//
// Rules:
//   - The self node is always a member, up (or the status it announced), with
//     its own GUID. It never goes down and is never removed or overwritten.
//   - A link lost marks a member down; the member stays until removed.
//   - A link made with a GUID other than the recorded one is a restart.
//   - A link made with the recorded GUID to a member this node had marked
//     down while it was up is a partition (DESIGN.md): recorded until cleared.
//     A member that went down while joining, healing or leaving dropped its
//     links on purpose, so its return is no partition.
//   - Members learned from a peer (merge) are added as down until this node
//     links to them: Info then shows what this node can actually reach, the
//     redial loop connects to them like any down member, and autoclean drops
//     those that never answer.
type memberTable struct {
	self    string
	members map[string]*member
}

func newMemberTable(self string, selfGUID GUID, now time.Time) *memberTable {
	t := &memberTable{self: self, members: make(map[string]*member)}
	t.members[self] = &member{
		info:   MemberInfo{Node: self, Status: StatusUp, GUID: selfGUID, Since: now},
		linked: true,
	}
	return t
}

// observeUp records that this node has a link to node, whose handshake gave
// guid.
func (t *memberTable) observeUp(node string, guid GUID, now time.Time) Change {
	if node == t.self || guid.IsZero() || !validNodeName(node) {
		return Change{Kind: ChangeNone, Node: node}
	}
	m, ok := t.members[node]
	if !ok {
		t.members[node] = &member{
			info:   MemberInfo{Node: node, Status: StatusUp, GUID: guid, Since: now},
			linked: true,
		}
		return Change{Kind: ChangeNew, Node: node, GUID: guid, Status: StatusUp}
	}
	c := Change{Node: node, GUID: guid, OldStatus: m.info.Status, Status: StatusUp}
	switch {
	case !m.linked:
		c.Kind = ChangeUp
		if m.info.GUID != guid && !m.info.GUID.IsZero() {
			c.OldGUID = m.info.GUID
		}
	case m.info.GUID != guid:
		c.Kind = ChangeRestart
		c.OldGUID = m.info.GUID
		c.PartitionCleared = m.partitioned
		m.partitioned = false
	case m.info.Status != StatusDown:
		return Change{Kind: ChangeNone, Node: node, GUID: guid, Status: m.info.Status, OldStatus: m.info.Status}
	case m.downFrom == StatusUp:
		c.Kind = ChangePartition
		m.partitioned = true
	default:
		c.Kind = ChangeUp
	}
	m.info.GUID = guid
	m.info.Status = StatusUp
	m.info.Since = now
	m.linked = true
	m.downFrom = 0
	return c
}

// observeDown records that this node lost its link to node (a connection
// error or a heartbeat timeout). Members already down stay as they are.
func (t *memberTable) observeDown(node string, now time.Time) Change {
	m, ok := t.members[node]
	if !ok || node == t.self || m.info.Status == StatusDown {
		return Change{Kind: ChangeNone, Node: node}
	}
	c := Change{Kind: ChangeDown, Node: node, GUID: m.info.GUID, OldStatus: m.info.Status, Status: StatusDown}
	m.downFrom = m.info.Status
	m.info.Status = StatusDown
	m.info.Since = now
	return c
}

// setStatus records a status a member announced (joining, up, healing,
// leaving). StatusDown is observeDown. A member this node has no link to
// keeps its down status: it comes back through observeUp. Unknown nodes and
// undefined statuses change nothing.
func (t *memberTable) setStatus(node string, s Status, now time.Time) Change {
	if s == StatusDown {
		return t.observeDown(node, now)
	}
	m, ok := t.members[node]
	if !ok || !s.Valid() || m.info.Status == StatusDown || m.info.Status == s {
		return Change{Kind: ChangeNone, Node: node}
	}
	c := Change{Kind: ChangeStatus, Node: node, GUID: m.info.GUID, OldStatus: m.info.Status, Status: s}
	m.info.Status = s
	m.info.Since = now
	return c
}

// remove deletes node from the table (leave, force-leave) with any partition
// recorded for it. The self node cannot be removed.
func (t *memberTable) remove(node string) bool {
	if node == t.self {
		return false
	}
	if _, ok := t.members[node]; !ok {
		return false
	}
	delete(t.members, node)
	return true
}

// merge folds in a peer's member table. Local knowledge wins: a member this
// node has linked to keeps its status and GUID (this node's link is the
// authority on both, and taking a peer's GUID would disguise a restart or a
// partition). Unknown members are added as down until linked
// (ChangeLearned); a member learned earlier but never linked takes a newer
// GUID. Rows for self, with a bad name or with an undefined status are
// ignored. merge returns the changes it made.
func (t *memberTable) merge(entries []MemberInfo, now time.Time) []Change {
	var changes []Change
	for _, e := range entries {
		if e.Node == t.self || !validNodeName(e.Node) || !e.Status.Valid() {
			continue
		}
		m, ok := t.members[e.Node]
		if !ok {
			t.members[e.Node] = &member{info: MemberInfo{Node: e.Node, Status: StatusDown, GUID: e.GUID, Since: now}}
			changes = append(changes, Change{Kind: ChangeLearned, Node: e.Node, GUID: e.GUID, Status: StatusDown})
			continue
		}
		if !m.linked && !e.GUID.IsZero() && (m.info.GUID.IsZero() || e.GUID.Compare(m.info.GUID) > 0) {
			m.info.GUID = e.GUID
		}
	}
	return changes
}

// autoclean removes the members that have been down for longer than after
// and returns their names, sorted. after <= 0 disables it. The self node and
// members that are not down are never removed.
func (t *memberTable) autoclean(now time.Time, after time.Duration) []string {
	if after <= 0 {
		return nil
	}
	var removed []string
	for name, m := range t.members {
		if name != t.self && m.info.Status == StatusDown && now.Sub(m.info.Since) > after {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	for _, name := range removed {
		delete(t.members, name)
	}
	return removed
}

// snapshot returns every member, sorted by name.
func (t *memberTable) snapshot() []MemberInfo {
	out := make([]MemberInfo, 0, len(t.members))
	for _, m := range t.members {
		out = append(out, m.info)
	}
	slices.SortFunc(out, func(a, b MemberInfo) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// get returns one member.
func (t *memberTable) get(node string) (MemberInfo, bool) {
	m, ok := t.members[node]
	if !ok {
		return MemberInfo{}, false
	}
	return m.info, true
}

// partitions returns the members with a recorded partition, sorted.
func (t *memberTable) partitions() []string {
	out := []string{}
	for name, m := range t.members {
		if m.partitioned {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// clearPartition forgets the partition recorded for node (healed, or cleared
// by an operator) and reports whether there was one.
func (t *memberTable) clearPartition(node string) bool {
	m, ok := t.members[node]
	if !ok || !m.partitioned {
		return false
	}
	m.partitioned = false
	return true
}

// validNodeName reports whether name has the shape short@host: exactly one
// '@', a short name of [A-Za-z0-9_.-] and a host without spaces or control
// characters. portmap owns the full rule (ports, IP literals); this is the
// shape check the member table and autocluster need to reject garbage.
func validNodeName(name string) bool {
	short, host, ok := strings.Cut(name, "@")
	if !ok || short == "" || host == "" || strings.Contains(host, "@") {
		return false
	}
	for _, r := range short {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
