package chaos

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
)

// rule is the fault state of one directed link, as the soak wants it.
type rule struct {
	cut       bool // both directions of a pair are always cut together
	blackhole bool
	delay     time.Duration
}

// merge is the union of two rules: a link cut by either is cut, and so on;
// the longer delay wins.
func (r rule) merge(o rule) rule {
	return rule{cut: r.cut || o.cut, blackhole: r.blackhole || o.blackhole, delay: max(r.delay, o.delay)}
}

// within reports whether applying want over r only adds faults, so that
// want can be applied without healing the pair first. A delay can always be
// set anew.
func (r rule) within(want rule) bool {
	return (!r.cut || want.cut) && (!r.blackhole || want.blackhole)
}

// link is a directed link between two nodes, by index.
type link struct{ from, to int }

// rules maps directed links to their faults; a missing link is healthy.
type rules map[link]rule

// fault is one network fault the scheduler applied, in force until until.
type fault struct {
	kind  string
	what  string
	until time.Time
	rules rules
}

// netState applies the union of the active faults to the network, pair by
// pair, touching only the pairs whose rules change.
type netState struct {
	fn      *faultnet.Network
	name    func(int) string
	n       int
	applied rules
}

// sync brings the network to want. For each pair whose rules change, when
// want only adds faults it applies the additions; otherwise it heals the
// pair and applies want for both directions (a lifted cut or blackhole
// needs a Heal, which clears both directions). It returns the pairs it
// healed, for the timeline.
func (s *netState) sync(want rules) (healed []string) {
	for a := 0; a < s.n; a++ {
		for b := a + 1; b < s.n; b++ {
			ab, ba := link{a, b}, link{b, a}
			pa, pb := s.applied[ab], s.applied[ba]
			wa, wb := want[ab], want[ba]
			if pa == wa && pb == wb {
				continue
			}
			if !pa.within(wa) || !pb.within(wb) {
				s.fn.Heal(s.name(a), s.name(b))
				healed = append(healed, fmt.Sprintf("%d-%d", a+1, b+1))
				pa, pb = rule{}, rule{}
			}
			s.apply(a, b, pa, wa)
			s.apply(b, a, pb, wb)
		}
	}
	s.applied = maps.Clone(want)
	return healed
}

// apply applies to from -> to what want adds to have.
func (s *netState) apply(from, to int, have, want rule) {
	if want.cut && !have.cut {
		s.fn.Cut(s.name(from), s.name(to))
	}
	if want.blackhole && !have.blackhole {
		s.fn.Blackhole(s.name(from), s.name(to))
	}
	if want.delay != have.delay {
		s.fn.Delay(s.name(from), s.name(to), want.delay)
	}
}

// union merges the rules of every active fault and the isolation of every
// crashed node.
func union(faults []*fault, crashed []int, n int) rules {
	out := rules{}
	add := func(l link, r rule) { out[l] = out[l].merge(r) }
	for _, f := range faults {
		for l, r := range f.rules {
			add(l, r)
		}
	}
	for _, i := range crashed {
		for j := range n {
			if j != i {
				add(link{i, j}, rule{cut: true})
				add(link{j, i}, rule{cut: true})
			}
		}
	}
	return out
}

// The fault kinds, as the figures name them.
const (
	kindPartition = "partition"         // the nodes split into 2 or 3 sides, cut both ways
	kindIntrans   = "partial-partition" // some pairs cut both ways: A sees B, B sees C, A does not see C
	kindOneWay    = "one-way-partition" // one side's bytes to the other are dropped, the reverse flows
	kindBlackhole = "blackhole"         // one to three directed links drop everything
	kindDelay     = "delay"             // one to four directed links delay every chunk 5-400 ms
	kindReset     = "reset"             // the connections of a pair are reset (RST); a one-time event
	kindCrash     = "crash"             // a node is cut off and stopped; restarted later
	kindRestart   = "restart"           // a crashed node starts again: same name, new GUID
	kindPause     = "pause"             // a turn of the scheduler without a new fault
)

