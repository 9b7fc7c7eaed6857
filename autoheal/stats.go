package autoheal

import (
	"fmt"
	"sync"
	"time"
)

// Roles a node plays in a heal round, as Stats counts them.
const (
	roleLeader      = iota // planned the round
	roleCoordinator        // healed the victims into its cluster
	roleVictim             // healed itself into the coordinator's cluster
)

// healStats is what autoheal on this node did (Autoheal.stats). Nothing
// here is on a hot path: a round is rare, so a mutex of its own is enough.
type healStats struct {
	mu         sync.Mutex
	rounds     map[string]struct{} // the rounds this node took part in, while recent
	lastRound  string
	seen       uint64
	lastHeal   time.Time
	lastResult string
	ok, failed [3]uint64 // by role
}

// maxRoundsKept bounds the round names remembered to count each round once.
const maxRoundsKept = 64

// round notes that this node takes part in the named round.
func (s *healStats) round(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rounds[name]; ok {
		return
	}
	if s.rounds == nil || len(s.rounds) >= maxRoundsKept {
		s.rounds = make(map[string]struct{})
	}
	s.rounds[name] = struct{}{}
	s.lastRound = name
	s.seen++
}

// ended notes how this node's part in the named round ended: err nil is a
// success, result says what happened.
func (s *healStats) ended(name string, role int, result string, err error) {
	s.round(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastHeal = time.Now()
	s.lastRound = name
	if err != nil {
		s.failed[role]++
		s.lastResult = fmt.Sprintf("%s: failed: %v", name, err)
		return
	}
	s.ok[role]++
	s.lastResult = name + ": " + result
}

// Stats counts what autoheal on this node did since Attach.
type Stats struct {
	// Rounds is the heal rounds this node took part in: planned as the
	// leader, coordinated, or healed in as a victim.
	Rounds uint64
	// Planned counts the rounds that ended on this node as the leader
	// with a decision (nothing to heal, wait, or a heal handed to a
	// coordinator) and PlanFailed those whose coordinator did not take
	// the heal.
	Planned, PlanFailed uint64
	// Coordinated and CoordinateFailed count the heals this node
	// coordinated to the end, and those a victim failed.
	Coordinated, CoordinateFailed uint64
	// Healed and HealFailed count this node's own heals as a victim.
	Healed, HealFailed uint64
	// Healing is set while this node coordinates or runs a heal.
	Healing bool
}

// Stats returns a snapshot of autoheal's counters.
func (a *Autoheal) Stats() Stats {
	healing := a.busy()
	s := &a.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Rounds:  s.seen,
		Planned: s.ok[roleLeader], PlanFailed: s.failed[roleLeader],
		Coordinated: s.ok[roleCoordinator], CoordinateFailed: s.failed[roleCoordinator],
		Healed: s.ok[roleVictim], HealFailed: s.failed[roleVictim],
		Healing: healing,
	}
}
