package splitbrain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Strategy names how a split is decided (cluster.split_brain.strategy).
type Strategy string

// The strategies. Every node of a cluster must run the same one, with the
// same parameters.
const (
	// Autoheal decides nothing while a split lasts: both sides serve, and
	// package autoheal heals the partitions once the network is whole.
	// This is the default, ekka's behaviour.
	Autoheal Strategy = "autoheal"
	// KeepMajority: the side with more than half of the members serves; on
	// a tie, the side with the oldest member.
	KeepMajority Strategy = "keep-majority"
	// KeepOldest: the side with the oldest member serves; if that member is
	// alone and the other side has more than one, the other side serves
	// instead (unless Rules.OldestServesAlone).
	KeepOldest Strategy = "keep-oldest"
	// StaticQuorum: a side with at least Rules.QuorumSize members serves.
	StaticQuorum Strategy = "static-quorum"
	// DownAll: every side stops serving until the split is over.
	DownAll Strategy = "down-all"
)

// Strategies lists every strategy, the default first.
var Strategies = []Strategy{Autoheal, KeepMajority, KeepOldest, StaticQuorum, DownAll}

// ParseStrategy returns the strategy named s, or an error that lists them.
func ParseStrategy(s string) (Strategy, error) {
	for _, st := range Strategies {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, len(Strategies))
	for i, st := range Strategies {
		names[i] = string(st)
	}
	return "", fmt.Errorf("splitbrain: unknown strategy %q, want one of %s", s, strings.Join(names, ", "))
}

// Rules are a strategy and its parameters.
type Rules struct {
	Strategy Strategy
	// QuorumSize is the least number of members a side needs to serve,
	// for StaticQuorum; at least 1. A cluster of more than 2*QuorumSize-1
	// members could split into two sides that both have a quorum, so on
	// such a cluster every side stops serving at a split: grow QuorumSize
	// with the cluster.
	QuorumSize int
	// OldestServesAlone, for KeepOldest: the oldest member's side serves
	// even when the oldest is alone on it. Off (the default, Akka's
	// down-if-alone), a lone oldest member gives way to a side of two or
	// more, so that one crashed or cut-off node cannot stop the rest.
	OldestServesAlone bool
}

// Check reports rules that cannot be used, naming the field.
func (r Rules) Check() error {
	if _, err := ParseStrategy(string(r.Strategy)); err != nil {
		return err
	}
	if r.Strategy == StaticQuorum && r.QuorumSize < 1 {
		return fmt.Errorf("splitbrain: static-quorum needs a quorum size of at least 1, got %d (cluster.split_brain.quorum_size)", r.QuorumSize)
	}
	return nil
}

// Member is one member of the cluster, from the deciding node's table.
type Member struct {
	Node string
	// GUID orders members by age: the smaller GUID (mesh.GUID.Compare)
	// started first, and is the older.
	GUID mesh.GUID
}

// View is what one node knows when it decides: its member table, itself
// included, and who reaches whom.
type View struct {
	Self    string
	Members []Member
	// Reach holds, for each node that said so (directly or relayed), the
	// members it has a link to. Reach[Self] is the deciding node's own
	// links, and must be present.
	Reach map[string][]string
}

// Decision is what Decide concludes for the deciding node.
type Decision struct {
	// Serve: this node's side serves. When false, this node stops serving.
	Serve bool `json:"serve"`
	// Reason says why, for people and for callers of a suspended node.
	Reason string `json:"reason"`
	// Split: some member is cut off from this node's part of the cluster,
	// or two members of that part cannot reach each other. A decision
	// with no split serves.
	Split bool `json:"split"`
	// Side is this node's side: the part of the cluster connected to it,
	// less the losers. Others are the members outside that part (the
	// other side). Losers are the members of this part that give way
	// because they are indirectly connected: of two members that cannot
	// reach each other, the younger. All three are sorted.
	Side   []string `json:"side"`
	Others []string `json:"others,omitempty"`
	Losers []string `json:"losers,omitempty"`
}

