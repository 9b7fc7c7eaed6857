// Package lockcheck checks histories of lock holds recorded by tests: the
// history checker of the lock service (locker/GUARANTEES.md), shared by the
// locker's own tests and the chaos soak.
//
// A hold is one period during which an owner believed it held a lock: from
// the moment its acquire returned granted to the earlier of its release and
// its lease's deadline. Check sorts holds by fencing token and requires each
// to end before the next begins and no token to repeat: mutual exclusion,
// checked in fencing-token order. Every hold must be timed by one clock (the
// test process's), so that the order of the times is real time.
package lockcheck

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Hold is one period during which Owner believed it held a lock with Token.
type Hold struct {
	Owner string
	Token uint64
	// Start is when the acquire returned granted; End is when the holder
	// released the lock or its lease ended, whichever came first.
	Start, End time.Time
}

// History records holds from many goroutines. The zero History is empty
// and ready to use.
type History struct {
	mu    sync.Mutex
	holds []Hold
}

// Add records x. A hold that does not end after it starts (the lease ended
// before the acquire returned) was never held, and is not recorded.
func (h *History) Add(x Hold) {
	if !x.End.After(x.Start) {
		return
	}
	h.mu.Lock()
	h.holds = append(h.holds, x)
	h.mu.Unlock()
}

// Holds returns a copy of the holds recorded so far.
func (h *History) Holds() []Hold {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.holds)
}

// Len is the number of holds recorded so far.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.holds)
}

// Check returns nil when holds are mutually exclusive in fencing-token
// order: ordered by token, every hold ends no later than the next one
// begins, and no two holds share a token. Otherwise its error names the
// first two holds that break the rule, with their owners, tokens and times.
func Check(holds []Hold) error {
	hs := slices.Clone(holds)
	slices.SortStableFunc(hs, func(a, b Hold) int {
		switch {
		case a.Token < b.Token:
			return -1
		case a.Token > b.Token:
			return 1
		}
		return 0
	})
	for i := 1; i < len(hs); i++ {
		a, b := hs[i-1], hs[i]
		if a.Token == b.Token {
			return fmt.Errorf("two holds share the token %d: %s from %s to %s and %s from %s to %s",
				a.Token, a.Owner, stamp(a.Start), stamp(a.End), b.Owner, stamp(b.Start), stamp(b.End))
		}
		if a.End.After(b.Start) {
			return fmt.Errorf("mutual exclusion broken: %s held token %d until %s, but %s held token %d from %s (%v earlier)",
				a.Owner, a.Token, stamp(a.End), b.Owner, b.Token, stamp(b.Start), a.End.Sub(b.Start))
		}
	}
	return nil
}

func stamp(t time.Time) string { return t.Format("15:04:05.000000") }
