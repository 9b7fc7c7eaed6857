package locker

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestTableGrantRefuseRelease(t *testing.T) {
	tb := NewTable()
	d := tb.Acquire(t0, "r", "a", time.Second)
	if !d.Granted || d.Reentry || d.Token == 0 || !d.Expires.Equal(t0.Add(time.Second)) {
		t.Fatalf("first acquire: got %+v, want a fresh grant until t0+1s", d)
	}
	d2 := tb.Acquire(t0.Add(10*time.Millisecond), "r", "b", time.Second)
	if d2.Granted || d2.Holder != "a" || !d2.Expires.Equal(d.Expires) {
		t.Fatalf("acquire by b while a holds: got %+v, want refused, held by a until %v", d2, d.Expires)
	}
	if ok, holder := tb.Release(t0, "r", "b"); ok || holder != "a" {
		t.Fatalf("release by non-owner b: got released=%v holder=%q, want refused naming a", ok, holder)
	}
	if o, tok, _, ok := tb.Holder(t0, "r"); !ok || o != "a" || tok != d.Token {
		t.Fatalf("after a refused release: holder %q token %d ok %v, want a still holding token %d", o, tok, ok, d.Token)
	}
	if ok, _ := tb.Release(t0, "r", "a"); !ok {
		t.Fatal("release by owner a: refused, want released")
	}
	if ok, holder := tb.Release(t0, "r", "a"); ok || holder != "" {
		t.Fatalf("second release: got released=%v holder=%q, want not held", ok, holder)
	}
	d3 := tb.Acquire(t0, "r", "b", time.Second)
	if !d3.Granted || d3.Token <= d.Token {
		t.Fatalf("acquire by b after release: got %+v, want granted with a token above %d", d3, d.Token)
	}
	if other := tb.Acquire(t0, "other", "a", time.Second); !other.Granted {
		t.Fatalf("another resource: got %+v, want granted: resources are independent", other)
	}
}

func TestTableReentry(t *testing.T) {
	tb := NewTable()
	d := tb.Acquire(t0, "r", "a", time.Second)
	d2 := tb.Acquire(t0.Add(500*time.Millisecond), "r", "a", time.Second)
	if !d2.Granted || !d2.Reentry || d2.Token != d.Token || !d2.Expires.Equal(t0.Add(1500*time.Millisecond)) {
		t.Fatalf("re-entry: got %+v, want granted again, token %d, lease extended to t0+1.5s", d2, d.Token)
	}
	// A shorter re-entry never shortens the lease.
	d3 := tb.Acquire(t0.Add(600*time.Millisecond), "r", "a", time.Millisecond)
	if !d3.Expires.Equal(d2.Expires) {
		t.Fatalf("re-entry with a shorter lease: expires %v, want unchanged %v", d3.Expires, d2.Expires)
	}
	if ok, _ := tb.Release(t0, "r", "a"); !ok {
		t.Fatal("one release after two acquires: refused")
	}
	if _, _, _, ok := tb.Holder(t0, "r"); ok {
		t.Fatal("one release frees a re-entered lock: still held")
	}
}

func TestTableLeaseExpiry(t *testing.T) {
	tb := NewTable()
	d := tb.Acquire(t0, "r", "a", time.Second)
	if d2 := tb.Acquire(t0.Add(999*time.Millisecond), "r", "b", time.Second); d2.Granted {
		t.Fatalf("1ms before the lease ends: got %+v, want refused", d2)
	}
	if r := tb.Renew(t0.Add(time.Second), "r", "a", time.Second); r.Granted {
		t.Fatalf("renew when the lease has just ended: got %+v, want refused", r)
	}
	d3 := tb.Acquire(t0.Add(time.Second), "r", "b", time.Second)
	if !d3.Granted || d3.Token <= d.Token {
		t.Fatalf("when the lease ends: got %+v, want granted to b with a token above %d", d3, d.Token)
	}
	if ok, holder := tb.Release(t0.Add(time.Second), "r", "a"); ok || holder != "b" {
		t.Fatalf("release by the expired holder a: got %v %q, want refused naming b", ok, holder)
	}
	// Renewal keeps the lease alive.
	r := tb.Renew(t0.Add(1500*time.Millisecond), "r", "b", time.Second)
	if !r.Granted || r.Token != d3.Token || !r.Expires.Equal(t0.Add(2500*time.Millisecond)) {
		t.Fatalf("renew: got %+v, want granted, token %d, until t0+2.5s", r, d3.Token)
	}
	if e := tb.Expire(t0.Add(2 * time.Second)); len(e) != 0 {
		t.Fatalf("sweep before the renewed lease ends: expired %v, want none", e)
	}
	e := tb.Expire(t0.Add(2500 * time.Millisecond))
	if len(e) != 1 || e[0].Owner != "b" || e[0].Resource != "r" {
		t.Fatalf("sweep at the end of the lease: %v, want b's grant of r", e)
	}
	if tb.Len(t0.Add(3*time.Second)) != 0 {
		t.Fatal("after the sweep the table still holds a grant")
	}
}

