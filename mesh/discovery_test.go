package mesh

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestChooseJoinTarget(t *testing.T) {
	self := "s@h"
	selfG := testGUID(50)
	older, younger, oldest := testGUID(10), testGUID(90), testGUID(5)
	tests := []struct {
		name       string
		selfGUID   GUID
		discovered []string
		reachable  map[string]GUID
		members    []string
		want       joinAction
		target     string
		reason     string
	}{
		{"nothing discovered", selfG, nil, nil, nil, joinRetry, "", "discovered no nodes"},
		{"only invalid names", selfG, []string{"", "bad", "a@"}, nil, nil, joinRetry, "", "no valid node names"},
		{"only self", selfG, []string{self}, nil, nil, joinNothing, "", "only node"},
		{"self twice and garbage", selfG, []string{self, "x", self}, nil, nil, joinNothing, "", "only node"},
		{"join the older node", selfG, []string{self, "a@h"}, map[string]GUID{"a@h": older}, nil, joinTarget, "a@h", "oldest"},
		{"self discovered or not", selfG, []string{"a@h"}, map[string]GUID{"a@h": older}, nil, joinTarget, "a@h", "oldest"},
		{"self is oldest: wait", selfG, []string{self, "a@h"}, map[string]GUID{"a@h": younger}, nil, joinNothing, "", "this node is the oldest"},
		{"oldest of several", selfG, []string{"c@h", "a@h", "b@h", self},
			map[string]GUID{"a@h": younger, "b@h": oldest, "c@h": older}, nil, joinTarget, "b@h", "b@h is the oldest"},
		{"already clustered with all", selfG, []string{self, "a@h", "b@h"},
			map[string]GUID{"a@h": older}, []string{"a@h", "b@h"}, joinNothing, "", "already clustered"},
		{"unreachable older node is skipped", selfG, []string{self, "a@h", "b@h"},
			map[string]GUID{"b@h": older}, nil, joinTarget, "b@h", ""},
		{"nobody reachable", selfG, []string{self, "a@h", "b@h"}, map[string]GUID{}, nil, joinRetry, "", "a@h, b@h"},
		{"only members reachable, outsiders not", selfG, []string{self, "a@h", "b@h"},
			map[string]GUID{"a@h": older}, []string{"a@h"}, joinRetry, "", "b@h"},
		{"oldest is already in our cluster", selfG, []string{self, "a@h", "c@h"},
			map[string]GUID{"a@h": oldest, "c@h": younger}, []string{"a@h"}, joinNothing, "", "already in the cluster"},
		{"an outsider is older than our cluster", selfG, []string{self, "a@h", "c@h"},
			map[string]GUID{"a@h": older, "c@h": oldest}, []string{"a@h"}, joinTarget, "c@h", ""},
		{"unknown GUID sorts last", selfG, []string{self, "a@h", "b@h"},
			map[string]GUID{"a@h": {}, "b@h": younger}, nil, joinNothing, "", "this node is the oldest"},
		{"unknown GUIDs everywhere: lowest name", GUID{}, []string{self, "a@h", "b@h"},
			map[string]GUID{"a@h": {}, "b@h": {}}, nil, joinTarget, "a@h", ""},
		{"unknown own GUID loses to a known one", GUID{}, []string{self, "z@h"},
			map[string]GUID{"z@h": younger}, nil, joinTarget, "z@h", ""},
		{"equal GUIDs: lowest name", older, []string{self, "a@h"},
			map[string]GUID{"a@h": older}, nil, joinTarget, "a@h", ""},
		{"equal GUIDs, self has the lowest name", older, []string{self, "x@h"},
			map[string]GUID{"x@h": older}, nil, joinNothing, "", "this node is the oldest"},
		{"reachable map entries not discovered are ignored", selfG, []string{self, "a@h"},
			map[string]GUID{"a@h": younger, "z@h": oldest}, nil, joinNothing, "", "this node is the oldest"},
		{"self in reachable map is ignored", selfG, []string{self, "a@h"},
			map[string]GUID{self: oldest, "a@h": older}, nil, joinTarget, "a@h", ""},
		{"invalid names dropped", selfG, []string{"bad", self, "a@h", "@x"},
			map[string]GUID{"a@h": older, "bad": oldest}, nil, joinTarget, "a@h", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			members := map[string]bool{self: true}
			for _, m := range tt.members {
				members[m] = true
			}
			d := chooseJoinTarget(self, tt.selfGUID, tt.discovered, tt.reachable, members)
			if d.Action != tt.want || d.Target != tt.target {
				t.Fatalf("decision = %s %q (%s); want %s %q", d.Action, d.Target, d.Reason, tt.want, tt.target)
			}
			if d.Reason == "" || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("reason %q; want one containing %q", d.Reason, tt.reason)
			}
		})
	}
}

