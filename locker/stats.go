package locker

import (
	"sync/atomic"
	"time"
)

// tableResults name the answers of this node's lock table, as Stats counts
// them, by the status of the reply (and "error" for a request refused
// before the table answered it: a fence token above MaxToken, or any
// request but a release while the node is suspended).
var tableResults = [...]string{
	stGranted:   "granted",
	stReentry:   "reentry",
	stRefused:   "refused",
	stReleased:  "released",
	stExhausted: "exhausted",
	0:           "error",
}

// lockStats are the locker's counters (Locker.stats).
type lockStats struct {
	granted, refused atomic.Uint64 // Acquire on this node: got the lock, did not
	expired          atomic.Uint64 // grants of this node's table that ran out
	givenUp          atomic.Uint64 // leases given up at a suspension of the node
	suspendedRefused atomic.Uint64 // table requests refused while suspended
	table            [len(opNames) - 1][len(tableResults)]atomic.Uint64
}

// decided counts an answer of this node's table to op.
func (s *lockStats) decided(op int, r opReply, err error) {
	if op < 0 || op >= len(s.table) {
		return
	}
	st := int(r.Status)
	if err != nil || st >= len(tableResults) {
		st = 0
	}
	s.table[op][st].Add(1)
}

// TableCount counts the answers of this node's lock table to one kind of
// request with one result.
type TableCount struct {
	Op     string // acquire, renew, release, fence
	Result string // granted, reentry, refused, released, exhausted, error
	Count  uint64
}

// Stats is a snapshot of a locker's counters.
type Stats struct {
	// Granted counts the Acquires of this node that got the lock;
	// Refused those that did not (held elsewhere, or too few tables
	// answered).
	Granted, Refused uint64
	// Held is the number of locks this node's table holds now.
	Held int
	// Expired counts the grants of this node's table that ended because
	// their lease ran out (not released).
	Expired uint64
	// GivenUp counts the locks this locker gave up because its node was
	// suspended (mesh.Node.Suspend): their leases were lost and released.
	GivenUp uint64
	// RefusedSuspended counts the requests this node's table refused
	// because the node was suspended: acquires, renewals and fences, from
	// this node or another (they are counted in Table as "error" too).
	RefusedSuspended uint64
	// Table counts the answers of this node's table to the lockers of
	// every member (this one included), by request and result; every
	// pair is present.
	Table []TableCount
}

// Stats returns a snapshot of the locker's counters.
func (l *Locker) Stats() Stats {
	l.mu.Lock()
	held := l.table.Len(time.Now())
	l.mu.Unlock()
	s := Stats{
		Granted: l.stats.granted.Load(),
		Refused: l.stats.refused.Load(),
		Held:    held,
		Expired: l.stats.expired.Load(),

		GivenUp:          l.stats.givenUp.Load(),
		RefusedSuspended: l.stats.suspendedRefused.Load(),
	}
	for op := range l.stats.table {
		for res, name := range tableResults {
			s.Table = append(s.Table, TableCount{Op: opNames[op], Result: name, Count: l.stats.table[op][res].Load()})
		}
	}
	return s
}
