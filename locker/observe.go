package locker

import (
	"slices"
	"strings"
	"time"
)

// HeldLock is one lock held in this node's table.
type HeldLock struct {
	Resource string    `json:"resource"`
	Owner    string    `json:"owner"`
	Token    uint64    `json:"token"`
	Expires  time.Time `json:"expires"`
}

// Held returns the locks held in this node's table, sorted by resource.
// A grant whose lease has run out is not held, even before the sweep
// drops it.
func (l *Locker) Held() []HeldLock {
	now := time.Now()
	l.mu.Lock()
	out := make([]HeldLock, 0, len(l.table.res))
	for r, s := range l.table.res {
		if s.held && now.Before(s.expires) {
			out = append(out, HeldLock{Resource: r, Owner: s.owner, Token: s.token, Expires: s.expires})
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b HeldLock) int { return strings.Compare(a.Resource, b.Resource) })
	return out
}
