package locker

import (
	"errors"
	"fmt"
)

// ErrNotMember: a lock table request (acquire, renew, release, fence) came
// from a hidden client or from a node that is not a member. Only members'
// lockers change lock tables; ekka-mesh ctl locks through the "ctl" method,
// which a member serves by taking the lock itself.
var ErrNotMember = errors.New("locker: request refused: only a member's locker may change a lock table")

// admitCaller decides whether a lock table request may be served: from a
// member (or this node itself), over a member's link. hidden says the call
// came over a hidden client's link; isMember says whether from is in this
// node's member table.
func admitCaller(method, from, self string, hidden, isMember bool, ctlMethod string) error {
	switch {
	case hidden:
		return fmt.Errorf("%w: %s from %s, a hidden client (ekka-mesh ctl); want a member's locker, or the %s method to lock on a member's behalf",
			ErrNotMember, method, from, ctlMethod)
	case from == self, isMember:
		return nil
	}
	return fmt.Errorf("%w: %s from %s, which is not a member of %s's cluster; want a member's locker",
		ErrNotMember, method, from, self)
}
