package locker

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// Held lists the grants of this node's table, sorted, and leaves out those
// whose lease has run out before the sweep drops them; Stats counts the
// table's answers and the lockers' outcomes.
func TestHeldAndStats(t *testing.T) {
	lc := startLockCluster(t, 2, Config{SweepInterval: time.Hour}, nil)
	l0, l1 := lc.locker(0), lc.locker(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if held := l0.Held(); len(held) != 0 {
		t.Fatalf("Held before any grant = %v, want none", held)
	}

	for _, r := range []string{"zebra", "apple", "mango"} {
		if res, err := l0.Acquire(ctx, r, Options{Type: Local}); err != nil || !res.OK {
			t.Fatalf("acquire %s: %+v, %v; want granted", r, res, err)
		}
	}
	if brief, err := l0.Acquire(ctx, "brief", Options{Type: Local, Lease: time.Millisecond}); err != nil || !brief.OK {
		t.Fatalf("acquire brief: %+v, %v; want granted", brief, err)
	}
	testnet.Eventually(t, 5*time.Second, "the brief grant not held once its lease ran out", func() string {
		if held := l0.Held(); len(held) != 3 {
			return fmt.Sprintf("held %v", held)
		}
		return ""
	})
	held := l0.Held()
	if got, want := []string{held[0].Resource, held[1].Resource, held[2].Resource}, []string{"apple", "mango", "zebra"}; !slices.Equal(got, want) {
		t.Fatalf("held resources %q, want %q", got, want)
	}
	for _, h := range held {
		if h.Owner != l0.Owner() || h.Token == 0 || !h.Expires.After(time.Now()) {
			t.Errorf("held %+v: want owner %s, a token and a lease still running", h, l0.Owner())
		}
	}
	if held := l1.Held(); len(held) != 0 {
		t.Fatalf("n2 holds %v; local locks are in n1's table only", held)
	}

	// Another owner is refused by n1's table.
	if res, err := l0.Acquire(ctx, "apple", Options{Type: Local, Owner: "someone-else"}); err != nil || res.OK {
		t.Fatalf("acquire apple by another owner: %+v, %v; want refused", res, err)
	}

	st := l0.Stats()
	if st.Granted != 4 || st.Refused != 1 || st.Held != 3 || st.Expired > 1 {
		t.Fatalf("Stats: granted %d, refused %d, held %d, expired %d; want 4, 1, 3, at most 1", st.Granted, st.Refused, st.Held, st.Expired)
	}
	testnet.Eventually(t, 5*time.Second, "the sweep counting the brief grant as expired", func() string {
		if exp := l0.Stats().Expired; exp != 1 {
			return fmt.Sprintf("expired %d", exp)
		}
		return ""
	})
	count := func(op, result string) uint64 {
		for _, tc := range st.Table {
			if tc.Op == op && tc.Result == result {
				return tc.Count
			}
		}
		t.Fatalf("no count for %s/%s in %v", op, result, st.Table)
		return 0
	}
	for _, c := range []struct {
		op, result string
		want       uint64
	}{{"acquire", "granted", 4}, {"acquire", "refused", 1}, {"release", "released", 0}} {
		if got := count(c.op, c.result); got != c.want {
			t.Errorf("count %s/%s = %d, want %d", c.op, c.result, got, c.want)
		}
	}
	if len(st.Table) != 4*6 {
		t.Errorf("%d table counts, want %d: every request and result is present", len(st.Table), 4*6)
	}

	if rel, err := l0.Release(ctx, "mango", Options{Type: Local}); err != nil || !rel.OK {
		t.Fatalf("release mango: %+v, %v; want released", rel, err)
	}
	if held := l0.Held(); len(held) != 2 {
		t.Fatalf("held after the release: %v, want 2 grants", held)
	}
	if got := l0.Stats().Table[2*6+int(stReleased)].Count; got != 1 {
		t.Fatalf("release/released = %d, want 1", got)
	}
}