// Decide takes the decision of view.Self under rules. It is a pure
// function of its arguments: the nodes of a connected part of the cluster
// that hold the same view decide the same, and two parts that cannot reach
// each other never both serve (for static-quorum, when the member tables
// agree on the cluster's size).
//
//  1. Two members are linked when each has a link to the other, as far as
//     the view says: a member that said nothing is taken at the other's
//     word. This node's part of the cluster is every member it can reach
//     through links.
//  2. Indirectly connected members give way: of each two members of the
//     part that are not linked (an asymmetric split: a third reaches both),
//     the younger is a loser. The members left all reach each other.
//  3. The strategy decides between this node's side (the part less the
//     losers) and the others (the members outside the part).
func Decide(rules Rules, view View) Decision {
	byName := make(map[string]Member, len(view.Members)+1)
	for _, m := range view.Members {
		byName[m.Node] = m
	}
	if _, ok := byName[view.Self]; !ok {
		byName[view.Self] = Member{Node: view.Self}
		view.Members = append(slices.Clone(view.Members), Member{Node: view.Self})
	}
	older := func(a, b string) bool { // a started before b
		if c := byName[a].GUID.Compare(byName[b].GUID); c != 0 {
			return c < 0
		}
		return a < b
	}
	reach := reachOf(view)

	// The part of the cluster connected to this node.
	part := map[string]bool{view.Self: true}
	queue := []string{view.Self}
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		for _, m := range view.Members {
			if !part[m.Node] && reach.connected(a, m.Node) {
				part[m.Node] = true
				queue = append(queue, m.Node)
			}
		}
	}

	// The younger of each pair of the part that is not linked gives way.
	losers := map[string]string{}
	for i, a := range view.Members {
		for _, b := range view.Members[i+1:] {
			if a.Node == b.Node || !part[a.Node] || !part[b.Node] || reach.linked(a.Node, b.Node) {
				continue
			}
			young, old := a.Node, b.Node
			if older(young, old) {
				young, old = old, young
			}
			if _, seen := losers[young]; !seen {
				losers[young] = fmt.Sprintf("%s cannot reach each other, though both are in this part of the cluster; %s is the older", pairName(a.Node, b.Node), old)
			}
		}
	}

	var d Decision
	for _, m := range view.Members {
		_, lost := losers[m.Node]
		switch {
		case lost:
			d.Losers = append(d.Losers, m.Node)
		case part[m.Node]:
			d.Side = append(d.Side, m.Node)
		default:
			d.Others = append(d.Others, m.Node)
		}
	}
	slices.Sort(d.Side)
	slices.Sort(d.Others)
	slices.Sort(d.Losers)
	d.Split = len(d.Others) > 0 || len(d.Losers) > 0
	if rules.Strategy == Autoheal {
		d.Serve = true
		d.Reason = "autoheal: both sides serve; autoheal heals the partitions once the network is whole"
		return d
	}
	if why, lost := losers[view.Self]; lost {
		d.Reason = fmt.Sprintf("%s: indirectly connected: %s; the younger gives way", rules.Strategy, why)
		return d
	}
	if len(d.Others) == 0 {
		d.Serve = true
		switch {
		case len(d.Losers) > 0:
			d.Reason = fmt.Sprintf("%s: no member is cut off from this side; %s give way (indirectly connected)", rules.Strategy, strings.Join(d.Losers, ", "))
		default:
			d.Reason = fmt.Sprintf("%s: every member is reachable", rules.Strategy)
		}
		return d
	}

	side, others := len(d.Side), len(d.Others)
	oldest := ""
	for _, n := range append(slices.Clone(d.Side), d.Others...) {
		if oldest == "" || older(n, oldest) {
			oldest = n
		}
	}
	oldestHere := slices.Contains(d.Side, oldest)
	counts := fmt.Sprintf("this side has %d of %d members (%s), the other %d (%s)",
		side, side+others, strings.Join(d.Side, ", "), others, strings.Join(d.Others, ", "))
	switch rules.Strategy {
	case KeepMajority:
		switch {
		case side > others:
			d.Serve, d.Reason = true, "keep-majority: "+counts+": a majority"
		case side < others:
			d.Reason = "keep-majority: " + counts + ": a minority"
		case oldestHere:
			d.Serve, d.Reason = true, fmt.Sprintf("keep-majority: %s: a tie, and this side has the oldest member, %s", counts, oldest)
		default:
			d.Reason = fmt.Sprintf("keep-majority: %s: a tie, and the other side has the oldest member, %s", counts, oldest)
		}
	case KeepOldest:
		switch {
		case oldestHere && side == 1 && others > 1 && !rules.OldestServesAlone:
			d.Reason = fmt.Sprintf("keep-oldest: this node is the oldest member but alone, and the other side has %d members (down-if-alone)", others)
		case oldestHere:
			d.Serve, d.Reason = true, fmt.Sprintf("keep-oldest: %s: this side has the oldest member, %s", counts, oldest)
		case others == 1 && side > 1 && !rules.OldestServesAlone:
			d.Serve, d.Reason = true, fmt.Sprintf("keep-oldest: the oldest member, %s, is alone on its side and this side has %d members (down-if-alone)", oldest, side)
		default:
			d.Reason = fmt.Sprintf("keep-oldest: %s: the other side has the oldest member, %s", counts, oldest)
		}
	case StaticQuorum:
		q := rules.QuorumSize
		switch {
		case len(view.Members) > 2*q-1:
			d.Reason = fmt.Sprintf("static-quorum: the cluster has %d members, more than 2*%d-1, so two sides could both reach the quorum of %d; no side serves (raise the quorum size)", len(view.Members), q, q)
		case side >= q:
			d.Serve, d.Reason = true, fmt.Sprintf("static-quorum: %s: at least the quorum of %d", counts, q)
		default:
			d.Reason = fmt.Sprintf("static-quorum: %s: fewer than the quorum of %d", counts, q)
		}
	case DownAll:
		d.Reason = "down-all: " + counts + ": every side stops serving"
	default:
		d.Reason = fmt.Sprintf("splitbrain: unknown strategy %q: this node stops serving", rules.Strategy)
	}
	return d
}

// reachability is, for each node that said so, the set of members it has
// a link to.
type reachability map[string]map[string]bool

// reachOf reads view's Reach; the deciding node always has an entry.
func reachOf(view View) reachability {
	r := reachability{view.Self: {}}
	for n, links := range view.Reach {
		set := map[string]bool{}
		for _, o := range links {
			set[o] = true
		}
		r[n] = set
	}
	return r
}

// linked: neither a nor b says it has no link to the other (a node that
// said nothing is taken at the other's word).
func (r reachability) linked(a, b string) bool {
	ra, okA := r[a]
	rb, okB := r[b]
	return (!okA || ra[b]) && (!okB || rb[a])
}

// connected: a and b are linked, and at least one of them said so.
func (r reachability) connected(a, b string) bool {
	_, okA := r[a]
	_, okB := r[b]
	return (okA || okB) && r.linked(a, b)
}

// pairName names two nodes in a fixed order, for reasons that read the same
// on every node.
func pairName(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + " and " + b
}
