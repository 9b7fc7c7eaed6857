package autoheal

import "time"

// Status is what autoheal on this node is doing, for the status page.
type Status struct {
	// Leader is the member that plans heals (the oldest running autoheal).
	Leader string `json:"leader"`
	// Healing is set while a heal round is under way.
	Healing bool `json:"healing"`
	// Pending is set on the leader between a partition report and the
	// decision it leads to. With no partition recorded anywhere and
	// nothing pending, autoheal is idle and starts nothing until a
	// partition is recorded again.
	Pending bool `json:"pending"`
	// Round counts the heal rounds this node has seen or run.
	Round uint64 `json:"round"`
	// LastRound names the last round this node took part in ("" if none):
	// the leader's name and its round number.
	LastRound string `json:"last_round,omitempty"`
	// Partitions are the partitions this node has recorded.
	Partitions []string `json:"partitions"`
	// LastHeal is when the last heal round ended; zero if none yet.
	LastHeal time.Time `json:"last_heal"`
	// LastResult says how the last round ended.
	LastResult string `json:"last_result,omitempty"`
}

// Status returns what autoheal on this node is doing now.
func (a *Autoheal) Status() Status {
	info := a.node.Info()
	st := Status{
		Leader:     Leader(info.Members),
		Healing:    a.busy(),
		Partitions: info.Partitions,
	}
	a.mu.Lock()
	st.Pending = a.pending
	a.mu.Unlock()
	s := &a.stats
	s.mu.Lock()
	st.Round, st.LastRound = s.seen, s.lastRound
	st.LastHeal, st.LastResult = s.lastHeal, s.lastResult
	s.mu.Unlock()
	return st
}
