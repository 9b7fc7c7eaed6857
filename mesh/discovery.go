package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Discovery is a strategy that finds the nodes of a cluster (static seeds,
// multicast, DNS, etcd, Kubernetes). Strategies live in their own packages
// (discovery/...) and satisfy this interface without mesh importing them.
// Manual clustering means no Discovery at all.
//
// A method that does not apply to a strategy returns an error wrapping
// ErrNotSupported; the autocluster loop treats that as success for Lock,
// Unlock, Register and Unregister.
type Discovery interface {
	// Discover returns the names (short@host) of the cluster's nodes; the
	// list may include this node.
	Discover(ctx context.Context) ([]string, error)
	// Lock takes the strategy's cluster-wide autocluster lock, so that nodes
	// starting together do not form separate clusters.
	Lock(ctx context.Context) error
	// Unlock releases the lock taken by Lock.
	Unlock(ctx context.Context) error
	// Register makes this node discoverable by the others.
	Register(ctx context.Context) error
	// Unregister withdraws what Register published.
	Unregister(ctx context.Context) error
}

// ErrNotSupported is returned (possibly wrapped) by a Discovery method that
// does not apply to the strategy.
var ErrNotSupported = errors.New("mesh: not supported by this discovery strategy")

// joinAction is what the autocluster loop should do after one discovery.
type joinAction uint8

const (
	// joinRetry: no decision can be made now (nothing discovered, nobody
	// reachable); try again after the retry interval.
	joinRetry joinAction = iota
	// joinTarget: join the node in joinDecision.Target.
	joinTarget
	// joinNothing: no join is needed (already clustered with every
	// discovered node, or this node or its cluster holds the oldest node, so
	// the others join us). Go on to register.
	joinNothing
)

func (a joinAction) String() string {
	switch a {
	case joinRetry:
		return "retry"
	case joinTarget:
		return "join"
	case joinNothing:
		return "nothing"
	}
	return fmt.Sprintf("joinAction(%d)", uint8(a))
}

// joinDecision is the outcome of chooseJoinTarget. Reason says why, for the
// log.
type joinDecision struct {
	Action joinAction
	Target string
	Reason string
}

// chooseJoinTarget is the pure part of the autocluster loop, after ekka's
// maybe_join: join the oldest reachable discovered node unless already
// clustered with all of them.
//
// Inputs: self and selfGUID; the names discovery returned; reachable, the
// GUIDs learned by probing the discovered nodes (absent: unreachable; a zero
// GUID: reachable, GUID unknown, sorts last); members, the nodes already in
// this node's cluster.
//
// Rules, in order:
//  1. Self, invalid names and duplicates are dropped from discovered. If no
//     name at all was valid, that is a failure: retry ("discovered no nodes").
//  2. If self was the only node discovered: nothing to do.
//  3. If every other discovered node is a member: nothing to do ("already
//     clustered").
//  4. If no discovered non-member is reachable: retry.
//  5. The oldest among self and every reachable discovered node (OlderThan,
//     ties broken by name) is the target. If it is self or a member of our
//     cluster, nothing to do: the others join it. Otherwise join it.
//
// Every node that sees the same GUIDs computes the same oldest node, so nodes
// that all start at once end in one cluster: the oldest waits, the others
// join it.
func chooseJoinTarget(self string, selfGUID GUID, discovered []string, reachable map[string]GUID, members map[string]bool) joinDecision {
	var others []string
	valid := 0
	for _, name := range discovered {
		if !validNodeName(name) {
			continue
		}
		valid++
		if name != self && !slices.Contains(others, name) {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	if valid == 0 {
		if len(discovered) == 0 {
			return joinDecision{Action: joinRetry, Reason: "discovered no nodes"}
		}
		return joinDecision{Action: joinRetry, Reason: fmt.Sprintf("discovered no valid node names (got %s; want short@host)", strings.Join(discovered, ", "))}
	}
	if len(others) == 0 {
		return joinDecision{Action: joinNothing, Reason: "this node is the only node discovered"}
	}

	var outside, reachableOutside []string
	for _, name := range others {
		if members[name] {
			continue
		}
		outside = append(outside, name)
		if _, ok := reachable[name]; ok {
			reachableOutside = append(reachableOutside, name)
		}
	}
	if len(outside) == 0 {
		return joinDecision{Action: joinNothing, Reason: fmt.Sprintf("already clustered with all %d discovered nodes", len(others))}
	}
	if len(reachableOutside) == 0 {
		return joinDecision{Action: joinRetry, Reason: "no discovered node outside the cluster is reachable: " + strings.Join(outside, ", ")}
	}

	oldest, oldestGUID := self, selfGUID
	for _, name := range others {
		guid, ok := reachable[name]
		if !ok {
			continue
		}
		if OlderThan(guid, oldestGUID) || (guid == oldestGUID && name < oldest) {
			oldest, oldestGUID = name, guid
		}
	}
	switch {
	case oldest == self:
		return joinDecision{Action: joinNothing, Reason: "this node is the oldest reachable discovered node; the others join it"}
	case members[oldest]:
		return joinDecision{Action: joinNothing, Reason: fmt.Sprintf("the oldest reachable discovered node %s is already in the cluster; the others join it", oldest)}
	}
	return joinDecision{Action: joinTarget, Target: oldest, Reason: fmt.Sprintf("%s is the oldest reachable discovered node (GUID %s)", oldest, oldestGUID)}
}
