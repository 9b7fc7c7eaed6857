package wire

import (
	"fmt"
	"strings"
)

// LockType is how widely a lock is taken (see docs/ARCHITECTURE.md, "The
// lock service"). Values other than the four below are malformed on the
// wire: a node must not guess how strong a lock it was asked for. The zero
// value is no lock type at all, so that a Go field left unset (the locker's
// default, quorum) is never mistaken for a local lock.
type LockType uint8

const (
	LockLocal  LockType = 1 // this node only
	LockLeader LockType = 2 // the leader node
	LockQuorum LockType = 3 // a per-resource subset of members
	LockAll    LockType = 4 // every up member
)

// Valid reports whether t is one of the defined lock types.
func (t LockType) Valid() bool { return t >= LockLocal && t <= LockAll }

var lockTypeNames = [...]string{LockLocal: "local", LockLeader: "leader", LockQuorum: "quorum", LockAll: "all"}

func (t LockType) String() string {
	if t.Valid() {
		return lockTypeNames[t]
	}
	return fmt.Sprintf("lock-type(%d)", uint8(t))
}

// ParseLockType parses a lock type's name (local, leader, quorum or all,
// in any case).
func ParseLockType(s string) (LockType, error) {
	for t := LockLocal; t <= LockAll; t++ {
		if strings.EqualFold(s, lockTypeNames[t]) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("lock type %q, want local, leader, quorum or all", s)
}

// MarshalText writes the type's name ("" for the zero value), so that JSON
// and other text formats carry "quorum", not a number.
func (t LockType) MarshalText() ([]byte, error) {
	if t == 0 {
		return nil, nil
	}
	if !t.Valid() {
		return nil, fmt.Errorf("lock type %d, want %d..%d (local, leader, quorum, all)", uint8(t), LockLocal, LockAll)
	}
	return []byte(lockTypeNames[t]), nil
}

// UnmarshalText reads a name MarshalText wrote; "" is the zero value.
func (t *LockType) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = 0
		return nil
	}
	v, err := ParseLockType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (c *cursor) lockType(field string) LockType {
	v := LockType(c.u8(field))
	if c.err == nil && !v.Valid() {
		c.err = malformed(c.t, "%s is %d, want %d..%d (local, leader, quorum, all)", field, uint8(v), LockLocal, LockAll)
	}
	return v
}

// The lock messages (PROTOCOL.md section 6.6). LockAcquire, LockRelease,
// LockRenew and LockFence are service requests: their body begins with the
// locker's name, their header ID is the request id. LockGrant,
// LockReleased and LockRefuse are their answers, routed by that ID.

// LockAcquire asks a node's lock table for a grant.
//
//	str16 locker name
//	str16 resource
//	str16 owner
//	u8    lock type the requester takes (LockLocal..LockAll)
//	u32   lease, milliseconds
type LockAcquire struct {
	Locker      []byte
	Resource    []byte
	Owner       []byte
	Kind        LockType
	LeaseMillis uint32
}

func (*LockAcquire) Type() Type { return TypeLockAcquire }

func (m *LockAcquire) Append(b []byte) []byte {
	b = appendStr16(b, m.Locker)
	b = appendStr16(b, m.Resource)
	b = appendStr16(b, m.Owner)
	b = append(b, uint8(m.Kind))
	return appendU32(b, m.LeaseMillis)
}

func (m *LockAcquire) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockAcquire}
	m.Locker = c.str16("locker")
	m.Resource = c.str16("resource")
	m.Owner = c.str16("owner")
	m.Kind = c.lockType("lock type")
	m.LeaseMillis = c.u32("lease")
	return c.done()
}

// LockRelease asks a node's lock table to free the owner's grant.
//
//	str16 locker name
//	str16 resource
//	str16 owner
type LockRelease struct {
	Locker   []byte
	Resource []byte
	Owner    []byte
}

func (*LockRelease) Type() Type { return TypeLockRelease }

func (m *LockRelease) Append(b []byte) []byte {
	b = appendStr16(b, m.Locker)
	b = appendStr16(b, m.Resource)
	return appendStr16(b, m.Owner)
}

func (m *LockRelease) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockRelease}
	m.Locker = c.str16("locker")
	m.Resource = c.str16("resource")
	m.Owner = c.str16("owner")
	return c.done()
}

// LockRenew extends the owner's lease.
//
//	str16 locker name
//	str16 resource
//	str16 owner
//	u32   new lease from now, milliseconds
type LockRenew struct {
	Locker      []byte
	Resource    []byte
	Owner       []byte
	LeaseMillis uint32
}

func (*LockRenew) Type() Type { return TypeLockRenew }

func (m *LockRenew) Append(b []byte) []byte {
	b = appendStr16(b, m.Locker)
	b = appendStr16(b, m.Resource)
	b = appendStr16(b, m.Owner)
	return appendU32(b, m.LeaseMillis)
}

func (m *LockRenew) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockRenew}
	m.Locker = c.str16("locker")
	m.Resource = c.str16("resource")
	m.Owner = c.str16("owner")
	m.LeaseMillis = c.u32("lease")
	return c.done()
}