// newFault draws a network fault of kind over the given nodes (those
// running, by index) with rng. It returns nil when there are too few nodes
// for the kind.
func newFault(rng *rand.Rand, kind string, nodes []int, now time.Time) *fault {
	if len(nodes) < 2 {
		return nil
	}
	nodes = slices.Clone(nodes)
	rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	f := &fault{kind: kind, rules: rules{}, until: now.Add(time.Duration(200+rng.IntN(2800)) * time.Millisecond)}
	cut := func(a, b int) {
		f.rules[link{a, b}] = rule{cut: true}
		f.rules[link{b, a}] = rule{cut: true}
	}
	switch kind {
	case kindPartition:
		sides := split(rng, nodes, 2+boolInt(rng.IntN(4) == 0 && len(nodes) >= 3))
		for si, s := range sides {
			for _, o := range sides[si+1:] {
				for _, a := range s {
					for _, b := range o {
						cut(a, b)
					}
				}
			}
		}
		f.what = sidesString(sides)
	case kindIntrans:
		var pairs []string
		for range 1 + rng.IntN(3) {
			a, b := nodes[rng.IntN(len(nodes))], nodes[rng.IntN(len(nodes))]
			if a == b {
				continue
			}
			cut(a, b)
			pairs = append(pairs, fmt.Sprintf("n%d-n%d", a+1, b+1))
		}
		if len(pairs) == 0 {
			return nil
		}
		f.what = strings.Join(pairs, " ")
	case kindOneWay:
		sides := split(rng, nodes, 2)
		for _, a := range sides[0] {
			for _, b := range sides[1] {
				f.rules[link{a, b}] = rule{blackhole: true}
			}
		}
		f.what = fmt.Sprintf("%s -> %s dropped", sidesString(sides[:1]), sidesString(sides[1:]))
	case kindBlackhole:
		var dirs []string
		for range 1 + rng.IntN(3) {
			a, b := nodes[rng.IntN(len(nodes))], nodes[rng.IntN(len(nodes))]
			if a == b {
				continue
			}
			f.rules[link{a, b}] = rule{blackhole: true}
			dirs = append(dirs, fmt.Sprintf("n%d->n%d", a+1, b+1))
		}
		if len(dirs) == 0 {
			return nil
		}
		f.what = strings.Join(dirs, " ")
	case kindDelay:
		var dirs []string
		for range 1 + rng.IntN(4) {
			a, b := nodes[rng.IntN(len(nodes))], nodes[rng.IntN(len(nodes))]
			if a == b {
				continue
			}
			d := time.Duration(5+rng.IntN(396)) * time.Millisecond
			f.rules[link{a, b}] = rule{delay: d}
			dirs = append(dirs, fmt.Sprintf("n%d->n%d %v", a+1, b+1, d))
		}
		if len(dirs) == 0 {
			return nil
		}
		f.what = strings.Join(dirs, " ")
	default:
		panic("chaos: newFault of kind " + kind)
	}
	return f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// split deals the (shuffled) nodes into k non-empty sides.
func split(rng *rand.Rand, nodes []int, k int) [][]int {
	k = min(k, len(nodes))
	// k-1 distinct cut points in 1..len-1.
	points := rng.Perm(len(nodes) - 1)[:k-1]
	for i := range points {
		points[i]++
	}
	slices.Sort(points)
	var sides [][]int
	prev := 0
	for _, p := range append(points, len(nodes)) {
		s := slices.Clone(nodes[prev:p])
		slices.Sort(s)
		sides = append(sides, s)
		prev = p
	}
	return sides
}

func sidesString(sides [][]int) string {
	var out []string
	for _, s := range sides {
		var names []string
		for _, i := range s {
			names = append(names, fmt.Sprintf("n%d", i+1))
		}
		out = append(out, "{"+strings.Join(names, ",")+"}")
	}
	return strings.Join(out, " | ")
}
