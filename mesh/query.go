package mesh

// Per-node queries in ekka's words: ekka_cluster:status/1 (ClusterStatus,
// Report), ekka:is_member/1 (IsMember) and ekka:nodelist/0,1 (NodeList).
// Each answers from this node's member table, as Info does.

import (
	"fmt"
	"slices"
	"time"
)

// NodeStatus is where a node stands in this node's cluster, as ekka's
// ekka_cluster:status/1 answers it: running, stopped or not a member
// (ekka's false). It is coarser than a member's Status: running is every
// member this node has a link to (joining, up, healing or leaving, as
// Info.RunningNodes lists them) and stopped is a member it records down
// (Info.StoppedNodes).
type NodeStatus uint8

const (
	// NodeNotMember: the node is not in this node's member table (ekka's
	// false). The zero value.
	NodeNotMember NodeStatus = iota
	// NodeRunning: a member this node has a link to, or this node itself.
	NodeRunning
	// NodeStopped: a member this node records down: it has no link to it.
	NodeStopped
)

var nodeStatusNames = [...]string{
	NodeNotMember: "not a member",
	NodeRunning:   "running",
	NodeStopped:   "stopped",
}

func (s NodeStatus) String() string {
	if int(s) < len(nodeStatusNames) {
		return nodeStatusNames[s]
	}
	return fmt.Sprintf("node-status(%d)", uint8(s))
}

// ParseNodeStatus parses the name String returns.
func ParseNodeStatus(name string) (NodeStatus, error) {
	if i := slices.Index(nodeStatusNames[:], name); i >= 0 {
		return NodeStatus(i), nil
	}
	return 0, fmt.Errorf("mesh: node status %q: want one of running, stopped, not a member", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s NodeStatus) MarshalText() ([]byte, error) {
	if int(s) >= len(nodeStatusNames) {
		return nil, fmt.Errorf("mesh: node status %d: want 0..%d (not a member, running, stopped)", uint8(s), len(nodeStatusNames)-1)
	}
	return []byte(nodeStatusNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *NodeStatus) UnmarshalText(b []byte) error {
	p, err := ParseNodeStatus(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// nodeStatusOf is the NodeStatus of a member table entry (ok: there is one).
func nodeStatusOf(m MemberInfo, ok bool) NodeStatus {
	switch {
	case !ok:
		return NodeNotMember
	case m.Status == StatusDown:
		return NodeStopped
	}
	return NodeRunning
}

// ClusterStatus returns where node stands in this node's cluster: running,
// stopped or not a member, like ekka_cluster:status(Node). This node itself
// is always running.
func (n *Node) ClusterStatus(node string) NodeStatus {
	return nodeStatusOf(n.Member(node))
}

// IsMember reports whether node is in this node's member table, whatever
// its status (down included), like ekka:is_member(Node). This node is a
// member of its own cluster.
func (n *Node) IsMember(node string) bool {
	_, ok := n.Member(node)
	return ok
}

// NodeList returns the members whose status is one of statuses, sorted by
// name, this node included; with no statuses, every member. It is ekka's
// nodelist() and nodelist(up | down): NodeList(StatusUp) and
// NodeList(StatusDown). ekka-mesh has more statuses than ekka's up and
// down (joining, healing, leaving): name them too to count them, or use
// Info's RunningNodes and StoppedNodes for ekka's running and stopped.
func (n *Node) NodeList(statuses ...Status) []string {
	out := []string{}
	for _, m := range n.Members() {
		if len(statuses) == 0 || slices.Contains(statuses, m.Status) {
			out = append(out, m.Node)
		}
	}
	return out
}

// NodeReport is what a node knows of one node: its NodeStatus and, for a
// member, its entry in the member table. It is the answer of Report and of
// the built-in method MethodStatus (ekka-mesh ctl status NODE).
type NodeReport struct {
	// Node is the node asked about.
	Node string `json:"node"`
	// SeenFrom is the node that answered: the report is its view.
	SeenFrom string `json:"seen_from"`
	// Status is running, stopped or not a member.
	Status NodeStatus `json:"status"`
	// The member's entry (MemberInfo), absent when Node is not a member:
	// its member status (joining, up, healing, leaving, down), GUID, since
	// when it has that status on SeenFrom's clock, version and services.
	MemberStatus Status    `json:"member_status,omitempty"`
	GUID         GUID      `json:"guid,omitzero"`
	Since        time.Time `json:"since,omitzero"`
	Version      string    `json:"version,omitempty"`
	Services     []string  `json:"services,omitempty"`
	// Tags are the member's tags (MemberInfo.Tags), a copy.
	Tags map[string]string `json:"tags,omitempty"`
	// Partitioned is set when SeenFrom records a partition with Node.
	Partitioned bool `json:"partitioned,omitempty"`
	// Suspended is why Node stopped serving (MemberInfo.Suspended); ""
	// while it serves.
	Suspended string `json:"suspended,omitempty"`
}

// Report returns what this node knows of node: ClusterStatus and, for a
// member, its entry in the member table, read at one moment.
func (n *Node) Report(node string) NodeReport {
	n.mu.Lock()
	m, ok := n.table.get(node)
	partitioned := ok && slices.Contains(n.table.partitions(), node)
	n.mu.Unlock()
	r := NodeReport{Node: node, SeenFrom: n.cfg.Name, Status: nodeStatusOf(m, ok)}
	if ok {
		r.MemberStatus, r.GUID, r.Since, r.Version, r.Services = m.Status, m.GUID, m.Since, m.Version, m.Services
		r.Tags = cloneTags(m.Tags)
		r.Partitioned = partitioned
		r.Suspended = m.Suspended
	}
	return r
}
