package locker

import "time"

// HeldLock is one lock held in this node's table.
type HeldLock struct {
	Resource string    `json:"resource"`
	Owner    string    `json:"owner"`
	Token    uint64    `json:"token"`
	Expires  time.Time `json:"expires"`
}

// Held returns the locks held in this node's table, sorted by resource.
func (l *Locker) Held() []HeldLock {
	// TODO(metrics): fill in.
	return nil
}
