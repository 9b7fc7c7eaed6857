package mesh

import "slices"

// Info is a node's view of its cluster, in the shape of ekka's info.
// Slices are never nil, so JSON shows [] rather than null.
type Info struct {
	Node    string `json:"node"`
	Cluster string `json:"cluster"`
	// RunningNodes are the nodes this node has a link to, and itself: every
	// member whose status is not down (joining, up, healing, leaving).
	RunningNodes []string `json:"running_nodes"`
	// StoppedNodes are the members this node knows but has no link to.
	StoppedNodes []string `json:"stopped_nodes"`
	// Members is the whole member table, sorted by name.
	Members []MemberInfo `json:"members"`
	// Partitions are the members with a partition recorded on this node.
	Partitions []string `json:"partitions"`
	// Suspended says why this node stopped serving calls (Node.Suspend);
	// "" while it serves.
	Suspended string `json:"suspended,omitempty"`
}

// buildInfo reads the table into an Info. Every list is sorted by name.
func buildInfo(self, cluster string, t *memberTable) Info {
	info := Info{
		Node:         self,
		Cluster:      cluster,
		RunningNodes: []string{},
		StoppedNodes: []string{},
		Members:      t.snapshot(),
		Partitions:   t.partitions(),
	}
	selfSeen := false
	for _, m := range info.Members {
		switch {
		case m.Node == self:
			selfSeen = true
			info.RunningNodes = append(info.RunningNodes, m.Node)
		case m.Status == StatusDown:
			info.StoppedNodes = append(info.StoppedNodes, m.Node)
		default:
			info.RunningNodes = append(info.RunningNodes, m.Node)
		}
	}
	if !selfSeen {
		info.RunningNodes = append(info.RunningNodes, self)
		slices.Sort(info.RunningNodes)
	}
	return info
}
