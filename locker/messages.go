package locker

import (
	"fmt"
	"math"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// The locker's traffic between nodes is the wire's lock messages
// (PROTOCOL.md section 6.6) on the control lane: LockAcquire, LockRenew,
// LockRelease and LockFence, answered with LockGrant, LockReleased or
// LockRefuse. This file turns an operation on a table into its request,
// and an answer into what the operation needs.

// The operations between lockers, and "ctl" for ekka-mesh ctl (a method).
const (
	mAcquire = iota
	mRenew
	mRelease
	mFence
	mCtl
)

var opNames = [...]string{mAcquire: "acquire", mRenew: "renew", mRelease: "release", mFence: "fence", mCtl: "ctl"}

// opTypes are the request types of the operations between lockers.
var opTypes = [...]wire.Type{mAcquire: wire.TypeLockAcquire, mRenew: wire.TypeLockRenew, mRelease: wire.TypeLockRelease, mFence: wire.TypeLockFence}

// opRequest is one request between lockers.
type opRequest struct {
	Kind     Type // the lock type taken (acquire)
	Lease    time.Duration
	Token    uint64 // fence
	Resource string
	Owner    string
}

// status is a table's answer.
type status uint8

const (
	stGranted  status = 1 // granted (acquire, renew, fence: held)
	stReentry  status = 2 // granted again: the owner already held it
	stRefused  status = 3 // refused: held by Holder, or not held (renew, fence, release)
	stReleased status = 4 // released
	// stExhausted: acquire refused, the resource's counter is at MaxToken.
	stExhausted status = 5
)

// opReply is one table's answer.
type opReply struct {
	Status status
	Token  uint64
	// Remaining is how long the grant (or, when refused, the holder's
	// grant) still runs on the answering node.
	Remaining time.Duration
	Holder    string
}

const maxStr = math.MaxUint16

func leaseMillis(d time.Duration) uint32 {
	ms := d.Milliseconds()
	if ms < 0 {
		return 0
	}
	if ms > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(ms)
}

func millis(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

// message is the wire request of op for the locker named locker.
func (r *opRequest) message(op int, locker string) (wire.Message, error) {
	if len(r.Resource) > maxStr || len(r.Owner) > maxStr {
		return nil, fmt.Errorf("locker: resource (%d bytes) and owner (%d bytes) must be at most %d bytes each", len(r.Resource), len(r.Owner), maxStr)
	}
	if r.Token > MaxToken {
		return nil, tokenRangeError(r.Resource, r.Token)
	}
	l, res, o := []byte(locker), []byte(r.Resource), []byte(r.Owner)
	switch op {
	case mAcquire:
		return &wire.LockAcquire{Locker: l, Resource: res, Owner: o, Kind: r.Kind, LeaseMillis: leaseMillis(r.Lease)}, nil
	case mRenew:
		return &wire.LockRenew{Locker: l, Resource: res, Owner: o, LeaseMillis: leaseMillis(r.Lease)}, nil
	case mRelease:
		return &wire.LockRelease{Locker: l, Resource: res, Owner: o}, nil
	case mFence:
		return &wire.LockFence{Locker: l, Resource: res, Owner: o, Token: r.Token}, nil
	}
	return nil, fmt.Errorf("locker: operation %d has no message", op)
}

// decodeRequest decodes a request of type t: its operation and fields.
func decodeRequest(t wire.Type, body []byte) (int, opRequest, error) {
	var r opRequest
	switch t {
	case wire.TypeLockAcquire:
		var m wire.LockAcquire
		if err := m.Decode(body); err != nil {
			return 0, r, err
		}
		r = opRequest{Kind: m.Kind, Lease: millis(m.LeaseMillis), Resource: string(m.Resource), Owner: string(m.Owner)}
		return mAcquire, r, nil
	case wire.TypeLockRenew:
		var m wire.LockRenew
		if err := m.Decode(body); err != nil {
			return 0, r, err
		}
		r = opRequest{Lease: millis(m.LeaseMillis), Resource: string(m.Resource), Owner: string(m.Owner)}
		return mRenew, r, nil
	case wire.TypeLockRelease:
		var m wire.LockRelease
		if err := m.Decode(body); err != nil {
			return 0, r, err
		}
		return mRelease, opRequest{Resource: string(m.Resource), Owner: string(m.Owner)}, nil
	case wire.TypeLockFence:
		var m wire.LockFence
		if err := m.Decode(body); err != nil {
			return 0, r, err
		}
		// A token above MaxToken is the caller's to refuse (after it
		// has admitted the sender).
		return mFence, opRequest{Token: m.Token, Resource: string(m.Resource), Owner: string(m.Owner)}, nil
	}
	return 0, r, fmt.Errorf("%s is not a lock request, want lock-acquire, lock-renew, lock-release or lock-fence", t)
}

// answer is the wire answer for a table's reply to a request on resource.
func (r *opReply) answer(resource string) (wire.Type, []byte) {
	res := []byte(resource)
	switch r.Status {
	case stGranted, stReentry:
		m := wire.LockGrant{Resource: res, Token: r.Token, LeaseMillis: leaseMillis(r.Remaining), Reentry: r.Status == stReentry}
		return m.Type(), m.Append(nil)
	case stReleased:
		m := wire.LockReleased{Resource: res}
		return m.Type(), m.Append(nil)
	}
	m := wire.LockRefuse{Resource: res, Reason: wire.LockNotHeld, Holder: []byte(r.Holder), LeaseMillis: leaseMillis(r.Remaining)}
	switch {
	case r.Status == stExhausted:
		m.Reason = wire.LockExhausted
	case r.Holder != "":
		m.Reason = wire.LockHeld
	}
	return m.Type(), m.Append(nil)
}

// decodeAnswer reads a table's answer of type t to op.
func decodeAnswer(op int, t wire.Type, body []byte) (opReply, error) {
	var r opReply
	switch t {
	case wire.TypeLockGrant:
		var m wire.LockGrant
		if err := m.Decode(body); err != nil {
			return r, err
		}
		r = opReply{Status: stGranted, Token: m.Token, Remaining: millis(m.LeaseMillis)}
		if m.Reentry {
			r.Status = stReentry
		}
		if r.Token > MaxToken {
			return r, fmt.Errorf("locker: malformed %s: token %d is above the limit %d (MaxToken, 2^63-1): %w", t, r.Token, MaxToken, ErrTokenRange)
		}
		if op == mRelease {
			return r, fmt.Errorf("locker: %s answers a release, want lock-released or lock-refuse", t)
		}
		return r, nil
	case wire.TypeLockReleased:
		var m wire.LockReleased
		if err := m.Decode(body); err != nil {
			return r, err
		}
		if op != mRelease {
			return r, fmt.Errorf("locker: %s answers a %s, want lock-grant or lock-refuse", t, opNames[op])
		}
		return opReply{Status: stReleased}, nil
	case wire.TypeLockRefuse:
		var m wire.LockRefuse
		if err := m.Decode(body); err != nil {
			return r, err
		}
		r = opReply{Status: stRefused, Holder: string(m.Holder), Remaining: millis(m.LeaseMillis)}
		if m.Reason == wire.LockExhausted {
			r.Status = stExhausted
		}
		return r, nil
	}
	return r, fmt.Errorf("locker: a %s answers a %s request, want lock-grant, lock-released or lock-refuse", t, opNames[op])
}
