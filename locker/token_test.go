package locker

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// TestTableTokenBoundary fences a free resource with tokens around the top
// of the range and checks what the next grants get: a token above the
// previous one, or a refusal, never a wrapped token.
func TestTableTokenBoundary(t *testing.T) {
	cases := []struct {
		name  string
		fence uint64
		// want after the fence
		fenceErr  bool
		counter   uint64 // counter after the fence (0: unchanged)
		nextToken uint64 // token of the next grant (0: refused, exhausted)
	}{
		{name: "max-1", fence: MaxToken - 1, counter: MaxToken - 1, nextToken: MaxToken},
		{name: "max", fence: MaxToken, counter: MaxToken, nextToken: 0},
		{name: "max+1", fence: MaxToken + 1, fenceErr: true},
		{name: "2^64-1", fence: math.MaxUint64, fenceErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable()
			first := tb.Acquire(t0, "r", "a", time.Second)
			tb.Release(t0, "r", "a")
			before := tb.Counter("r")

			held, err := tb.Fence(t0, "r", "x", tc.fence)
			if tc.fenceErr {
				if err == nil || !errors.Is(err, ErrTokenRange) || held {
					t.Fatalf("fence %d: held=%v err=%v, want refused with ErrTokenRange", tc.fence, held, err)
				}
				for _, want := range []string{strconv.FormatUint(tc.fence, 10), strconv.FormatUint(MaxToken, 10), `"r"`} {
					if !strings.Contains(err.Error(), want) {
						t.Fatalf("fence %d: error %q does not name %s", tc.fence, err, want)
					}
				}
				if c := tb.Counter("r"); c != before {
					t.Fatalf("refused fence changed the counter: %d, want %d", c, before)
				}
				d := tb.Acquire(t0, "r", "b", time.Second)
				if !d.Granted || d.Token != first.Token+1 {
					t.Fatalf("grant after a refused fence: %+v, want token %d", d, first.Token+1)
				}
				return
			}
			if err != nil || held {
				t.Fatalf("fence %d of a free resource: held=%v err=%v, want accepted, not held", tc.fence, held, err)
			}
			if c := tb.Counter("r"); c != tc.counter {
				t.Fatalf("counter after fence %d: %d, want %d", tc.fence, c, tc.counter)
			}
			d := tb.Acquire(t0, "r", "b", time.Second)
			if tc.nextToken != 0 {
				if !d.Granted || d.Token != tc.nextToken || d.Token <= first.Token {
					t.Fatalf("grant after fence %d: %+v, want token %d", tc.fence, d, tc.nextToken)
				}
				tb.Release(t0, "r", "b")
				d = tb.Acquire(t0, "r", "c", time.Second)
			}
			// The counter is at MaxToken now: no fresh grant, no wrap.
			if d.Granted || !d.Exhausted || d.Token != 0 || d.Holder != "" {
				t.Fatalf("grant with the counter at MaxToken: %+v, want refused, Exhausted", d)
			}
			if s := d.String(); !strings.Contains(s, "exhausted") || !strings.Contains(s, strconv.FormatUint(MaxToken, 10)) {
				t.Fatalf("exhausted decision reads %q, want it to say exhausted and name MaxToken", s)
			}
			if c := tb.Counter("r"); c != MaxToken {
				t.Fatalf("counter after the refused grant: %d, want %d", c, MaxToken)
			}
		})
	}
}

// TestTableFenceHolderAtMax: a holder fenced to MaxToken keeps its grant and
// re-enters with that token; a fresh owner is refused once it is released.
func TestTableFenceHolderAtMax(t *testing.T) {
	tb := NewTable()
	tb.Acquire(t0, "r", "a", time.Second)
	if held, err := tb.Fence(t0, "r", "a", MaxToken); !held || err != nil {
		t.Fatalf("fence the holder to MaxToken: held=%v err=%v, want held", held, err)
	}
	if d := tb.Acquire(t0, "r", "a", time.Second); !d.Granted || !d.Reentry || d.Token != MaxToken {
		t.Fatalf("re-entry at MaxToken: %+v, want granted again with token %d", d, MaxToken)
	}
	if d := tb.Acquire(t0, "r", "b", time.Second); d.Granted || d.Holder != "a" || d.Exhausted {
		t.Fatalf("another owner while a holds: %+v, want refused naming a", d)
	}
	tb.Release(t0, "r", "a")
	if d := tb.Acquire(t0, "r", "b", time.Second); d.Granted || !d.Exhausted {
		t.Fatalf("fresh grant after release at MaxToken: %+v, want refused, Exhausted", d)
	}
}

