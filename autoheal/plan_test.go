package autoheal

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// guid makes a GUID whose time part is t (0: the unknown GUID).
func guid(t uint64) mesh.GUID {
	var g mesh.GUID
	if t == 0 {
		return g
	}
	binary.BigEndian.PutUint64(g[:8], t)
	g[15] = 1
	return g
}

func node(i int) string { return fmt.Sprintf("n%d@h", i) }

// scenario is a random split: nodes with GUIDs, the group each is in, and
// the views that follow (every node runs with every other; nodes of
// different groups record partitions with each other, sometimes only on
// one side; extra records inside a group make it asymmetric).
type scenario struct {
	names  []string
	guids  map[string]mesh.GUID
	groups [][]string
	extra  bool // records inside groups were added
	views  []View
}

func genScenario(r *rand.Rand) scenario {
	n := 1 + r.IntN(12)
	k := 1 + r.IntN(min(n, 5))
	s := scenario{guids: map[string]mesh.GUID{}, groups: make([][]string, k)}
	perm := r.Perm(n)
	for i := 0; i < n; i++ {
		name := node(perm[i])
		s.names = append(s.names, name)
		t := uint64(1 + r.IntN(1000)) // repeats happen: names break the tie
		if r.IntN(10) == 0 {
			t = 0
		}
		s.guids[name] = guid(t)
		g := i % k
		if i >= k {
			g = r.IntN(k)
		}
		s.groups[g] = append(s.groups[g], name)
	}
	group := map[string]int{}
	for gi, g := range s.groups {
		for _, m := range g {
			group[m] = gi
		}
	}
	records := map[string][]string{}
	for _, a := range s.names {
		for _, b := range s.names {
			if a >= b {
				continue
			}
			switch {
			case group[a] != group[b]:
				switch r.IntN(4) {
				case 0:
					records[a] = append(records[a], b)
				case 1:
					records[b] = append(records[b], a)
				default:
					records[a] = append(records[a], b)
					records[b] = append(records[b], a)
				}
			case r.IntN(15) == 0:
				s.extra = true
				records[a] = append(records[a], b)
			}
		}
	}
	for _, name := range s.names {
		s.views = append(s.views, View{Node: name, GUID: s.guids[name], Running: slices.Clone(s.names), Stopped: []string{}, Partitions: records[name]})
	}
	return s
}

// apart reports whether the views say a and b are not together.
func apart(views []View, a, b string) bool {
	for _, v := range views {
		if (v.Node == a && slices.Contains(v.Partitions, b)) || (v.Node == b && slices.Contains(v.Partitions, a)) {
			return true
		}
	}
	return false
}

// heal applies a plan the way the runtime does: each victim forgets its
// records (a fresh member table) and every node clears its record of it.
func heal(views []View, p Plan) []View {
	out := make([]View, len(views))
	for i, v := range views {
		v.Partitions = slices.DeleteFunc(slices.Clone(v.Partitions), func(s string) bool { return slices.Contains(p.Victims, s) })
		if slices.Contains(p.Victims, v.Node) {
			v.Partitions = nil
		}
		out[i] = v
	}
	return out
}

