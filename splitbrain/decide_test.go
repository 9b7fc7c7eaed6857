package splitbrain

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// graph is who has a link to whom, for tests: nodes in age order (the
// first is the oldest), and the links.
type graph struct {
	nodes []string
	link  map[[2]string]bool
}

func newGraph(n int) *graph {
	g := &graph{link: map[[2]string]bool{}}
	for i := range n {
		g.nodes = append(g.nodes, fmt.Sprintf("n%d", i+1))
	}
	return g
}

func (g *graph) connect(a, b string)     { g.link[key2(a, b)] = true }
func (g *graph) cut(a, b string)         { delete(g.link, key2(a, b)) }
func (g *graph) linked(a, b string) bool { return a == b || g.link[key2(a, b)] }

func key2(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// full connects every pair.
func (g *graph) full() *graph {
	for i, a := range g.nodes {
		for _, b := range g.nodes[i+1:] {
			g.connect(a, b)
		}
	}
	return g
}

// partition links the nodes of each group with each other only.
func (g *graph) partition(groups ...[]string) *graph {
	g.link = map[[2]string]bool{}
	for _, grp := range groups {
		for i, a := range grp {
			for _, b := range grp[i+1:] {
				g.connect(a, b)
			}
		}
	}
	return g
}

func guidOf(i int) mesh.GUID {
	var g mesh.GUID
	g[0] = byte(i + 1)
	return g
}

// view is self's view of g once every node of its part of the cluster
// has told every other what it reaches.
func (g *graph) view(self string) View {
	v := View{Self: self, Reach: map[string][]string{}}
	part := map[string]bool{self: true}
	for changed := true; changed; {
		changed = false
		for a := range part {
			for _, b := range g.nodes {
				if !part[b] && g.linked(a, b) {
					part[b], changed = true, true
				}
			}
		}
	}
	for i, m := range g.nodes {
		v.Members = append(v.Members, Member{Node: m, GUID: guidOf(i)})
		if !part[m] {
			continue
		}
		r := []string{}
		for _, o := range g.nodes {
			if o != m && g.linked(m, o) {
				r = append(r, o)
			}
		}
		v.Reach[m] = r
	}
	return v
}

// serving returns the nodes whose decision is to serve.
func (g *graph) serving(r Rules) []string {
	var out []string
	for _, n := range g.nodes {
		if Decide(r, g.view(n)).Serve {
			out = append(out, n)
		}
	}
	return out
}

func (g *graph) String() string {
	var ls []string
	for k := range g.link {
		ls = append(ls, k[0]+"-"+k[1])
	}
	slices.Sort(ls)
	return strings.Join(ls, " ")
}

// allGraphs calls f with every graph on n nodes.
func allGraphs(n int, f func(*graph)) {
	g := newGraph(n)
	var pairs [][2]string
	for i, a := range g.nodes {
		for _, b := range g.nodes[i+1:] {
			pairs = append(pairs, [2]string{a, b})
		}
	}
	for mask := 0; mask < 1<<len(pairs); mask++ {
		g.link = map[[2]string]bool{}
		for i, p := range pairs {
			if mask&(1<<i) != 0 {
				g.connect(p[0], p[1])
			}
		}
		f(g)
	}
}

var allRules = []Rules{
	{Strategy: KeepMajority}, {Strategy: KeepOldest}, {Strategy: KeepOldest, OldestServesAlone: true},
	{Strategy: StaticQuorum, QuorumSize: 3}, {Strategy: DownAll},
}

// TestServingNodesAlwaysReachEachOther checks every graph of up to five
// nodes under every strategy: the nodes that serve can all reach each
// other, so no two sides that are cut off from each other ever both serve,
// and neither do two nodes of an asymmetric split that cannot talk.
func TestServingNodesAlwaysReachEachOther(t *testing.T) {
	for n := 1; n <= 5; n++ {
		for _, r := range allRules {
			graphs, bad := 0, 0
			allGraphs(n, func(g *graph) {
				graphs++
				s := g.serving(r)
				for i, a := range s {
					for _, b := range s[i+1:] {
						if !g.linked(a, b) {
							if bad < 3 {
								t.Errorf("%d nodes, %+v, links %q: %v serve, but %s and %s cannot reach each other", n, r, g, s, a, b)
							}
							bad++
							return
						}
					}
				}
			})
			if bad > 0 {
				t.Errorf("%d nodes, %+v: %d of %d graphs break it", n, r, bad, graphs)
			}
		}
	}
}

// TestWholeClusterServes: with no split, every node serves under every
// strategy, and the decision says there is no split.
func TestWholeClusterServes(t *testing.T) {
	for n := 1; n <= 5; n++ {
		g := newGraph(n).full()
		for _, r := range append(allRules, Rules{Strategy: Autoheal}) {
			require.Equal(t, g.nodes, g.serving(r), "%d nodes, %+v", n, r)
			d := Decide(r, g.view(g.nodes[0]))
			require.False(t, d.Split)
			require.Equal(t, g.nodes, d.Side)
		}
	}
}

// TestSymmetricSplits: clean partitions, and which side serves under each
// strategy (n1 is the oldest).
func TestSymmetricSplits(t *testing.T) {
	n := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, fmt.Sprintf("n%d", i))
		}
		return out
	}
	cases := []struct {
		name   string
		size   int
		groups [][]string
		rules  Rules
		want   []string
	}{
		{"majority 3|2", 5, [][]string{n(1, 2), n(3, 4, 5)}, Rules{Strategy: KeepMajority}, n(3, 4, 5)},
		{"majority 2|2 tie: the oldest's side", 4, [][]string{n(2, 3), n(1, 4)}, Rules{Strategy: KeepMajority}, n(1, 4)},
		{"majority 1|1 tie", 2, [][]string{n(1), n(2)}, Rules{Strategy: KeepMajority}, n(1)},
		{"majority 2|2|1: nobody has one", 5, [][]string{n(1, 2), n(3, 4), n(5)}, Rules{Strategy: KeepMajority}, nil},
		{"majority 3|1|1", 5, [][]string{n(3, 4, 5), n(1), n(2)}, Rules{Strategy: KeepMajority}, n(3, 4, 5)},
		{"oldest 2|3", 5, [][]string{n(1, 5), n(2, 3, 4)}, Rules{Strategy: KeepOldest}, n(1, 5)},
		{"oldest alone gives way", 4, [][]string{n(1), n(2, 3, 4)}, Rules{Strategy: KeepOldest}, n(2, 3, 4)},
		{"oldest alone serves when asked", 4, [][]string{n(1), n(2, 3, 4)}, Rules{Strategy: KeepOldest, OldestServesAlone: true}, n(1)},
		{"oldest alone against one", 2, [][]string{n(1), n(2)}, Rules{Strategy: KeepOldest}, n(1)},
		{"oldest alone, the rest split", 4, [][]string{n(1), n(2, 3), n(4)}, Rules{Strategy: KeepOldest}, nil},
		{"quorum 3 of 5: 3|2", 5, [][]string{n(1, 2), n(3, 4, 5)}, Rules{Strategy: StaticQuorum, QuorumSize: 3}, n(3, 4, 5)},
		{"quorum 3 of 5: 2|2|1", 5, [][]string{n(1, 2), n(3, 4), n(5)}, Rules{Strategy: StaticQuorum, QuorumSize: 3}, nil},
		{"quorum 2 of 3: 1|2", 3, [][]string{n(1), n(2, 3)}, Rules{Strategy: StaticQuorum, QuorumSize: 2}, n(2, 3)},
		{"quorum 2 of 4: too many members", 4, [][]string{n(1, 2), n(3, 4)}, Rules{Strategy: StaticQuorum, QuorumSize: 2}, nil},
		{"down-all 4|1", 5, [][]string{n(1, 2, 3, 4), n(5)}, Rules{Strategy: DownAll}, nil},
		{"autoheal: both serve", 4, [][]string{n(1, 2), n(3, 4)}, Rules{Strategy: Autoheal}, n(1, 2, 3, 4)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGraph(c.size).partition(c.groups...)
			require.Equal(t, c.want, g.serving(c.rules))
			for _, self := range g.nodes {
				d := Decide(c.rules, g.view(self))
				require.True(t, d.Split)
				require.NotEmpty(t, d.Reason)
				require.True(t, strings.HasPrefix(d.Reason, string(c.rules.Strategy)+":"), "reason %q names the strategy", d.Reason)
				require.Empty(t, d.Losers)
			}
		})
	}
}

