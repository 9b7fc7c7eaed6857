package autoheal

import "time"

// schedule is what a node's autoheal loop waits for, each the time it is
// due; the zero time means it does not wait for that.
type schedule struct {
	retryFresh time.Time // a fresh report the leader has not got yet
	remind     time.Time // partitions may be recorded: remind the leader
	decide     time.Time // the leader decides (decisionAt)
}

// next returns the earliest time in s, and false when s waits for nothing:
// then only an event (a partition, a report, a member change) wakes the
// loop.
func (s schedule) next() (time.Time, bool) {
	var at time.Time
	for _, t := range []time.Time{s.retryFresh, s.remind, s.decide} {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at, !at.IsZero()
}

// decisionAt returns when the leader decides: once reports of new
// partitions have stopped for delay, and not before nextTry (after a
// decision, the time given to its heal or before a retry). It is the zero
// time when no report is pending.
func decisionAt(pending bool, lastFresh, nextTry time.Time, delay time.Duration) time.Time {
	if !pending {
		return time.Time{}
	}
	at := lastFresh.Add(delay)
	if nextTry.After(at) {
		at = nextTry
	}
	return at
}