// TestAllStartAtOnce simulates n nodes that start together, all discover all
// and see each other: exactly one (the oldest) waits, every other one joins
// that same node, so they end in one cluster. Repeated with random GUIDs,
// names and discovery orders, and with nodes that cannot see some others.
func TestAllStartAtOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 2 + rng.IntN(9)
		names := make([]string, n)
		guids := map[string]GUID{}
		for i := range names {
			names[i] = fmt.Sprintf("n%d@10.0.0.%d", rng.IntN(1000), i)
			guids[names[i]] = testGUID(uint64(rng.IntN(50))) // ties happen
			if rng.IntN(10) == 0 {
				guids[names[i]] = GUID{}
			}
		}
		// The node every other must pick.
		want := slices.MinFunc(names, func(a, b string) int {
			switch {
			case OlderThan(guids[a], guids[b]):
				return -1
			case OlderThan(guids[b], guids[a]):
				return 1
			}
			return strings.Compare(a, b)
		})
		for _, self := range names {
			discovered := slices.Clone(names)
			rng.Shuffle(len(discovered), func(i, j int) { discovered[i], discovered[j] = discovered[j], discovered[i] })
			reachable := map[string]GUID{}
			for _, o := range names {
				if o != self {
					reachable[o] = guids[o]
				}
			}
			d := chooseJoinTarget(self, guids[self], discovered, reachable, map[string]bool{self: true})
			switch {
			case self == want && d.Action != joinNothing:
				t.Fatalf("round %d: oldest %s decided %s %s (%s); want to wait", round, self, d.Action, d.Target, d.Reason)
			case self != want && (d.Action != joinTarget || d.Target != want):
				t.Fatalf("round %d: %s decided %s %s (%s); want join %s", round, self, d.Action, d.Target, d.Reason, want)
			}
		}
	}
}

// TestConvergesWithPartialReachability runs the decision repeatedly over a
// simulated cluster formation in which nodes join their target's cluster and
// some links are missing at first: once all nodes see each other, everyone
// ends in the cluster of the oldest node.
func TestConvergesWithPartialReachability(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		n := 2 + rng.IntN(7)
		names := make([]string, n)
		guids := map[string]GUID{}
		cluster := map[string]int{} // node -> cluster id
		for i := range names {
			names[i] = fmt.Sprintf("n%d@h", i)
			guids[names[i]] = testGUID(uint64(100 + rng.IntN(1000)))
			cluster[names[i]] = i
		}
		for iter := range 2 * n {
			allSee := iter >= n // first rounds: random links missing
			for _, self := range names {
				members := map[string]bool{}
				for _, o := range names {
					if cluster[o] == cluster[self] {
						members[o] = true
					}
				}
				reachable := map[string]GUID{}
				for _, o := range names {
					if o != self && (allSee || rng.IntN(2) == 0) {
						reachable[o] = guids[o]
					}
				}
				d := chooseJoinTarget(self, guids[self], names, reachable, members)
				if d.Action == joinTarget {
					cluster[self] = cluster[d.Target] // a join leaves the old cluster
				}
			}
		}
		for _, name := range names {
			if cluster[name] != cluster[names[0]] {
				t.Fatalf("round %d: not one cluster: %v", round, cluster)
			}
		}
	}
}