// TestAsymmetricSplit: when two members cannot reach each other but others
// reach both, only the younger of the two stops serving, under every
// strategy, and every node agrees on it.
func TestAsymmetricSplit(t *testing.T) {
	for size := 3; size <= 5; size++ {
		g := newGraph(size).full()
		g.cut("n1", "n3")
		require.Equal(t, g.nodes, g.serving(Rules{Strategy: Autoheal}), "autoheal: every node serves")
		for _, r := range allRules {
			want := slices.DeleteFunc(slices.Clone(g.nodes), func(s string) bool { return s == "n3" })
			require.Equal(t, want, g.serving(r), "%d nodes, %+v", size, r)
			for _, self := range g.nodes {
				d := Decide(r, g.view(self))
				require.Equal(t, []string{"n3"}, d.Losers, "%s's view", self)
				require.True(t, d.Split)
			}
			d := Decide(r, g.view("n3"))
			require.Contains(t, d.Reason, "n1 and n3 cannot reach each other")
			require.Contains(t, d.Reason, "n1 is the older")
		}
	}
}

// TestDecideWithPartialKnowledge: a node that has heard nothing from a
// member it has a link to takes the link at its own word, and a member
// outside its part counts on the other side however stale its entry.
func TestDecideWithPartialKnowledge(t *testing.T) {
	members := []Member{{Node: "n1", GUID: guidOf(0)}, {Node: "n2", GUID: guidOf(1)}, {Node: "n3", GUID: guidOf(2)}}
	d := Decide(Rules{Strategy: KeepMajority}, View{Self: "n2", Members: members, Reach: map[string][]string{"n2": {"n3"}}})
	require.True(t, d.Serve, d.Reason)
	require.Equal(t, []string{"n2", "n3"}, d.Side)
	require.Equal(t, []string{"n1"}, d.Others)

	// n1's stale entry says it reaches n2; n2 does not reach n1, so n1 is
	// not linked to n2 and stays outside.
	d = Decide(Rules{Strategy: KeepMajority}, View{Self: "n2", Members: members,
		Reach: map[string][]string{"n2": {"n3"}, "n3": {"n2"}, "n1": {"n2", "n3"}}})
	require.Equal(t, []string{"n1"}, d.Others)
	require.True(t, d.Serve)
}

func TestRulesCheck(t *testing.T) {
	require.NoError(t, Rules{Strategy: KeepMajority}.Check())
	require.ErrorContains(t, Rules{Strategy: "keep-most"}.Check(), `unknown strategy "keep-most", want one of autoheal, keep-majority, keep-oldest, static-quorum, down-all`)
	require.ErrorContains(t, Rules{Strategy: StaticQuorum}.Check(), "quorum size of at least 1, got 0")
	for _, s := range Strategies {
		got, err := ParseStrategy(string(s))
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
}
