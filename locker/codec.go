package locker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The locker's RPC payloads between nodes: a small binary encoding of its
// own, carried by the node's Call (the method name says the operation and
// the locker's name).
//
//	request: u32 lease ms | u64 token | u16 len | resource | u16 len | owner
//	reply:   u8 status | u64 token | u32 remaining lease ms | u16 len | holder
//
// Fields an operation does not use are zero. A token is at most MaxToken
// (2^63-1): neither side encodes or accepts a larger one.

// opRequest is one request between lockers.
type opRequest struct {
	Lease    time.Duration
	Token    uint64
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

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

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

func (r *opRequest) encode() ([]byte, error) {
	if len(r.Resource) > maxStr || len(r.Owner) > maxStr {
		return nil, fmt.Errorf("locker: resource (%d bytes) and owner (%d bytes) must be at most %d bytes each", len(r.Resource), len(r.Owner), maxStr)
	}
	if r.Token > MaxToken {
		return nil, tokenRangeError(r.Resource, r.Token)
	}
	b := make([]byte, 0, 16+len(r.Resource)+len(r.Owner))
	b = binary.BigEndian.AppendUint32(b, leaseMillis(r.Lease))
	b = binary.BigEndian.AppendUint64(b, r.Token)
	b = appendStr(b, r.Resource)
	return appendStr(b, r.Owner), nil
}

var errShort = errors.New("truncated")

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errShort
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (r *reader) str() string {
	n := r.take(2)
	if n == nil {
		return ""
	}
	return string(r.take(int(binary.BigEndian.Uint16(n))))
}

func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("locker: malformed %s: %v", what, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("locker: malformed %s: %d trailing bytes, want none", what, len(r.b))
	}
	return nil
}

func decodeRequest(b []byte) (opRequest, error) {
	rd := reader{b: b}
	var r opRequest
	r.Lease = time.Duration(rd.u32()) * time.Millisecond
	r.Token = rd.u64()
	r.Resource = rd.str()
	r.Owner = rd.str()
	if err := rd.done("request"); err != nil {
		return r, err
	}
	if r.Token > MaxToken {
		return r, tokenRangeError(r.Resource, r.Token)
	}
	return r, nil
}

func (r *opReply) encode() []byte {
	b := make([]byte, 0, 16+len(r.Holder))
	b = append(b, uint8(r.Status))
	b = binary.BigEndian.AppendUint64(b, r.Token)
	b = binary.BigEndian.AppendUint32(b, leaseMillis(r.Remaining))
	return appendStr(b, r.Holder)
}

func decodeReply(b []byte) (opReply, error) {
	rd := reader{b: b}
	var r opReply
	r.Status = status(rd.u8())
	r.Token = rd.u64()
	r.Remaining = time.Duration(rd.u32()) * time.Millisecond
	r.Holder = rd.str()
	if err := rd.done("reply"); err != nil {
		return r, err
	}
	if r.Status < stGranted || r.Status > stExhausted {
		return r, fmt.Errorf("locker: malformed reply: status %d, want %d..%d", r.Status, stGranted, stExhausted)
	}
	if r.Token > MaxToken {
		return r, fmt.Errorf("locker: malformed reply: token %d is above the limit %d (MaxToken, 2^63-1): %w", r.Token, MaxToken, ErrTokenRange)
	}
	return r, nil
}
