package locker

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxToken is the largest fencing token: 2^63-1, so that every token fits
// a signed 64-bit integer (an SQL BIGINT, a Java long, a Go int64) at the
// resource that checks it. A table never issues a token above it and never
// adopts one (Fence refuses it with ErrTokenRange), so token arithmetic
// cannot wrap. A resource whose counter reached MaxToken is refused every
// fresh grant in that table (Decision.Exhausted); only a fence can bring a
// counter near it, since counters start at the clock in microseconds
// (about 2^51 today).
const MaxToken uint64 = math.MaxInt64

// ErrTokenRange: a fencing token above MaxToken was offered (a fence, or a
// reply carrying one). The table is unchanged.
var ErrTokenRange = errors.New("locker: fencing token out of range")

// tokenRangeError names the token, the resource and the limit.
func tokenRangeError(resource string, token uint64) error {
	return fmt.Errorf("%w: token %d for resource %q is above the limit %d (MaxToken, 2^63-1)", ErrTokenRange, token, resource, MaxToken)
}

// Table is one node's lock table: a pure state machine. Requests and the
// time they happen go in, decisions come out. It does no I/O, reads no
// clock and is not safe for concurrent use; a Locker serialises access.
//
// Rules:
//   - A resource is held by at most one owner at a time. An owner that
//     already holds it acquires it again (re-entry): same token, the lease
//     extended. One Release frees it, however often it was acquired.
//   - Every grant expires at now+lease unless renewed; an expired grant is
//     free for anyone, whether or not Expire has swept it yet.
//   - Release and Renew by an owner that does not hold the resource are
//     refused and change nothing.
//   - Fencing tokens: each resource has a counter, the highest token this
//     table issued or was told about (Fence). A fresh grant gets counter+1.
//     The counter of a resource this table has never seen (or forgot,
//     ForgetAfter after its last use) starts at the grant time in
//     microseconds since the Unix epoch, so tokens of a table that
//     restarted, or of another table taking over, stay above the old ones
//     as long as the clocks agree (see GUARANTEES.md).
//   - Tokens never exceed MaxToken and never wrap: a fence above it is
//     refused (ErrTokenRange), and a resource whose counter is at MaxToken
//     gets no fresh grant (Decision.Exhausted).
//   - A counter is forgotten only once the clock has passed it, so the
//     counter that replaces it, which starts at the clock, is larger: a
//     counter that a fence raised above the clock is kept until then.
type Table struct {
	// ForgetAfter is how long a free resource's counter is kept after its
	// last use (default 10 minutes), or longer, until the clock in
	// microseconds has passed the counter. Forgetting is then safe under
	// the clock rule above, and keeps the table from growing without bound.
	ForgetAfter time.Duration

	res map[string]*resState
	// sweepAt is when Expire next has work, at the earliest: zero when the
	// table is empty. Requests lower it, Expire sets it exactly.
	sweepAt time.Time
}

type resState struct {
	counter uint64    // highest token issued or fenced
	touched time.Time // last request about this resource
	held    bool
	owner   string
	token   uint64
	expires time.Time
}

// DefaultForgetAfter is Table.ForgetAfter's default.
const DefaultForgetAfter = 10 * time.Minute

// Decision is the table's answer to an Acquire or a Renew.
type Decision struct {
	// Granted says whether the owner holds the resource now.
	Granted bool
	// Reentry: the owner already held it (Acquire), or the lease was
	// extended (Renew); Token is the one it had.
	Reentry bool
	// Token is the grant's fencing token (0 when refused).
	Token uint64
	// Expires is when the grant ends unless renewed; when refused, when
	// the current holder's lease ends (zero when nobody holds it).
	Expires time.Time
	// Holder is the owner that holds the resource when refused ("" when
	// nobody does: a Renew of a lease that already ended).
	Holder string
	// Exhausted: an Acquire refused because the resource's counter is at
	// MaxToken, so no larger token can be issued.
	Exhausted bool
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{ForgetAfter: DefaultForgetAfter, res: make(map[string]*resState)}
}

// state returns the resource's state, creating it, and drops an expired
// grant.
func (t *Table) state(now time.Time, resource string) *resState {
	s := t.res[resource]
	if s == nil {
		s = &resState{}
		if us := now.UnixMicro(); us > 0 {
			s.counter = uint64(us) - 1 // at most MaxToken-1: us is an int64
		}
		t.res[resource] = s
	}
	if s.held && !now.Before(s.expires) {
		s.held, s.owner, s.token = false, "", 0
	}
	s.touched = now
	t.sweepBy(now.Add(t.forgetAfter()))
	return s
}

func (t *Table) forgetAfter() time.Duration {
	if t.ForgetAfter <= 0 {
		return DefaultForgetAfter
	}
	return t.ForgetAfter
}

// sweepBy records that Expire may have work at at.
func (t *Table) sweepBy(at time.Time) {
	if t.sweepAt.IsZero() || at.Before(t.sweepAt) {
		t.sweepAt = at
	}
}

// NextExpire returns when Expire next has work at the earliest: a grant
// ends, or a free resource's counter is due to be forgotten. It is never
// later than that (it may be earlier: Expire then finds nothing and sets it
// exactly). ok is false when the table is empty: Expire has nothing to do
// until the next request.
func (t *Table) NextExpire() (at time.Time, ok bool) {
	return t.sweepAt, !t.sweepAt.IsZero()
}

