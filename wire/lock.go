package wire

import "fmt"

// LockType is how widely a lock is taken (see docs/ARCHITECTURE.md, "The lock service"). Values
// other than the four below are malformed: a node must not guess how strong a
// lock it was asked for.
type LockType uint8

const (
	LockLocal  LockType = 0 // this node only
	LockLeader LockType = 1 // the leader node
	LockQuorum LockType = 2 // a per-resource subset of members
	LockAll    LockType = 3 // every up member
)

// Valid reports whether t is one of the defined lock types.
func (t LockType) Valid() bool { return t <= LockAll }

func (t LockType) String() string {
	switch t {
	case LockLocal:
		return "local"
	case LockLeader:
		return "leader"
	case LockQuorum:
		return "quorum"
	case LockAll:
		return "all"
	}
	return fmt.Sprintf("lock-type(%d)", uint8(t))
}

// LockAcquire is the body of a TypeLockAcquire frame; the header ID is the
// request id, echoed by the LockGrant or LockRefuse that answers.
//
//	str16 locker name
//	str16 resource
//	str16 owner
//	u8    lock type (LockLocal, LockLeader, LockQuorum, LockAll)
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
	m.Kind = LockType(c.u8("lock type"))
	m.LeaseMillis = c.u32("lease")
	if err := c.done(); err != nil {
		return err
	}
	if !m.Kind.Valid() {
		return malformed(TypeLockAcquire, "lock type is %d, want %d..%d (local, leader, quorum, all)", uint8(m.Kind), LockLocal, LockAll)
	}
	return nil
}

// LockRelease is the body of a TypeLockRelease frame; the header ID is the
// request id.
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

// LockRenew is the body of a TypeLockRenew frame: extend the owner's lease;
// the header ID is the request id.
//
//	str16 locker name
//	str16 resource
//	str16 owner
//	u32   new lease, milliseconds
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

// LockGrant is the body of a TypeLockGrant frame, the positive answer to a
// LockAcquire or LockRenew with the same header ID.
//
//	str16 resource
//	u64   fencing token, increasing per resource
//	u32   lease, milliseconds
type LockGrant struct {
	Resource    []byte
	Token       uint64
	LeaseMillis uint32
}

func (*LockGrant) Type() Type { return TypeLockGrant }

func (m *LockGrant) Append(b []byte) []byte {
	b = appendStr16(b, m.Resource)
	b = appendU64(b, m.Token)
	return appendU32(b, m.LeaseMillis)
}

func (m *LockGrant) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockGrant}
	m.Resource = c.str16("resource")
	m.Token = c.u64("fencing token")
	m.LeaseMillis = c.u32("lease")
	return c.done()
}

// LockRefuse is the body of a TypeLockRefuse frame, the negative answer to a
// LockAcquire, LockRenew or LockRelease with the same header ID.
//
//	str16 resource
//	str16 owner currently holding the lock (empty when none)
//	u16   code (CodeRefused, CodeNotMember, ...)
//	rest  UTF-8 reason
type LockRefuse struct {
	Resource []byte
	Holder   []byte
	Code     Code
	Reason   []byte
}

func (*LockRefuse) Type() Type { return TypeLockRefuse }

func (m *LockRefuse) Append(b []byte) []byte {
	b = appendStr16(b, m.Resource)
	b = appendStr16(b, m.Holder)
	b = appendU16(b, uint16(m.Code))
	return append(b, m.Reason...)
}

func (m *LockRefuse) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLockRefuse}
	m.Resource = c.str16("resource")
	m.Holder = c.str16("holder")
	m.Code = Code(c.u16("code"))
	m.Reason = c.rest()
	return c.done()
}