func TestTableFence(t *testing.T) {
	tb := NewTable()
	d := tb.Acquire(t0, "r", "a", time.Second)
	if held, err := tb.Fence(t0, "r", "a", d.Token+100); !held || err != nil {
		t.Fatalf("fence for the holder: held=%v err=%v, want held", held, err)
	}
	if _, tok, _, _ := tb.Holder(t0, "r"); tok != d.Token+100 {
		t.Fatalf("holder's token after the fence: %d, want %d", tok, d.Token+100)
	}
	if held, err := tb.Fence(t0, "r", "b", d.Token+200); held || err != nil {
		t.Fatalf("fence for a non-holder: held=%v err=%v, want not held, no error", held, err)
	}
	tb.Release(t0, "r", "a")
	if d2 := tb.Acquire(t0, "r", "b", time.Second); d2.Token != d.Token+201 {
		t.Fatalf("grant after fences up to %d: token %d, want %d", d.Token+200, d2.Token, d.Token+201)
	}
	// A fence never lowers the counter.
	tb.Fence(t0, "r", "x", 1)
	if c := tb.Counter("r"); c != d.Token+201 {
		t.Fatalf("counter after a low fence: %d, want %d", c, d.Token+201)
	}
}

// TestTableTokensStrictlyIncrease drives a table with random requests and
// checks that every fresh grant of a resource has a larger token than every
// earlier one, and that a resource never has two holders.
func TestTableTokensStrictlyIncrease(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tb := NewTable()
	tb.ForgetAfter = 50 * time.Millisecond
	now := t0
	last := map[string]uint64{}
	owners := []string{"a", "b", "c"}
	for i := range 20000 {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
		r := fmt.Sprintf("r%d", rng.IntN(3))
		o := owners[rng.IntN(len(owners))]
		switch rng.IntN(5) {
		case 0, 1:
			d := tb.Acquire(now, r, o, time.Duration(1+rng.IntN(40))*time.Millisecond)
			if d.Granted && !d.Reentry {
				if d.Token <= last[r] {
					t.Fatalf("step %d: fresh grant of %s has token %d, not above the last %d", i, r, d.Token, last[r])
				}
				last[r] = d.Token
			}
			if d.Granted && d.Reentry && d.Token != last[r] && d.Token < last[r] {
				t.Fatalf("step %d: re-entry token %d below the last %d", i, d.Token, last[r])
			}
		case 2:
			tb.Release(now, r, o)
		case 3:
			tb.Renew(now, r, o, time.Duration(1+rng.IntN(40))*time.Millisecond)
		case 4:
			tb.Expire(now)
		}
	}
}

func TestTableNewResourceTokenFollowsClock(t *testing.T) {
	a, b := NewTable(), NewTable()
	da := a.Acquire(t0, "r", "x", time.Second)
	if da.Token != uint64(t0.UnixMicro()) {
		t.Fatalf("first token of a resource: %d, want the grant time in microseconds %d", da.Token, t0.UnixMicro())
	}
	// Another table (a new leader, a restarted node) that first sees the
	// resource later issues a larger token.
	db := b.Acquire(t0.Add(time.Millisecond), "r", "y", time.Second)
	if db.Token <= da.Token {
		t.Fatalf("token of a table that saw r 1ms later: %d, want above %d", db.Token, da.Token)
	}
}
