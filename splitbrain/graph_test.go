package splitbrain

import (
	"fmt"
	"slices"
	"strings"
	"testing"

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

func TestProbeClique(t *testing.T) {
	for n := 2; n <= 5; n++ {
		for _, r := range allRules {
			bad := 0
			allGraphs(n, func(g *graph) {
				s := g.serving(r)
				for i, a := range s {
					for _, b := range s[i+1:] {
						if !g.linked(a, b) {
							if bad < 3 {
								t.Logf("n=%d %v: graph %s: serving %v, %s and %s not linked", n, r, g, s, a, b)
							}
							bad++
							return
						}
					}
				}
			})
			if bad > 0 {
				t.Errorf("n=%d %+v: %d graphs break the clique property", n, r, bad)
			}
		}
	}
}
