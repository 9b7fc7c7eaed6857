// Package splitbrain decides which side of a network split goes on
// serving, with the strategies Akka's split brain resolver made standard
// (docs/ARCHITECTURE.md, "Split-brain strategies"). Select one with
// cluster.split_brain.strategy, or Config.Strategy:
//
//   - autoheal (the default, ekka's behaviour): no side stops; package
//     autoheal heals the partitions once the network is whole. Attach with
//     this strategy attaches autoheal and nothing else.
//   - keep-majority: the side with more than half of the members serves; on
//     a tie, the side with the oldest member.
//   - keep-oldest: the side with the oldest member serves, unless that
//     member is alone and the other side has two or more
//     (Rules.OldestServesAlone turns this exception off).
//   - static-quorum: a side with at least QuorumSize members serves. On a
//     cluster of more than 2*QuorumSize-1 members no side serves, since two
//     could both reach the quorum.
//   - down-all: no side serves until the split is over.
//
// How a node decides (Decide, a pure function; every node decides alone):
//
//  1. Its part of the cluster is every member it can reach through links,
//     as far as it knows: each resolver tells the members it has a link to
//     which members it reaches, and relays what it heard from the others
//     (the wire's Reachability message, PROTOCOL.md section 6.7).
//  2. Of two members of the part that cannot reach each other (an
//     asymmetric split: a third reaches both), the younger gives way
//     (stops serving); the members left all reach each other.
//  3. The strategy weighs this node's side (the part less those that give
//     way) against the others: the members of its table outside the part.
//     Members count until they leave or are removed (autoclean,
//     force-leave), so a crashed member counts on the other side.
//
// The nodes that go on serving can all reach each other, whatever the
// graph of links: checked for every graph of up to five nodes under every
// strategy.
//
// When a node acts: once the view (who reaches whom) has held still for
// Config.StableAfter (default 10s). A split shorter than that is not
// decided: both sides serve through it. A view that keeps losing links for
// StableAfter + DownAllWhenUnstable (a flapping link) takes every node that
// sees it down, whatever the strategy.
//
// What a losing node does: it suspends itself (mesh.Node.Suspend): calls to
// its methods fail with mesh.ErrSuspended and the reason, its lockers give
// up their locks and grant none, and it keeps its links, heartbeats and the
// $ekka. built-ins, so that the split can be seen to end. Then the
// application's Hooks.Down runs (with Config.KeepServing the node does not
// suspend itself and the hook alone acts). When its decision says serve
// again and the view has held still, Hooks.Up runs (reload what the other
// side changed), then the node resumes. Once the view holds still with no
// split, every node clears the partitions it records: the side that lost
// did not serve. locker/GUARANTEES.md says what each strategy guarantees
// for locks.
//
// Attach a resolver with the same Rules and StableAfter to every node:
//
//	r, err := splitbrain.Attach(node, splitbrain.Config{
//		Rules:       splitbrain.Rules{Strategy: splitbrain.KeepMajority},
//		StableAfter: 10 * time.Second,
//		Hooks:       splitbrain.Hooks{Down: stopWorkers, Up: reloadState},
//	})
//	defer r.Close()
package splitbrain