func shuffled(r *rand.Rand, views []View) []View {
	out := slices.Clone(views)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestDecideProperties(t *testing.T) {
	for seed := uint64(1); seed <= 3000; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		s := genScenario(r)
		p := Decide(s.views)
		ctx := fmt.Sprintf("seed %d: groups %v, plan %+v", seed, s.groups, p)

		// The order views arrive in changes nothing.
		for range 3 {
			require.Equal(t, p, Decide(shuffled(r, s.views)), ctx)
		}
		nonEmpty := 0
		for _, g := range s.groups {
			if len(g) > 0 {
				nonEmpty++
			}
		}
		if nonEmpty == 1 && !s.extra {
			require.Equal(t, ActionNone, p.Action, ctx)
			continue
		}
		require.Equal(t, ActionHeal, p.Action, ctx)

		// Every node ends on exactly one side.
		var all []string
		for _, side := range p.Sides {
			require.NotEmpty(t, side, ctx)
			all = append(all, side...)
		}
		require.ElementsMatch(t, s.names, all, ctx)

		// Each side runs together; sides are oldest first.
		for _, side := range p.Sides {
			for i, a := range side {
				for _, b := range side[i+1:] {
					require.False(t, apart(s.views, a, b), "%s and %s are apart but on one side; %s", a, b, ctx)
					require.True(t, older(s.guids[a], a, s.guids[b], b), "side %v is not oldest first; %s", side, ctx)
				}
			}
		}
		// The majority comes first: no side is larger, and an equal side
		// has younger nodes (the tie-break).
		maj := p.Sides[0]
		for _, side := range p.Sides[1:] {
			require.GreaterOrEqual(t, len(maj), len(side), ctx)
			if len(side) == len(maj) {
				require.True(t, older(s.guids[maj[0]], maj[0], s.guids[side[0]], side[0]), "tie not broken by age; %s", ctx)
			}
		}
		// The coordinator is the oldest of the majority side.
		require.Equal(t, maj[0], p.Coordinator, ctx)
		// The victims are exactly the nodes of the other sides.
		var others []string
		for _, side := range p.Sides[1:] {
			others = append(others, side...)
		}
		require.Equal(t, others, p.Victims, ctx)
		require.NotContains(t, p.Victims, p.Coordinator, ctx)

		// A symmetric split is found exactly as generated.
		if !s.extra {
			var want [][]string
			for _, g := range s.groups {
				if len(g) > 0 {
					want = append(want, slices.Sorted(slices.Values(g)))
				}
			}
			var got [][]string
			for _, side := range p.Sides {
				got = append(got, slices.Sorted(slices.Values(side)))
			}
			require.ElementsMatch(t, want, got, ctx)
		}

		// One round heals everything, however asymmetric.
		after := Decide(heal(s.views, p))
		require.Equal(t, ActionNone, after.Action, "%s; after the heal: %+v", ctx, after)
	}
}

func TestDecideTieBreak(t *testing.T) {
	// Two sides of two: the side with the oldest node wins, whatever the
	// names.
	views := []View{
		{Node: "a@h", GUID: guid(40), Running: []string{"a@h", "b@h", "c@h", "d@h"}, Partitions: []string{"c@h", "d@h"}},
		{Node: "b@h", GUID: guid(30), Running: []string{"a@h", "b@h", "c@h", "d@h"}, Partitions: []string{"c@h", "d@h"}},
		{Node: "c@h", GUID: guid(10), Running: []string{"a@h", "b@h", "c@h", "d@h"}, Partitions: []string{"a@h", "b@h"}},
		{Node: "d@h", GUID: guid(20), Running: []string{"a@h", "b@h", "c@h", "d@h"}, Partitions: []string{"a@h", "b@h"}},
	}
	p := Decide(views)
	require.Equal(t, ActionHeal, p.Action)
	require.Equal(t, [][]string{{"c@h", "d@h"}, {"b@h", "a@h"}}, p.Sides)
	require.Equal(t, "c@h", p.Coordinator)
	require.Equal(t, []string{"b@h", "a@h"}, p.Victims)

	// Unknown GUIDs sort last; equal GUIDs fall back to names.
	views = []View{
		{Node: "a@h", Running: []string{"a@h", "b@h"}, Partitions: []string{"b@h"}},
		{Node: "b@h", GUID: guid(99), Running: []string{"a@h", "b@h"}, Partitions: []string{"a@h"}},
	}
	require.Equal(t, "b@h", Decide(views).Coordinator)
	views[0].GUID = guid(99)
	require.Equal(t, "a@h", Decide(views).Coordinator)
}