// LockFence tells a node's lock table a fencing token that another table
// granted the same owner the same lock with, so that its counter for the
// resource counts it as seen.
//
//	str16 locker name
//	str16 resource
//	str16 owner
//	u64   fencing token
type LockFence struct {
	Locker   []byte
	Resource []byte
	Owner    []byte
	Token    uint64
}

func (*LockFence) Type() Type { return TypeLockFence }

func (m *LockFence) Append(b []byte) []byte {
	b = appendStr16(b, m.Locker)
	b = appendStr16(b, m.Resource)
	b = appendStr16(b, m.Owner)
	return appendU64(b, m.Token)
}

func (m *LockFence) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockFence}
	m.Locker = c.str16("locker")
	m.Resource = c.str16("resource")
	m.Owner = c.str16("owner")
	m.Token = c.u64("fencing token")
	return c.done()
}

// lockGrantReentry is LockGrant's flag for a grant to an owner that held
// the lock already.
const lockGrantReentry = 0x01

// LockGrant answers a LockAcquire or LockRenew that was granted, and a
// LockFence whose owner holds the lock.
//
//	str16 resource
//	u64   fencing token, increasing per resource
//	u32   lease left on the answering node, milliseconds
//	u8    flags: bit 0 re-entry (the owner held the lock already); the other bits are 0
type LockGrant struct {
	Resource    []byte
	Token       uint64
	LeaseMillis uint32
	Reentry     bool
}

func (*LockGrant) Type() Type { return TypeLockGrant }

func (m *LockGrant) Append(b []byte) []byte {
	b = appendStr16(b, m.Resource)
	b = appendU64(b, m.Token)
	b = appendU32(b, m.LeaseMillis)
	var f uint8
	if m.Reentry {
		f |= lockGrantReentry
	}
	return append(b, f)
}

func (m *LockGrant) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockGrant}
	m.Resource = c.str16("resource")
	m.Token = c.u64("fencing token")
	m.LeaseMillis = c.u32("lease")
	f := c.u8("flags")
	if err := c.done(); err != nil {
		return err
	}
	if f&^lockGrantReentry != 0 {
		return malformed(TypeLockGrant, "flags are %#02x, want only bit 0 (re-entry) set or none", f)
	}
	m.Reentry = f&lockGrantReentry != 0
	return nil
}

// LockReleased answers a LockRelease that freed the owner's grant.
//
//	str16 resource
type LockReleased struct {
	Resource []byte
}

func (*LockReleased) Type() Type { return TypeLockReleased }

func (m *LockReleased) Append(b []byte) []byte { return appendStr16(b, m.Resource) }

func (m *LockReleased) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockReleased}
	m.Resource = c.str16("resource")
	return c.done()
}

// LockRefusal says why a lock table refused a request.
type LockRefusal uint8

const (
	// LockHeld: another owner holds the lock (LockRefuse.Holder).
	LockHeld LockRefusal = 1
	// LockNotHeld: a renew, release or fence by an owner that does not
	// hold the lock, which nobody holds.
	LockNotHeld LockRefusal = 2
	// LockExhausted: an acquire of a resource whose fencing token counter
	// is at its limit (2^63-1) in this table: no fresh grant can get a
	// larger token.
	LockExhausted LockRefusal = 3
)

// Valid reports whether r is one of the defined refusals.
func (r LockRefusal) Valid() bool { return r >= LockHeld && r <= LockExhausted }

func (r LockRefusal) String() string {
	switch r {
	case LockHeld:
		return "held"
	case LockNotHeld:
		return "not-held"
	case LockExhausted:
		return "exhausted"
	}
	return fmt.Sprintf("lock-refusal(%d)", uint8(r))
}

// LockRefuse answers a lock request that the table refused. A request the
// node did not serve at all (not from a member, a lease or token out of
// range) is answered with an ErrorReply instead.
//
//	str16 resource
//	u8    why (LockHeld, LockNotHeld, LockExhausted)
//	str16 owner holding the lock (empty when none)
//	u32   the holder's lease left on the answering node, milliseconds (0 when none)
type LockRefuse struct {
	Resource    []byte
	Reason      LockRefusal
	Holder      []byte
	LeaseMillis uint32
}

func (*LockRefuse) Type() Type { return TypeLockRefuse }

func (m *LockRefuse) Append(b []byte) []byte {
	b = appendStr16(b, m.Resource)
	b = append(b, uint8(m.Reason))
	b = appendStr16(b, m.Holder)
	return appendU32(b, m.LeaseMillis)
}

func (m *LockRefuse) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockRefuse}
	m.Resource = c.str16("resource")
	m.Reason = LockRefusal(c.u8("refusal"))
	if c.err == nil && !m.Reason.Valid() {
		c.err = malformed(TypeLockRefuse, "refusal is %d, want %d..%d (held, not held, exhausted)", uint8(m.Reason), LockHeld, LockExhausted)
	}
	m.Holder = c.str16("holder")
	m.LeaseMillis = c.u32("lease")
	return c.done()
}
