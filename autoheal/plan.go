package autoheal

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// View is one node's view of its cluster, as the leader gathers it from
// every running member.
type View struct {
	// Node is the node whose view this is, and GUID its incarnation.
	Node string    `json:"node"`
	GUID mesh.GUID `json:"guid"`
	// Running are the nodes it has a link to, and itself (Info.RunningNodes).
	Running []string `json:"running"`
	// Stopped are the members it has no link to (Info.StoppedNodes).
	Stopped []string `json:"stopped"`
	// Partitions are the members it records a partition with (Info.Partitions).
	Partitions []string `json:"partitions"`
	// Healing is set while the node runs a heal, as coordinator or victim.
	Healing bool `json:"healing"`
}

// Action is what a Plan asks the leader to do.
type Action uint8

const (
	// ActionNone: no view records a partition with a node that runs; nothing
	// to heal.
	ActionNone Action = iota
	// ActionWait: there may be something to heal, but not now (a view is
	// missing, a heal runs, or the network is still split); retry later.
	ActionWait
	// ActionHeal: the coordinator heals the victims, one at a time.
	ActionHeal
)

func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionWait:
		return "wait"
	case ActionHeal:
		return "heal"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Plan is the leader's decision, made by Decide from the views.
type Plan struct {
	Action Action `json:"action"`
	// Reason says why, for people.
	Reason string `json:"reason"`
	// Sides is the split view (ActionHeal): disjoint groups of nodes that
	// all run together and record no partition with each other, covering
	// every node with a view. The majority side comes first; each side
	// lists its nodes oldest first.
	Sides [][]string `json:"sides,omitempty"`
	// Coordinator is the oldest node of the majority side (ActionHeal).
	Coordinator string `json:"coordinator,omitempty"`
	// Victims are the nodes of every other side, in the order they are
	// healed: side by side, oldest first (ActionHeal).
	Victims []string `json:"victims,omitempty"`
	// Missing are the nodes some view runs with but whose own view is
	// missing (ActionWait).
	Missing []string `json:"missing,omitempty"`
}

// Service is the service name autoheal advertises on its node while it runs
// (mesh.Node.AddService): members show it in MemberInfo.Services.
const Service = "autoheal"