func TestDecideManySidesAndAsymmetry(t *testing.T) {
	run := []string{"a@h", "b@h", "c@h", "d@h"}
	// A 4-way split of 4: the oldest coordinates, the rest are victims.
	var views []View
	for i, n := range run {
		views = append(views, View{Node: n, GUID: guid(uint64(i + 1)), Running: run,
			Partitions: slices.DeleteFunc(slices.Clone(run), func(s string) bool { return s == n })})
	}
	p := Decide(views)
	require.Equal(t, [][]string{{"a@h"}, {"b@h"}, {"c@h"}, {"d@h"}}, p.Sides)
	require.Equal(t, []string{"b@h", "c@h", "d@h"}, p.Victims)

	// Asymmetric: a sees b, b sees c, a does not see c (only a records it).
	views = []View{
		{Node: "a@h", GUID: guid(1), Running: run[:3], Partitions: []string{"c@h"}},
		{Node: "b@h", GUID: guid(2), Running: run[:3]},
		{Node: "c@h", GUID: guid(3), Running: run[:3]},
	}
	p = Decide(views)
	require.Equal(t, ActionHeal, p.Action)
	require.Equal(t, [][]string{{"a@h", "b@h"}, {"c@h"}}, p.Sides)
	require.Equal(t, "a@h", p.Coordinator)
	require.Equal(t, []string{"c@h"}, p.Victims)
	require.Equal(t, ActionNone, Decide(heal(views, p)).Action)
}

func TestDecideWaitsAndNone(t *testing.T) {
	run := []string{"a@h", "b@h", "c@h"}
	base := func() []View {
		return []View{
			{Node: "a@h", GUID: guid(1), Running: run, Partitions: []string{"c@h"}},
			{Node: "b@h", GUID: guid(2), Running: run, Partitions: []string{"c@h"}},
			{Node: "c@h", GUID: guid(3), Running: run, Partitions: []string{"a@h", "b@h"}},
		}
	}
	require.Equal(t, ActionHeal, Decide(base()).Action)

	p := Decide(base()[:2])
	require.Equal(t, ActionWait, p.Action)
	require.Equal(t, []string{"c@h"}, p.Missing)
	require.Contains(t, p.Reason, "no view of c@h (which a@h runs with)")

	v := base()
	v[1].Healing = true
	p = Decide(v)
	require.Equal(t, ActionWait, p.Action)
	require.Contains(t, p.Reason, "a heal is running on b@h")

	v = base()
	v[0].Running = []string{"a@h", "b@h"}
	v[0].Stopped = []string{"c@h"}
	p = Decide(v)
	require.Equal(t, ActionWait, p.Action)
	require.Contains(t, p.Reason, "a@h has no link to c@h yet")

	// No records: nothing to do, even with a link missing (the network
	// is still split; its return records the partition).
	v = base()
	for i := range v {
		v[i].Partitions = nil
	}
	require.Equal(t, ActionNone, Decide(v).Action)
	v[0].Running = []string{"a@h", "b@h"}
	v[2].Running = []string{"b@h", "c@h"}
	require.Equal(t, ActionNone, Decide(v).Action)

	// A record with a node that runs nowhere (crashed) is nothing to heal.
	v = base()[:2]
	for i := range v {
		v[i].Running = run[:2]
		v[i].Stopped = []string{"c@h"}
	}
	require.Equal(t, ActionNone, Decide(v).Action)

	require.Equal(t, ActionNone, Decide(nil).Action)
}

func TestDecideMergesDuplicateViews(t *testing.T) {
	run := []string{"a@h", "b@h"}
	old := View{Node: "b@h", GUID: guid(1), Running: run}
	newer := View{Node: "b@h", GUID: guid(2), Running: run, Partitions: []string{"a@h"}}
	a := View{Node: "a@h", GUID: guid(3), Running: run}
	p1 := Decide([]View{a, old, newer})
	require.Equal(t, p1, Decide([]View{newer, a, old}))
	require.Equal(t, ActionHeal, p1.Action, "the newest incarnation's view wins")

	same1 := View{Node: "b@h", GUID: guid(2), Running: run, Healing: true}
	same2 := View{Node: "b@h", GUID: guid(2), Running: []string{"b@h"}, Stopped: []string{"a@h"}}
	for _, vs := range [][]View{{a, same1, same2}, {same2, a, same1}} {
		p := Decide(vs)
		require.Equal(t, ActionWait, p.Action)
		require.Contains(t, p.Reason, "a heal is running on b@h")
	}
}