// Acquire grants resource to owner for lease, or refuses it when another
// owner holds it. lease must be positive.
func (t *Table) Acquire(now time.Time, resource, owner string, lease time.Duration) Decision {
	s := t.state(now, resource)
	switch {
	case s.held && s.owner == owner:
		s.expires = later(s.expires, now.Add(lease))
		return Decision{Granted: true, Reentry: true, Token: s.token, Expires: s.expires}
	case s.held:
		return Decision{Holder: s.owner, Expires: s.expires}
	case s.counter >= MaxToken:
		return Decision{Exhausted: true}
	}
	s.counter++
	s.held, s.owner, s.token, s.expires = true, owner, s.counter, now.Add(lease)
	t.sweepBy(s.expires)
	return Decision{Granted: true, Token: s.token, Expires: s.expires}
}

// Renew extends owner's grant of resource to now+lease (never shortens
// it). It is refused when owner does not hold it, including when its lease
// already ended.
func (t *Table) Renew(now time.Time, resource, owner string, lease time.Duration) Decision {
	s := t.state(now, resource)
	if !s.held || s.owner != owner {
		return Decision{Holder: s.owner, Expires: s.expires}
	}
	s.expires = later(s.expires, now.Add(lease))
	return Decision{Granted: true, Reentry: true, Token: s.token, Expires: s.expires}
}

// Release frees resource if owner holds it. It returns whether it did and,
// when it did not, who holds it ("" when nobody does).
func (t *Table) Release(now time.Time, resource, owner string) (released bool, holder string) {
	s := t.state(now, resource)
	if !s.held {
		return false, ""
	}
	if s.owner != owner {
		return false, s.owner
	}
	s.held, s.owner, s.token = false, "", 0
	return true, ""
}

// Fence tells the table that token was issued for resource elsewhere (a
// lock granted by several tables carries the highest of their tokens): the
// counter rises to at least token, and if owner holds the resource here
// its grant takes token as its own. It returns whether owner holds the
// resource here. A token above MaxToken is refused with ErrTokenRange and
// changes nothing.
func (t *Table) Fence(now time.Time, resource, owner string, token uint64) (held bool, err error) {
	if token > MaxToken {
		return false, tokenRangeError(resource, token)
	}
	s := t.state(now, resource)
	s.counter = max(s.counter, token)
	if !s.held || s.owner != owner {
		return false, nil
	}
	s.token = max(s.token, token)
	return true, nil
}

// Holder reports who holds resource at now.
func (t *Table) Holder(now time.Time, resource string) (owner string, token uint64, expires time.Time, ok bool) {
	s := t.res[resource]
	if s == nil || !s.held || !now.Before(s.expires) {
		return "", 0, time.Time{}, false
	}
	return s.owner, s.token, s.expires, true
}

// Counter returns resource's token counter (0 when the table has none).
func (t *Table) Counter(resource string) uint64 {
	if s := t.res[resource]; s != nil {
		return s.counter
	}
	return 0
}

// Expired is a grant that Expire found ended.
type Expired struct {
	Resource, Owner string
	Token           uint64
	Expires         time.Time
}

// Expire drops the grants that ended by now, and forgets the counters of
// resources free for longer than ForgetAfter. It returns the grants dropped.
func (t *Table) Expire(now time.Time) []Expired {
	var out []Expired
	forget := t.forgetAfter()
	t.sweepAt = time.Time{}
	for r, s := range t.res {
		if s.held && !now.Before(s.expires) {
			out = append(out, Expired{Resource: r, Owner: s.owner, Token: s.token, Expires: s.expires})
			s.held, s.owner, s.token = false, "", 0
		}
		switch at := forgetAt(s, forget); {
		case s.held:
			t.sweepBy(s.expires)
		case !now.Before(at):
			delete(t.res, r)
		default:
			t.sweepBy(at)
		}
	}
	return out
}

// Len is the number of resources held at now.
func (t *Table) Len(now time.Time) int {
	n := 0
	for _, s := range t.res {
		if s.held && now.Before(s.expires) {
			n++
		}
	}
	return n
}

// forgetAt is when a free resource's counter may be forgotten: forget
// after its last use, and not before the clock in microseconds has passed
// the counter (a counter that a fence raised above the clock), so that the
// counter that replaces it starts above it.
func forgetAt(s *resState, forget time.Duration) time.Time {
	// s.counter <= MaxToken = MaxInt64: the conversion cannot wrap.
	return later(s.touched.Add(forget), time.UnixMicro(int64(s.counter)).Add(time.Microsecond))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// String describes the grant of a decision, for logs and errors.
func (d Decision) String() string {
	switch {
	case d.Granted && d.Reentry:
		return fmt.Sprintf("granted again (token %d, until %s)", d.Token, d.Expires.Format(time.RFC3339Nano))
	case d.Granted:
		return fmt.Sprintf("granted (token %d, until %s)", d.Token, d.Expires.Format(time.RFC3339Nano))
	case d.Exhausted:
		return fmt.Sprintf("refused: fencing tokens exhausted (counter at MaxToken %d)", MaxToken)
	case d.Holder != "":
		return fmt.Sprintf("refused: held by %s until %s", d.Holder, d.Expires.Format(time.RFC3339Nano))
	}
	return "refused: not held"
}
