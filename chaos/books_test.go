package chaos

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
)

// The soak's detectors find what they are there to find.

func TestCallBookFindsDuplicatesAndLateCalls(t *testing.T) {
	b := newCallBook()
	p := []byte("12345678")
	b.ran(1)
	b.done(1, "a", "b", p, p, nil, time.Second, 10*time.Millisecond)
	b.ran(2)
	b.ran(2) // ran twice, never acknowledged
	b.done(2, "a", "b", p, nil, context.DeadlineExceeded, time.Second, time.Second)
	b.done(3, "a", "b", p, p, nil, time.Second, 20*time.Millisecond) // acknowledged, never ran
	b.ran(4)
	b.done(4, "a", "b", p, []byte("other"), nil, 100*time.Millisecond, 100*time.Millisecond+callSlack+time.Millisecond)
	bad := strings.Join(b.check(), "\n")
	for _, want := range []string{"call 2 ran 2 times", "call 3 was acknowledged to its caller but its handler ran 0 times", "call 4 a -> b: sent 8 bytes, the reply has 5"} {
		if !strings.Contains(bad, want) {
			t.Errorf("check found:\n%s\nwant it to say %q", bad, want)
		}
	}
	if strings.Contains(bad, "call 1 ") {
		t.Errorf("call 1 ran once and was acknowledged once, but check reports it:\n%s", bad)
	}
	if len(b.late) != 1 || b.ok != 3 || b.failed != 1 || b.errs["deadline"] != 1 {
		t.Errorf("late %d, ok %d, failed %d, errors %v; want 1 late, 3 ok, 1 failed by its deadline", len(b.late), b.ok, b.failed, b.errs)
	}
	// Late with no stall: reported. Late during a stall as long as the
	// overrun: explained.
	var st stallBook
	if explained, late := b.lateness(&st); explained != 0 || len(late) != 1 || !strings.Contains(late[0], "call 4 ") {
		t.Errorf("no stall: %d explained, late %q; want call 4 reported", explained, late)
	}
	due := b.late[0].start.Add(b.late[0].deadline)
	st.stalls = []stall{{due.Add(-time.Second), due.Add(time.Millisecond)}, {due.Add(5 * time.Second), due.Add(6 * time.Second)}}
	if got := st.within(due, due.Add(time.Hour)); got != time.Second+time.Millisecond {
		t.Errorf("stalled within: %v, want 1s+1ms", got)
	}
	if explained, late := b.lateness(&st); explained != 1 || len(late) != 0 {
		t.Errorf("a stall at the deadline: %d explained, late %q; want call 4 explained", explained, late)
	}
}

func TestCastBookFindsDuplicatesAndReorders(t *testing.T) {
	b := newCastBook()
	b.deliver("a", "b", castPayload(1, 1, 1))
	b.deliver("a", "b", castPayload(2, 1, 3))
	b.deliver("a", "b", castPayload(3, 1, 2)) // older than 3: out of order
	b.deliver("a", "b", castPayload(4, 2, 1)) // a new incarnation starts again
	b.deliver("a", "b", castPayload(2, 1, 3)) // again
	if b.reordered != 1 || len(b.dups) != 1 || b.deliveredCount() != 4 {
		t.Errorf("reordered %d, duplicates %v, delivered %d; want 1 (the late seq 2), 1, 4", b.reordered, b.dups, b.deliveredCount())
	}
}

func TestErrKind(t *testing.T) {
	if k := errKind(errors.Join(errors.New("x"), context.DeadlineExceeded)); k != "deadline" {
		t.Errorf("errKind of a deadline: %q", k)
	}
	if k := errKind(errors.New("x")); k != "other" {
		t.Errorf("errKind of an unknown error: %q", k)
	}
}

// netState.sync applies the union of faults to a real faultnet, healing a
// pair only when a cut or blackhole is lifted.
func TestNetStateSync(t *testing.T) {
	fn := faultnet.New()
	defer fn.Close()
	names := []string{"n1@127.0.0.1", "n2@127.0.0.1", "n3@127.0.0.1"}
	s := &netState{fn: fn, name: func(i int) string { return names[i] }, n: 3, applied: rules{}}
	part := &fault{rules: rules{{0, 1}: {cut: true}, {1, 0}: {cut: true}}}
	slow := &fault{rules: rules{{0, 1}: {delay: 50 * time.Millisecond}, {2, 1}: {delay: 10 * time.Millisecond}}}
	if healed := s.sync(union([]*fault{part}, nil, 3)); len(healed) != 0 {
		t.Fatalf("adding a cut healed %v", healed)
	}
	if healed := s.sync(union([]*fault{part, slow}, nil, 3)); len(healed) != 0 {
		t.Fatalf("adding delays healed %v", healed)
	}
	if got := s.applied[link{0, 1}]; got != (rule{cut: true, delay: 50 * time.Millisecond}) {
		t.Fatalf("n1->n2: %+v, want cut and 50ms", got)
	}
	if healed := s.sync(union([]*fault{slow}, nil, 3)); !slices.Equal(healed, []string{"1-2"}) {
		t.Fatalf("lifting the cut healed %v, want pair 1-2", healed)
	}
	if healed := s.sync(union([]*fault{slow}, []int{2}, 3)); len(healed) != 0 {
		t.Fatalf("isolating crashed n3 healed %v", healed)
	}
	if got := s.applied[link{2, 1}]; got != (rule{cut: true, delay: 10 * time.Millisecond}) {
		t.Fatalf("n3->n2 while n3 is down: %+v", got)
	}
	// The cut is real: a dial from n3 is refused.
	fn.Register(names[0], "127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := fn.Dial(ctx, names[2], names[0]); err == nil {
		t.Fatal("n3 dialled n1 while crashed n3 is cut off")
	}
	s.sync(nil)
	if len(s.applied) != 0 {
		t.Fatalf("after healing everything: %v", s.applied)
	}
}

func TestNewFaultShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := []int{0, 1, 2, 3, 4}
	now := time.Now()
	for range 200 {
		for _, kind := range []string{kindPartition, kindIntrans, kindOneWay, kindBlackhole, kindDelay} {
			f := newFault(rng, kind, all, now)
			if f == nil {
				continue
			}
			if d := f.until.Sub(now); d < 200*time.Millisecond || d > 3*time.Second {
				t.Fatalf("%s lasts %v, want 200ms-3s", kind, d)
			}
			for l, r := range f.rules {
				if l.from == l.to {
					t.Fatalf("%s: a rule on n%d to itself", kind, l.from+1)
				}
				if r.cut && !f.rules[link{l.to, l.from}].cut {
					t.Fatalf("%s: a one-way cut %v", kind, l)
				}
				if kind == kindOneWay && f.rules[link{l.to, l.from}].blackhole {
					t.Fatalf("one-way partition drops both ways between n%d and n%d", l.from+1, l.to+1)
				}
			}
			if kind == kindPartition && !strings.Contains(f.what, "|") {
				t.Fatalf("a partition of one side: %s", f.what)
			}
		}
	}
	if newFault(rng, kindPartition, []int{3}, now) != nil {
		t.Fatal("a fault over one running node")
	}
}