func TestLeader(t *testing.T) {
	ah := []string{"x", Service}
	ms := []mesh.MemberInfo{
		{Node: "a@h", Status: mesh.StatusUp, GUID: guid(5), Services: ah},
		{Node: "b@h", Status: mesh.StatusDown, GUID: guid(1), Services: ah},
		{Node: "c@h", Status: mesh.StatusHealing, GUID: guid(3), Services: ah},
		{Node: "d@h", Status: mesh.StatusJoining, Services: ah},
		{Node: "lib@h", Status: mesh.StatusUp, GUID: guid(0)},                            // the oldest, runs no autoheal
		{Node: "other@h", Status: mesh.StatusUp, GUID: guid(0), Services: []string{"x"}}, // runs other services only
	}
	tests := []struct {
		name    string
		members []mesh.MemberInfo
		want    string
	}{
		{"the oldest running member that runs autoheal; down ones do not count", ms, "c@h"},
		{"unknown GUIDs last", []mesh.MemberInfo{ms[0], ms[3]}, "a@h"},
		{"then names", []mesh.MemberInfo{ms[3], {Node: "e@h", Status: mesh.StatusUp, Services: ah}}, "d@h"},
		{"the oldest member runs no autoheal", []mesh.MemberInfo{ms[4], ms[0]}, "a@h"},
		{"members with other services only", []mesh.MemberInfo{ms[5], ms[4], ms[2]}, "c@h"},
		{"no running member runs autoheal", []mesh.MemberInfo{ms[4], ms[5], ms[1]}, ""},
		{"only a down one", []mesh.MemberInfo{ms[1]}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Leader(tt.members), tt.name)
	}
}

// TestWithoutBystanders: a node that runs no autoheal (a library node) is
// left out of the plan: the leader does not wait for its view, and a split
// is healed among the nodes that run autoheal.
func TestWithoutBystanders(t *testing.T) {
	ah := []string{Service}
	members := []mesh.MemberInfo{
		{Node: "lib@h", Status: mesh.StatusUp, GUID: guid(1)},
		{Node: "a@h", Status: mesh.StatusUp, GUID: guid(2), Services: ah},
		{Node: "b@h", Status: mesh.StatusUp, GUID: guid(3), Services: ah},
		{Node: "c@h", Status: mesh.StatusDown, GUID: guid(4), Services: []string{"x", Service}},
	}
	require.Equal(t, []string{"lib@h"}, Bystanders(members))
	all := []string{"a@h", "b@h", "c@h", "lib@h"}
	views := []View{
		{Node: "a@h", GUID: guid(2), Running: all, Partitions: []string{"c@h", "lib@h"}},
		{Node: "b@h", GUID: guid(3), Running: all, Partitions: []string{"c@h"}},
		{Node: "c@h", GUID: guid(4), Running: all, Partitions: []string{"a@h", "b@h", "lib@h"}},
	}
	// With the library node counted, its view is missing: wait forever.
	p := Decide(views)
	require.Equal(t, ActionWait, p.Action)
	require.Equal(t, []string{"lib@h"}, p.Missing)
	// Without it, c@h is healed into the side of a@h and b@h.
	p = Decide(WithoutBystanders(views, Bystanders(members)))
	require.Equal(t, ActionHeal, p.Action, p.Reason)
	require.Equal(t, "a@h", p.Coordinator)
	require.Equal(t, []string{"c@h"}, p.Victims)
	// A partition recorded with the library node only is not autoheal's.
	only := []View{
		{Node: "a@h", GUID: guid(2), Running: all, Partitions: []string{"lib@h"}},
		{Node: "b@h", GUID: guid(3), Running: all},
		{Node: "c@h", GUID: guid(4), Running: all},
		{Node: "lib@h", GUID: guid(1), Running: all, Partitions: []string{"a@h"}},
	}
	require.Equal(t, ActionNone, Decide(WithoutBystanders(only, []string{"lib@h"})).Action)
	// The input is not changed.
	require.Equal(t, []string{"c@h", "lib@h"}, views[0].Partitions)
	require.Equal(t, views, WithoutBystanders(views, nil))
}

func TestActionString(t *testing.T) {
	require.Equal(t, "none", ActionNone.String())
	require.Equal(t, "wait", ActionWait.String())
	require.Equal(t, "heal", ActionHeal.String())
	require.Equal(t, "action(9)", Action(9).String())
}
