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

// Member is one member of the cluster as the deciding node sees it.
type Member struct {
	Node string
	// GUID orders members by age: the smaller GUID (mesh.GUID.Compare)
	// started first, and is the older.
	GUID mesh.GUID
	// Reachable: the deciding node has a link to the member (always true
	// of the deciding node itself).
	Reachable bool
	// Observed: Reach holds what the member last said it reaches (its
	// Reachability message). Only reachable members are observed.
	Observed bool
	// Reach are the members the member has a link to, itself excluded.
	Reach []string
}

// View is what one node knows when it decides: its member table, itself
// included, with its links and its peers' observations.
type View struct {
	Self    string
	Members []Member
}

// Decision is what Decide concludes for the deciding node.
type Decision struct {
	// Serve: this node's side serves. When false, this node stops serving.
	Serve bool
	// Reason says why, for people and for callers of a suspended node.
	Reason string
	// Split: some member is unreachable, or two reachable members cannot
	// reach each other. A decision with no split serves.
	Split bool
	// Side is this node's side: itself and the members it reaches, less
	// the losers. Others are the members it does not reach (the other
	// side), less the losers. Losers are the members that give way because
	// they are indirectly connected: of two members that cannot reach each
	// other while a third reaches both, the younger. All three are sorted.
	Side, Others, Losers []string
}

// Decide takes the decision of view.Self under rules. It is a pure
// function of its arguments: every node that runs it on the same view
// decides the same for each side.
//
// First the indirectly connected members give way: when a reachable member
// says it cannot reach another reachable member, or reaches a member this
// node cannot, the two cannot reach each other although a third member
// reaches both (an asymmetric split). Of each such pair the younger
// is a loser, so the members that go on serving can all reach each other.
// Then the strategy decides between this node's side and the members it
// cannot reach, the losers counted on neither side.
func Decide(rules Rules, view View) Decision {
	byName := make(map[string]*Member, len(view.Members))
	for i := range view.Members {
		byName[view.Members[i].Node] = &view.Members[i]
	}
	self, ok := byName[view.Self]
	if !ok {
		self = &Member{Node: view.Self, Reachable: true}
		byName[view.Self] = self
		view.Members = append(view.Members, *self)
	}
	older := func(a, b string) bool { // a started before b
		ma, mb := byName[a], byName[b]
		if c := ma.GUID.Compare(mb.GUID); c != 0 {
			return c < 0
		}
		return a < b
	}
	reachable := func(name string) bool { return name == view.Self || byName[name].Reachable }

	// Broken pairs, and why, for the reasons.
	losers := map[string]string{}
	lose := func(a, b, via string) { // a and b cannot reach each other; via reaches both
		young, old := a, b
		if older(a, b) {
			young, old = b, a
		}
		if _, seen := losers[young]; !seen {
			losers[young] = fmt.Sprintf("%s cannot reach each other, though %s reaches both; %s is the older", pairName(a, b), via, old)
		}
	}
	for _, p := range view.Members {
		if p.Node == view.Self || !p.Reachable || !p.Observed {
			continue
		}
		reach := map[string]bool{p.Node: true}
		for _, q := range p.Reach {
			reach[q] = true
		}
		for _, q := range view.Members {
			_, known := byName[q.Node]
			switch {
			case !known || q.Node == p.Node:
			case reachable(q.Node) && !reach[q.Node]:
				lose(p.Node, q.Node, view.Self)
			case !reachable(q.Node) && reach[q.Node]:
				lose(view.Self, q.Node, p.Node)
			}
		}
	}

	var d Decision
	for _, m := range view.Members {
		_, lost := losers[m.Node]
		switch {
		case lost:
			d.Losers = append(d.Losers, m.Node)
		case reachable(m.Node):
			d.Side = append(d.Side, m.Node)
		default:
			d.Others = append(d.Others, m.Node)
		}
	}
	slices.Sort(d.Side)
	slices.Sort(d.Others)
	slices.Sort(d.Losers)
	d.Split = len(d.Others) > 0 || len(d.Losers) > 0
	if why, lost := losers[view.Self]; lost {
		d.Reason = fmt.Sprintf("%s: indirectly connected: %s; the younger gives way", rules.Strategy, why)
		return d
	}
	if len(d.Others) == 0 || rules.Strategy == Autoheal {
		d.Serve = true
		switch {
		case rules.Strategy == Autoheal:
			d.Reason = "autoheal: both sides serve; autoheal heals the partitions once the network is whole"
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
		case side+others > 2*q-1:
			d.Reason = fmt.Sprintf("static-quorum: the cluster has %d members, more than 2*%d-1, so two sides could both reach the quorum of %d; no side serves (raise the quorum size)", side+others, q, q)
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

// pairName names two nodes in a fixed order, for reasons that read the same
// on every node.
func pairName(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + " and " + b
}
