package locker

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// TestMessagesRoundTrip: every operation's request, and every table
// answer, goes through the wire's lock messages and back unchanged.
func TestMessagesRoundTrip(t *testing.T) {
	reqs := map[int]opRequest{
		mAcquire: {Kind: Leader, Lease: 1500 * time.Millisecond, Resource: "res", Owner: "n1@h/default/x"},
		mRenew:   {Lease: time.Minute, Resource: "res", Owner: "o"},
		mRelease: {Resource: "res", Owner: "o"},
		mFence:   {Token: MaxToken, Resource: "res", Owner: "o"},
	}
	for op, req := range reqs {
		m, err := req.message(op, "sessions")
		if err != nil {
			t.Fatalf("%s: %v", opNames[op], err)
		}
		if m.Type() != opTypes[op] {
			t.Fatalf("%s travels as %s, want %s", opNames[op], m.Type(), opTypes[op])
		}
		body := m.Append(nil)
		if !strings.HasPrefix(string(body), "\x00\x08sessions") {
			t.Fatalf("%s body %q does not begin with the locker's name as a str16", opNames[op], body)
		}
		gotOp, got, err := decodeRequest(m.Type(), body)
		if err != nil || gotOp != op || got != req {
			t.Fatalf("%s round trip: op %d %+v, %v; want %+v", opNames[op], gotOp, got, err, req)
		}
	}
	replies := []struct {
		op  int
		r   opReply
		typ wire.Type
	}{
		{mAcquire, opReply{Status: stGranted, Token: 9, Remaining: time.Second}, wire.TypeLockGrant},
		{mAcquire, opReply{Status: stReentry, Token: 9, Remaining: time.Second}, wire.TypeLockGrant},
		{mAcquire, opReply{Status: stRefused, Holder: "other", Remaining: 250 * time.Millisecond}, wire.TypeLockRefuse},
		{mAcquire, opReply{Status: stExhausted}, wire.TypeLockRefuse},
		{mRelease, opReply{Status: stReleased}, wire.TypeLockReleased},
		{mRelease, opReply{Status: stRefused}, wire.TypeLockRefuse},
		{mFence, opReply{Status: stGranted, Token: MaxToken, Remaining: time.Hour}, wire.TypeLockGrant},
	}
	for _, c := range replies {
		typ, body := c.r.answer("res")
		if typ != c.typ {
			t.Fatalf("%+v travels as %s, want %s", c.r, typ, c.typ)
		}
		got, err := decodeAnswer(c.op, typ, body)
		if err != nil || got != c.r {
			t.Fatalf("answer round trip: %+v, %v; want %+v", got, err, c.r)
		}
	}
}

func TestMessagesRefused(t *testing.T) {
	if _, err := (&opRequest{Resource: strings.Repeat("x", 70000)}).message(mAcquire, "d"); err == nil || !strings.Contains(err.Error(), "70000 bytes") {
		t.Fatalf("a 70000-byte resource: %v, want an error naming its size", err)
	}
	if _, err := (&opRequest{Token: MaxToken + 1, Resource: "r"}).message(mFence, "d"); !errors.Is(err, ErrTokenRange) {
		t.Fatalf("a fence with token MaxToken+1: %v, want ErrTokenRange", err)
	}
	grant := (&wire.LockGrant{Resource: []byte("r"), Token: math.MaxUint64}).Append(nil)
	if _, err := decodeAnswer(mAcquire, wire.TypeLockGrant, grant); !errors.Is(err, ErrTokenRange) {
		t.Fatalf("a grant with token 2^64-1: %v, want ErrTokenRange", err)
	}
	released := (&wire.LockReleased{Resource: []byte("r")}).Append(nil)
	if _, err := decodeAnswer(mAcquire, wire.TypeLockReleased, released); err == nil || !strings.Contains(err.Error(), "lock-released answers a acquire") {
		t.Fatalf("an acquire answered lock-released: %v, want an error naming both", err)
	}
	ok := (&wire.LockGrant{Resource: []byte("r"), Token: 1}).Append(nil)
	if _, err := decodeAnswer(mRelease, wire.TypeLockGrant, ok); err == nil || !strings.Contains(err.Error(), "answers a release") {
		t.Fatalf("a release answered lock-grant: %v, want an error", err)
	}
	if _, err := decodeAnswer(mAcquire, wire.TypeViewReply, nil); err == nil || !strings.Contains(err.Error(), "want lock-grant, lock-released or lock-refuse") {
		t.Fatalf("an acquire answered view-reply: %v, want an error naming the answers", err)
	}
	if _, _, err := decodeRequest(wire.TypeLockAcquire, []byte{0, 1, 'd'}); !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("a truncated acquire: %v, want wire.ErrTruncated", err)
	}
	if _, _, err := decodeRequest(wire.TypeLockGrant, nil); err == nil || !strings.Contains(err.Error(), "not a lock request") {
		t.Fatalf("a lock-grant as a request: %v, want refused", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for op, t := range opTypes {
		m, _ := (&opRequest{Kind: Quorum, Lease: time.Second, Token: 3, Resource: "r", Owner: "o"}).message(op, "d")
		f.Add(uint8(t), m.Append(nil))
	}
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		op, r, err := decodeRequest(wire.Type(typ), b)
		if err != nil || r.Token > MaxToken {
			return
		}
		m, err := r.message(op, "d")
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", r, err)
		}
		if op2, r2, err := decodeRequest(m.Type(), m.Append(nil)); err != nil || op2 != op || r2 != r {
			t.Fatalf("re-decode: %d %+v %v, want %d %+v", op2, r2, err, op, r)
		}
	})
}

// TestSecondLockerOfTheSameName: a node runs one locker per name; the
// second is refused because the node refuses its registrations, and the
// name is free again once the first is closed. Another name is another
// locker. No registry outside the node keeps the names.
func TestSecondLockerOfTheSameName(t *testing.T) {
	c := meshtest.Started(t, 1, nil)
	first, err := New(c.Node(0), Config{Name: "jobs"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(c.Node(0), Config{Name: "jobs"})
	if !errors.Is(err, mesh.ErrHandlerExists) || !strings.Contains(err.Error(), `already runs a lock service named "jobs"`) {
		t.Fatalf("a second locker named jobs: %v, want refused as already running, wrapping mesh.ErrHandlerExists", err)
	}
	other, err := New(c.Node(0), Config{Name: "sessions"})
	if err != nil {
		t.Fatalf("a locker of another name: %v", err)
	}
	defer other.Close()
	// The refused locker took nothing: the first still serves its table.
	if r, err := first.Acquire(context.Background(), "r", Options{Type: Local}); err != nil || !r.OK {
		t.Fatalf("acquire on the first locker after the refusal: %+v, %v", r, err)
	}
	first.Close()
	again, err := New(c.Node(0), Config{Name: "jobs"})
	if err != nil {
		t.Fatalf("a locker named jobs after the first closed: %v", err)
	}
	again.Close()
}