// TestTableForgetWaitsForClock: a counter that a fence raised above the
// clock is not forgotten until the clock passes it, so the counter that
// replaces it (starting at the clock) still issues larger tokens.
func TestTableForgetWaitsForClock(t *testing.T) {
	tb := NewTable()
	tb.ForgetAfter = time.Minute
	ahead := uint64(t0.Add(time.Hour).UnixMicro())
	tb.Acquire(t0, "r", "a", time.Second)
	tb.Release(t0, "r", "a")
	if _, err := tb.Fence(t0, "r", "x", ahead); err != nil {
		t.Fatal(err)
	}
	tb.Expire(t0.Add(2 * time.Minute))
	if c := tb.Counter("r"); c != ahead {
		t.Fatalf("counter after ForgetAfter, clock behind it: %d, want kept at %d", c, ahead)
	}
	at, ok := tb.NextExpire()
	if want := t0.Add(time.Hour + time.Microsecond); !ok || !at.Equal(want) {
		t.Fatalf("next expiry: %v %v, want when the clock passes the counter, %v", at, ok, want)
	}
	tb.Expire(at)
	if c := tb.Counter("r"); c != 0 {
		t.Fatalf("counter once the clock passed it: %d, want forgotten", c)
	}
	if d := tb.Acquire(at, "r", "b", time.Second); !d.Granted || d.Token <= ahead {
		t.Fatalf("grant after the counter was forgotten: %+v, want a token above %d", d, ahead)
	}

	// A counter at MaxToken is never forgotten before the clock reaches
	// it, and computing when does not overflow.
	tb.Fence(at, "top", "x", MaxToken)
	tb.Expire(at.Add(24 * time.Hour))
	if c := tb.Counter("top"); c != MaxToken {
		t.Fatalf("counter at MaxToken after a day: %d, want kept", c)
	}
	if next, ok := tb.NextExpire(); !ok || !next.After(at.Add(100*365*24*time.Hour)) {
		t.Fatalf("next expiry with a counter at MaxToken: %v, want centuries ahead", next)
	}
}

// TestFenceTokenRangeOnTheWire: a fence with token MaxToken travels and
// decodes; one with 2^64-1 decodes too (the wire has 64 bits), and is for
// the serving locker to refuse (TestHiddenClientCannotFence); a grant
// carrying such a token is refused by the requester; an exhausted refusal
// reads as such.
func TestFenceTokenRangeOnTheWire(t *testing.T) {
	m, err := (&opRequest{Token: MaxToken, Resource: "r", Owner: "o"}).message(mFence, "tok")
	if err != nil {
		t.Fatalf("a fence with token MaxToken: %v", err)
	}
	if op, r, err := decodeRequest(m.Type(), m.Append(nil)); err != nil || op != mFence || r.Token != MaxToken {
		t.Fatalf("decode a fence with token MaxToken: %d %+v, %v", op, r, err)
	}
	wrap := (&wire.LockFence{Locker: []byte("tok"), Resource: []byte("r"), Owner: []byte("o"), Token: math.MaxUint64}).Append(nil)
	if _, r, err := decodeRequest(wire.TypeLockFence, wrap); err != nil || r.Token != math.MaxUint64 {
		t.Fatalf("decode a fence with token 2^64-1: %+v, %v", r, err)
	}
	grant := (&wire.LockGrant{Resource: []byte("r"), Token: math.MaxUint64}).Append(nil)
	if _, err := decodeAnswer(mAcquire, wire.TypeLockGrant, grant); !errors.Is(err, ErrTokenRange) || !strings.Contains(err.Error(), "18446744073709551615") {
		t.Fatalf("decode a grant with token 2^64-1: %v, want ErrTokenRange naming the token", err)
	}
	at, body := (&opReply{Status: stExhausted}).answer("r")
	if r, err := decodeAnswer(mAcquire, at, body); err != nil || r.Status != stExhausted {
		t.Fatalf("decode an exhausted refusal: %+v, %v", r, err)
	}
}

