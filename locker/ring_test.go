package locker

import (
	"fmt"
	"slices"
	"testing"
)

func TestQuorumSize(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 9: 3} {
		if got := QuorumSize(n); got != want {
			t.Errorf("QuorumSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestRing(t *testing.T) {
	names := []string{"n1@h", "n2@h", "n3@h", "n4@h", "n5@h"}
	r := NewRing(names)
	shuffled := NewRing([]string{"n4@h", "n2@h", "n5@h", "n1@h", "n3@h", "n2@h"})
	count := map[string]int{}
	moved := 0
	without := NewRing(names[:4])
	for i := range 5000 {
		res := fmt.Sprintf("res-%d", i)
		q := r.Nodes(res, 3)
		if len(q) != 3 || len(slices.Compact(slices.Sorted(slices.Values(q)))) != 3 {
			t.Fatalf("Nodes(%q, 3) = %v, want 3 distinct members", res, q)
		}
		if q2 := shuffled.Nodes(res, 3); !slices.Equal(q, q2) {
			t.Fatalf("the ring depends on the order of the names: %v vs %v", q, q2)
		}
		count[q[0]]++
		if !slices.Contains(q, "n5@h") && !slices.Equal(q, without.Nodes(res, 3)) {
			moved++
		}
	}
	for _, n := range names {
		if count[n] < 500 || count[n] > 1600 {
			t.Errorf("%s is first for %d of 5000 resources, want about 1000: %v", n, count[n], count)
		}
	}
	if moved != 0 {
		t.Errorf("removing n5 moved %d resources whose quorum did not include it, want 0", moved)
	}
	if got := r.Nodes("x", 9); len(got) != 5 {
		t.Errorf("Nodes with k above the member count: %v, want all 5", got)
	}
	if got := NewRing(nil).Nodes("x", 3); got != nil {
		t.Errorf("empty ring: %v, want nil", got)
	}
}