// Leader returns the autoheal leader among members: the oldest (smallest
// GUID) of those that run (status not down) and run autoheal (Service in
// their Services); unknown (zero) GUIDs sort last, then names break ties. A
// member that runs no autoheal, such as a node of a service that links the
// mesh as a library only, is never the leader: reports sent to it would go
// unanswered. It returns "" when no running member runs autoheal.
func Leader(members []mesh.MemberInfo) string {
	best := -1
	for i, m := range members {
		if m.Status == mesh.StatusDown || !slices.Contains(m.Services, Service) {
			continue
		}
		if best < 0 || older(m.GUID, m.Node, members[best].GUID, members[best].Node) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return members[best].Node
}

// Bystanders returns, sorted, the members that run no autoheal (Service is
// not among their Services): nodes that link the mesh as a library only.
// They cannot be asked for a view nor healed, so the leader plans without
// them (WithoutBystanders); a partition recorded with one of them only is
// not autoheal's to heal.
func Bystanders(members []mesh.MemberInfo) []string {
	var out []string
	for _, m := range members {
		if !slices.Contains(m.Services, Service) {
			out = append(out, m.Node)
		}
	}
	slices.Sort(out)
	return out
}

// WithoutBystanders returns views without the bystanders: their own views
// are dropped and they are removed from every view's Running, Stopped and
// Partitions, so Decide neither waits for their views nor counts them on a
// side.
func WithoutBystanders(views []View, bystanders []string) []View {
	if len(bystanders) == 0 {
		return views
	}
	drop := func(s string) bool { return slices.Contains(bystanders, s) }
	out := make([]View, 0, len(views))
	for _, v := range views {
		if drop(v.Node) {
			continue
		}
		v.Running = slices.DeleteFunc(slices.Clone(v.Running), drop)
		v.Stopped = slices.DeleteFunc(slices.Clone(v.Stopped), drop)
		v.Partitions = slices.DeleteFunc(slices.Clone(v.Partitions), drop)
		out = append(out, v)
	}
	return out
}

// older reports whether (ga, a) sorts before (gb, b): the smaller GUID,
// unknown GUIDs last, then the smaller name.
func older(ga mesh.GUID, a string, gb mesh.GUID, b string) bool {
	switch {
	case ga.IsZero() != gb.IsZero():
		return gb.IsZero()
	case ga != gb:
		return ga.Compare(gb) < 0
	}
	return a < b
}

// Decide turns the views the leader gathered into a plan. It is pure and
// deterministic: the result depends on the set of views, not on their
// order (two views of one node are merged, see below). The rules, in order:
//
//  1. A node that some view runs with but that has no view of its own is
//     missing: wait (the leader could not ask it; it retries).
//  2. A view that says it is healing: wait (one heal at a time).
//  3. No view records a partition with a node that has a view: none.
//  4. A node with a view that has no link to another node with a view: wait
//     (the network is still split; a victim could not rejoin).
//  5. Otherwise the split view: two nodes are together when each runs with
//     the other and neither records a partition with the other. Sides are
//     taken greedily: among the nodes left, the largest group of nodes that
//     are all together, found by growing one group from each node in age
//     order (oldest first, adding each node together with the whole group),
//     ties going to the group whose nodes are oldest (compared oldest first).
//     The first side is the majority; its oldest node coordinates; every
//     other node is a victim. When "together" is an equivalence (the usual
//     symmetric split) the sides are exactly its classes.
//
// Views of one node are merged: the newest GUID wins; with equal GUIDs the
// merge keeps what is common to Running and everything in Stopped and
// Partitions, and Healing if any says so.
func Decide(views []View) Plan {
	vs := normalize(views)
	if len(vs) == 0 {
		return Plan{Action: ActionNone, Reason: "no view"}
	}
	byNode := make(map[string]*View, len(vs))
	for i := range vs {
		byNode[vs[i].Node] = &vs[i]
	}

	var missing []string
	var missingWhy []string
	for _, v := range vs {
		for _, r := range v.Running {
			if byNode[r] == nil && !slices.Contains(missing, r) {
				missing = append(missing, r)
				missingWhy = append(missingWhy, fmt.Sprintf("%s (which %s runs with)", r, v.Node))
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		slices.Sort(missingWhy)
		return Plan{Action: ActionWait, Missing: missing, Reason: "no view of " + strings.Join(missingWhy, ", ")}
	}

	var healing []string
	for _, v := range vs {
		if v.Healing {
			healing = append(healing, v.Node)
		}
	}
	if len(healing) > 0 {
		return Plan{Action: ActionWait, Reason: "a heal is running on " + strings.Join(healing, ", ")}
	}

	recorded := false
	for _, v := range vs {
		for _, p := range v.Partitions {
			if byNode[p] != nil {
				recorded = true
			}
		}
	}
	if !recorded {
		return Plan{Action: ActionNone, Reason: "no view records a partition with a running node"}
	}

	for _, v := range vs {
		for _, w := range vs {
			if v.Node != w.Node && !slices.Contains(v.Running, w.Node) {
				return Plan{Action: ActionWait, Reason: fmt.Sprintf("%s has no link to %s yet: the network is still split", v.Node, w.Node)}
			}
		}
	}

	// Nodes in age order; together as a matrix over their ranks.
	order := make([]*View, len(vs))
	for i := range vs {
		order[i] = &vs[i]
	}
	slices.SortFunc(order, func(a, b *View) int {
		if a.Node == b.Node {
			return 0
		}
		if older(a.GUID, a.Node, b.GUID, b.Node) {
			return -1
		}
		return 1
	})
	n := len(order)
	tog := make([][]bool, n)
	for i := range tog {
		tog[i] = make([]bool, n)
	}
	for i, a := range order {
		for j, b := range order {
			tog[i][j] = i == j || (slices.Contains(a.Running, b.Node) && slices.Contains(b.Running, a.Node) &&
				!slices.Contains(a.Partitions, b.Node) && !slices.Contains(b.Partitions, a.Node))
		}
	}
	left := make([]bool, n)
	for i := range left {
		left[i] = true
	}
	var sides [][]string
	for remaining := n; remaining > 0; {
		best := bestGroup(tog, left)
		side := make([]string, len(best))
		for k, r := range best {
			side[k] = order[r].Node
			left[r] = false
		}
		remaining -= len(best)
		sides = append(sides, side)
	}
	if len(sides) == 1 {
		// Records between nodes that are together cannot happen (a record
		// means apart), so this is unreachable; kept total for safety.
		return Plan{Action: ActionNone, Reason: "every node runs together"}
	}
	p := Plan{Action: ActionHeal, Sides: sides, Coordinator: sides[0][0]}
	for _, s := range sides[1:] {
		p.Victims = append(p.Victims, s...)
	}
	p.Reason = fmt.Sprintf("%d sides: %s runs with the majority %v and heals %v", len(sides), p.Coordinator, sides[0], p.Victims)
	return p
}

// bestGroup returns, as sorted ranks, the largest group of nodes still left
// that are all together, grown from each left node in rank order; ties go
// to the group whose ranks compare smaller.
func bestGroup(tog [][]bool, left []bool) []int {
	var best []int
	for seed := range left {
		if !left[seed] {
			continue
		}
		group := []int{seed}
		for r := range left {
			if !left[r] || r == seed {
				continue
			}
			ok := true
			for _, g := range group {
				if !tog[r][g] || !tog[g][r] {
					ok = false
					break
				}
			}
			if ok {
				group = append(group, r)
			}
		}
		slices.Sort(group)
		if best == nil || len(group) > len(best) || (len(group) == len(best) && slices.Compare(group, best) < 0) {
			best = group
		}
	}
	return best
}

// normalize merges views of one node and sorts and de-duplicates every
// list; a node always runs with itself and records nothing with itself.
// The result is sorted by node name.
func normalize(views []View) []View {
	merged := map[string]View{}
	for _, v := range views {
		if v.Node == "" {
			continue
		}
		v = cleanView(v)
		old, ok := merged[v.Node]
		switch {
		case !ok, old.GUID.Compare(v.GUID) < 0:
			merged[v.Node] = v
		case old.GUID == v.GUID:
			merged[v.Node] = cleanView(View{
				Node:       v.Node,
				GUID:       v.GUID,
				Running:    slices.DeleteFunc(slices.Clone(old.Running), func(s string) bool { return !slices.Contains(v.Running, s) }),
				Stopped:    append(slices.Clone(old.Stopped), v.Stopped...),
				Partitions: append(slices.Clone(old.Partitions), v.Partitions...),
				Healing:    old.Healing || v.Healing,
			})
		}
	}
	out := make([]View, 0, len(merged))
	for _, v := range merged {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b View) int { return strings.Compare(a.Node, b.Node) })
	return out
}

func cleanView(v View) View {
	self := func(s string) bool { return s == v.Node || s == "" }
	v.Running = slices.DeleteFunc(sortedSet(append(slices.Clone(v.Running), v.Node)), func(s string) bool { return s == "" })
	v.Stopped = slices.DeleteFunc(sortedSet(v.Stopped), self)
	v.Partitions = slices.DeleteFunc(sortedSet(v.Partitions), self)
	return v
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