func TestAdmitCaller(t *testing.T) {
	members := []string{"n1@h", "n2@h"}
	cases := []struct {
		name, from string
		hidden     bool
		want       string // "" admitted, else a word the error must contain
	}{
		{"member", "n2@h", false, ""},
		{"self", "n1@h", false, ""},
		{"self not in table", "n3@h", false, "not a member"},
		{"non-member", "x@h", false, "not a member"},
		{"hidden client", "ctl-1@127.0.0.1", true, "hidden client"},
		{"hidden client with a member's name", "n2@h", true, "hidden client"},
		{"hidden client with this node's name", "n1@h", true, "hidden client"},
	}
	for _, tc := range cases {
		self := "n1@h"
		if tc.name == "self not in table" {
			self = "n4@h"
		}
		err := admitCaller("locker:d:fence", tc.from, self, tc.hidden, slices.Contains(members, tc.from), "locker:d:ctl")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v, want admitted", tc.name, err)
		case tc.want != "" && (!errors.Is(err, ErrNotMember) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.from)):
			t.Errorf("%s: %v, want ErrNotMember saying %q and naming %s", tc.name, err, tc.want, tc.from)
		}
	}
}

// tokenCluster starts n formed nodes with a locker each and a hidden
// client connected to node 0.
func tokenCluster(t *testing.T, n int) (*meshtest.Cluster, []*Locker, *mesh.Client) {
	t.Helper()
	c := meshtest.Formed(t, n, nil)
	ls := make([]*Locker, n)
	t.Cleanup(func() {
		for _, l := range ls {
			if l != nil {
				l.Close()
			}
		}
	})
	ctx := testnet.Context(t, 20*time.Second)
	var err error
	for i := range n {
		if ls[i], err = New(c.Node(i), Config{Name: "tok"}); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: c.Config(0).Cookie, Addr: c.Node(0).Addr().String(), Name: c.Name(1)}, c.Name(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return c, ls, cl
}

// TestHiddenClientCannotFence: a hidden client (even one that names itself
// after a member) sends fences with token 2^64-1 and other lock table
// requests; all are refused, and the next lock's token is still above the
// previous one. Relayed through a node's "call" built-in, the fence
// arrives from a member and is refused for its token instead.
func TestHiddenClientCannotFence(t *testing.T) {
	c, ls, cl := tokenCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const res = "fenced"
	acquire := func(owner string) uint64 {
		t.Helper()
		r, err := ls[0].Acquire(ctx, res, Options{Type: Quorum, Owner: owner})
		if err != nil || !r.OK {
			t.Fatalf("acquire %s by %s: %+v, %v; want granted", res, owner, r, err)
		}
		if _, err := ls[0].Release(ctx, res, Options{Type: Quorum, Owner: owner}); err != nil {
			t.Fatal(err)
		}
		return r.Token
	}
	prev := acquire("before")

	fence := func(token uint64) []byte {
		return (&wire.LockFence{Locker: []byte("tok"), Resource: []byte(res), Owner: []byte("evil"), Token: token}).Append(nil)
	}
	top, wrap := fence(MaxToken), fence(math.MaxUint64)
	hidden := dialHidden(t, ctx, c, 0, c.Name(1))
	requests := map[wire.Type][]byte{
		wire.TypeLockFence:   wrap,
		wire.TypeLockAcquire: (&wire.LockAcquire{Locker: []byte("tok"), Resource: []byte(res), Owner: []byte("evil"), Kind: Quorum, LeaseMillis: 1000}).Append(nil),
		wire.TypeLockRenew:   (&wire.LockRenew{Locker: []byte("tok"), Resource: []byte(res), Owner: []byte("evil"), LeaseMillis: 1000}).Append(nil),
		wire.TypeLockRelease: (&wire.LockRelease{Locker: []byte("tok"), Resource: []byte(res), Owner: []byte("evil")}).Append(nil),
	}
	for typ, body := range requests {
		at, answer := hidden.request(t, ctx, typ, body)
		var e wire.ErrorReply
		if at != wire.TypeErrorReply || e.Decode(answer) != nil || !strings.Contains(string(e.Message), "hidden client") || !strings.Contains(string(e.Message), Method("tok", "ctl")) {
			t.Fatalf("%s from a hidden client named %s: answered %s %q, want an error reply refusing a hidden client, pointing to the ctl method", typ, c.Name(1), at, answer)
		}
	}
	// No RPC method reaches a lock table: relaying through the "call"
	// built-in finds no handler.
	_, err := cl.Admin(ctx, mesh.MethodCall, mesh.AdminRequest{Node: c.Name(0), Method: Method("tok", "fence"), Payload: top})
	if err == nil || !strings.Contains(err.Error(), "no handler for method "+Method("tok", "fence")) {
		t.Fatalf("a fence relayed as a call: %v, want no handler for the method", err)
	}
	// From member node 0 to nodes 1 and 2: refused for the token.
	for _, i := range []int{1, 2} {
		_, _, err := c.Node(0).Request(ctx, c.Name(i), wire.TypeLockFence, wrap)
		if err == nil || !strings.Contains(err.Error(), "above the limit") || !strings.Contains(err.Error(), "18446744073709551615") {
			t.Fatalf("fence with token 2^64-1 from %s to %s: %v, want refused naming the token and the limit", c.Name(0), c.Name(i), err)
		}
	}
	next := acquire("after")
	if next <= prev {
		t.Fatalf("token after the hostile fences: %d, want above the previous %d", next, prev)
	}
	for i, l := range ls {
		if cnt := l.table.Counter(res); cnt >= MaxToken/2 {
			t.Fatalf("node %d's counter for %s is %d after refused fences, want near the clock", i, res, cnt)
		}
	}

	// ctl's own path still locks and unlocks on a member's behalf.
	lock, _ := json.Marshal(CtlRequest{Op: "lock", Resource: res, Type: Quorum, Owner: "ctl-owner"})
	raw, err := cl.Call(ctx, Method("tok", "ctl"), lock)
	var rep CtlReply
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil || !rep.OK() || rep.Token <= next {
		t.Fatalf("ctl lock: %+v, %v; want acquired with a token above %d", rep, err, next)
	}
	unlock, _ := json.Marshal(CtlRequest{Op: "unlock", Resource: res, Type: Quorum, Owner: "ctl-owner"})
	raw, err = cl.Call(ctx, Method("tok", "ctl"), unlock)
	rep = CtlReply{}
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil || !rep.OK() {
		t.Fatalf("ctl unlock: %+v, %v; want released", rep, err)
	}
}

// hiddenLink is a hidden client's link made with conn directly, since
// mesh.Client sends calls only: it sends lock messages and reads their
// answers, as a hostile ctl could.
type hiddenLink struct {
	c       *conn.Conn
	nextID  uint64
	answers chan hiddenAnswer
}

type hiddenAnswer struct {
	id   uint64
	t    wire.Type
	body []byte
}

// dialHidden links to node i of c as a hidden client named name.
func dialHidden(t *testing.T, ctx context.Context, c *meshtest.Cluster, i int, name string) *hiddenLink {
	t.Helper()
	cfg := conn.DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Hidden, cfg.GUID = name, c.Config(i).Cookie, true, mesh.NewGUID()
	cc, err := conn.Dial(ctx, &cfg, c.Name(i), c.Node(i).Addr().String())
	if err != nil {
		t.Fatalf("hidden client links to %s: %v", c.Name(i), err)
	}
	t.Cleanup(func() {
		cc.Close(wire.CodeShutdown, "test over")
		<-cc.Done()
	})
	h := &hiddenLink{c: cc, answers: make(chan hiddenAnswer, 16)}
	cc.Start(func(cc *conn.Conn, hdr wire.Header, body []byte, _ bool) {
		switch {
		case hdr.Type == wire.TypePing:
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			cc.Send(sctx, wire.TypePong, hdr.ID, body, nil)
		case hdr.Type.IsAnswer():
			h.answers <- hiddenAnswer{hdr.ID, hdr.Type, slices.Clone(body)}
		}
	})
	return h
}

// request sends a service message with a fresh request ID and waits for
// its answer.
func (h *hiddenLink) request(t *testing.T, ctx context.Context, typ wire.Type, body []byte) (wire.Type, []byte) {
	t.Helper()
	h.nextID++
	if err := h.c.Send(ctx, typ, h.nextID, body, nil); err != nil {
		t.Fatalf("hidden client sends %s: %v", typ, err)
	}
	for {
		select {
		case a := <-h.answers:
			if a.id == h.nextID {
				return a.t, a.body
			}
		case <-ctx.Done():
			t.Fatalf("no answer to the hidden client's %s: %v", typ, ctx.Err())
		}
	}
}
