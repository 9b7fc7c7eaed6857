package mesh

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLink stands for a *link in the link set: its facts are set by the test.
type fakeLink struct {
	id string // the connection it is one end of
	linkFacts
}

func newTestLinkSet(self string) *linkSet[*fakeLink] {
	return newLinkSet(self, func(f *fakeLink) linkFacts { return f.linkFacts })
}

// TestDecideAdmit covers every branch of the admission decision and the
// order in which they are tried.
func TestDecideAdmit(t *testing.T) {
	const self, peer = "n1@h", "n2@h"
	g1, g2 := testGUID(1), testGUID(2)
	nu := func(dialed bool) linkFacts { return linkFacts{peer: peer, guid: g1, dialed: dialed} }
	old := func(guid GUID, dialed, closed bool) *linkFacts {
		return &linkFacts{peer: peer, guid: guid, dialed: dialed, closed: closed}
	}
	for _, tc := range []struct {
		name string
		f    admitFacts
		want admitVerdict
	}{
		{"first link", admitFacts{nu: nu(true)}, admitKeep},
		{"stopping", admitFacts{stopping: true, nu: nu(true)}, admitRefuseStopping},
		{"stopping wins over everything", admitFacts{stopping: true, left: true, nu: linkFacts{peer: self, hidden: true}}, admitRefuseStopping},
		{"hidden client", admitFacts{nu: linkFacts{peer: "ctl-1@h", hidden: true}}, admitHidden},
		{"hidden client while a link to its name exists", admitFacts{nu: linkFacts{peer: peer, guid: g2, hidden: true}, old: old(g1, true, false)}, admitHidden},
		{"hidden client of a node that left", admitFacts{left: true, nu: linkFacts{peer: peer, hidden: true}}, admitHidden},
		{"own name", admitFacts{nu: linkFacts{peer: self, guid: g1}}, admitRefuseSelf},
		{"own name from a node this one left", admitFacts{left: true, nu: linkFacts{peer: self}}, admitRefuseSelf},
		{"left", admitFacts{left: true, nu: nu(false)}, admitTellLeft},
		{"left, with a link still up", admitFacts{left: true, nu: nu(false), old: old(g1, true, false)}, admitTellLeft},
		{"restarted peer", admitFacts{nu: nu(false), old: old(g2, true, false)}, admitRestart},
		{"restarted peer, old link closed", admitFacts{nu: nu(false), old: old(g2, true, true)}, admitRestart},
		{"old link to the same incarnation closed", admitFacts{nu: nu(false), old: old(g1, true, true)}, admitKeep},
		{"smaller name dialed the new link", admitFacts{nu: nu(true), old: old(g1, false, false)}, admitReplace},
		{"smaller name dialed the old link", admitFacts{nu: nu(false), old: old(g1, true, false)}, admitRetire},
		{"this node redialed", admitFacts{nu: nu(true), old: old(g1, true, false)}, admitReplace},
		{"the peer redialed", admitFacts{nu: nu(false), old: old(g1, false, false)}, admitReplace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decideAdmit(self, tc.f)
			assert.Equal(t, tc.want, got, "decideAdmit(%s, %+v) = %s, want %s", self, tc.f, got, tc.want)
		})
	}
}

// TestPrefers: both ends of a pair agree, names compare as strings.
func TestPrefers(t *testing.T) {
	for _, tc := range []struct {
		self, peer      string
		nuDial, oldDial bool // whether self dialed the new and the old link
		want            bool
		name            string
	}{
		{"a@h", "b@h", true, false, true, "smaller self dialed the new link"},
		{"a@h", "b@h", false, true, false, "smaller self dialed the old link"},
		{"b@h", "a@h", false, true, true, "smaller peer dialed the new link"},
		{"b@h", "a@h", true, false, false, "smaller peer dialed the old link"},
		{"n10@h", "n5@h", true, false, true, `"n10" < "n5": n10 dialed the new link`},
		{"n5@h", "n10@h", false, true, true, `"n10" < "n5": seen from n5, n10 dialed the new link`},
		{"n5@h", "n10@h", true, false, false, `"n10" < "n5": seen from n5, n5 dialed the new link`},
		{"a@h", "b@h", true, true, true, "self dialed both: the newer wins"},
		{"a@h", "b@h", false, false, true, "the peer dialed both: the newer wins"},
		{"b@h", "a@h", true, true, true, "larger self dialed both: the newer wins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nu := linkFacts{peer: tc.peer, dialed: tc.nuDial}
			old := linkFacts{peer: tc.peer, dialed: tc.oldDial}
			assert.Equal(t, tc.want, prefers(tc.self, nu, old), "prefers(%s, new dialed by self %v, old dialed by self %v)", tc.self, tc.nuDial, tc.oldDial)
			// The peer sees the same two links with dialed flipped, and
			// must agree.
			nuP := linkFacts{peer: tc.self, dialed: !tc.nuDial}
			oldP := linkFacts{peer: tc.self, dialed: !tc.oldDial}
			assert.Equal(t, tc.want, prefers(tc.peer, nuP, oldP), "the peer %s disagrees", tc.peer)
		})
	}
}

func TestDecideDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    downFacts
		want downVerdict
	}{
		{"member link lost", downFacts{current: true}, downLost},
		{"peer closed it as a duplicate", downFacts{current: true, superseded: true}, downSuperseded},
		{"this node is stopping", downFacts{current: true, stopping: true}, downStopping},
		{"stopping, closed by the peer as a duplicate", downFacts{current: true, stopping: true, superseded: true}, downStopping},
		{"hidden client", downFacts{hidden: true}, downForget},
		{"retired duplicate", downFacts{retired: true, superseded: true}, downForget},
		{"replaced link", downFacts{}, downForget},
		{"replaced link, closed by the peer as a duplicate", downFacts{superseded: true}, downForget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decideDown(tc.f)
			assert.Equal(t, tc.want, got, "decideDown(%+v) = %s, want %s", tc.f, got, tc.want)
		})
	}
}

// pair is the two ends of a cluster of two nodes, each with its link set,
// and the connections between them.
type pair struct {
	t    *testing.T
	sets map[string]*linkSet[*fakeLink]
	ends map[string]map[string]*fakeLink // connection id -> node -> its end
}

func newPair(t *testing.T, a, b string) *pair {
	return &pair{t: t,
		sets: map[string]*linkSet[*fakeLink]{a: newTestLinkSet(a), b: newTestLinkSet(b)},
		ends: map[string]map[string]*fakeLink{}}
}

// connect makes connection id, dialed by from to to, with the GUIDs of
// both ends.
func (p *pair) connect(id, from, to string, gFrom, gTo GUID) {
	p.ends[id] = map[string]*fakeLink{
		from: {id: id, linkFacts: linkFacts{peer: to, guid: gTo, dialed: true}},
		to:   {id: id, linkFacts: linkFacts{peer: from, guid: gFrom}},
	}
}

// admit has node adopt its end of connection id, and checks the verdict.
func (p *pair) admit(node, id string, want admitVerdict) admission[*fakeLink] {
	p.t.Helper()
	a := p.sets[node].admit(p.ends[id][node], false, false)
	require.Equal(p.t, want, a.verdict, "%s adopting %s: %s, want %s", node, id, a.verdict, want)
	return a
}

// current is the id of the connection node keeps to its peer, "" if none.
func (p *pair) current(node string) string {
	for _, lk := range p.sets[node].current {
		return lk.id
	}
	return ""
}

func (p *pair) retired(node string) []string {
	var ids []string
	for lk := range p.sets[node].retired {
		ids = append(ids, lk.id)
	}
	slices.Sort(ids)
	return ids
}

// TestLinkSetSimultaneousDials: both nodes dial at once, the links arrive
// in either order at either end, with either name order (including "n10"
// sorting before "n5"): both ends keep the same link, the link the node
// with the smaller name dialed, and retire the other.
func TestLinkSetSimultaneousDials(t *testing.T) {
	for _, names := range [][2]string{{"a@h", "b@h"}, {"b@h", "a@h"}, {"n10@h", "n5@h"}, {"n5@h", "n10@h"}} {
		a, b := names[0], names[1]
		for _, order := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} {
			t.Run(fmt.Sprintf("%s-%s/a-own-first=%v/b-own-first=%v", a, b, order[0], order[1]), func(t *testing.T) {
				p := newPair(t, a, b)
				ga, gb := testGUID(1), testGUID(2)
				p.connect("by-a", a, b, ga, gb)
				p.connect("by-b", b, a, gb, ga)
				winner, loser := "by-a", "by-b"
				if b < a {
					winner, loser = loser, winner
				}
				for node, ownFirst := range map[string]bool{a: order[0], b: order[1]} {
					own, other := "by-a", "by-b"
					if node == b {
						own, other = other, own
					}
					first, second := other, own
					if ownFirst {
						first, second = own, other
					}
					p.admit(node, first, admitKeep)
					want := admitRetire
					if second == winner {
						want = admitReplace
					}
					a := p.admit(node, second, want)
					if want == admitReplace {
						require.Equal(t, loser, a.old.id, "%s replaced %s, want %s", node, a.old.id, loser)
					}
				}
				for _, node := range []string{a, b} {
					assert.Equal(t, winner, p.current(node), "%s keeps the wrong link (want the one dialed by the smaller name)", node)
					assert.Equal(t, []string{loser}, p.retired(node), "%s retires the wrong links", node)
					// The loser closes once idle: nothing changes for the member.
					v := p.sets[node].down(p.ends[loser][node], false, true)
					assert.Equal(t, downForget, v, "%s: the retired link closing: %s, want forget", node, v)
					got := p.retired(node)
					assert.Empty(t, got, "%s still retires %v after the close", node, got)
				}
			})
		}
	}
}

// TestLinkSetSuperseded: a node adopted the losing link first and the peer
// closes it as a duplicate before the winner arrives: the member is kept up
// (superseded), and the winner is then kept as a first link.
func TestLinkSetSuperseded(t *testing.T) {
	a, b := "n10@h", "n5@h" // "n10" < "n5": a's dial wins
	p := newPair(t, a, b)
	p.connect("by-a", a, b, testGUID(1), testGUID(2))
	p.connect("by-b", b, a, testGUID(2), testGUID(1))
	p.admit(a, "by-b", admitKeep)
	v := p.sets[a].down(p.ends["by-b"][a], false, true)
	require.Equal(t, downSuperseded, v, "the peer closed the current link as a duplicate: %s, want superseded", v)
	got := p.current(a)
	require.Empty(t, got, "current link %s after the close, want none", got)
	p.admit(a, "by-a", admitKeep)
	v = p.sets[a].down(p.ends["by-a"][a], false, false)
	require.Equal(t, downLost, v, "the kept link closing: %s, want lost", v)
}

// TestLinkSetRedial: one side dials again while its old link looks alive
// (it is probably dead): both ends keep the newer link.
func TestLinkSetRedial(t *testing.T) {
	for _, dialer := range []string{"a@h", "b@h"} {
		t.Run("dialed by "+dialer, func(t *testing.T) {
			p := newPair(t, "a@h", "b@h")
			other := map[string]string{"a@h": "b@h", "b@h": "a@h"}[dialer]
			p.connect("old", dialer, other, testGUID(1), testGUID(2))
			p.connect("new", dialer, other, testGUID(1), testGUID(2))
			for _, node := range []string{"a@h", "b@h"} {
				p.admit(node, "old", admitKeep)
				a := p.admit(node, "new", admitReplace)
				require.Equal(t, "old", a.old.id, "%s replaced %s, want old", node, a.old.id)
				assert.Equal(t, "new", p.current(node), "%s keeps the wrong link", node)
				assert.Equal(t, []string{"old"}, p.retired(node), "%s retires the wrong links", node)
			}
		})
	}
}

// TestLinkSetOldLink: a new link meets an old one that cannot stay: the
// peer restarted with a new GUID (replaced at once, whatever dialed it, and
// whether or not the old link's close was seen), or the old link to the
// same incarnation closed before its linkDown ran (the new link, which would
// lose to it, takes its place). The old link's late close changes nothing.
func TestLinkSetOldLink(t *testing.T) {
	for _, tc := range []struct {
		name      string
		newGUID   GUID
		oldClosed bool
		want      admitVerdict
		displaced bool // the admission names the old link, to close
	}{
		{"restarted peer", testGUID(2), false, admitRestart, true},
		{"restarted peer, old link closed", testGUID(2), true, admitRestart, true},
		{"same incarnation, old link closed", testGUID(1), true, admitKeep, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestLinkSet("a@h")
			old := &fakeLink{id: "old", linkFacts: linkFacts{peer: "b@h", guid: testGUID(1), dialed: true}}
			nu := &fakeLink{id: "new", linkFacts: linkFacts{peer: "b@h", guid: tc.newGUID}} // would lose to old
			s.admit(old, false, false)
			old.closed = tc.oldClosed
			a := s.admit(nu, false, false)
			require.Equal(t, tc.want, a.verdict, "got %s displacing %v, want %s (displacing the old link: %v)", a.verdict, a.old, tc.want, tc.displaced)
			require.Equal(t, tc.displaced, a.old == old, "got %s displacing %v, want %s (displacing the old link: %v)", a.verdict, a.old, tc.want, tc.displaced)
			require.Same(t, nu, s.current["b@h"], "current %v, %d retiring; want the new link and nothing retiring", s.current["b@h"], len(s.retired))
			require.Empty(t, s.retired, "current %v, %d retiring; want the new link and nothing retiring", s.current["b@h"], len(s.retired))
			old.closed = true
			v := s.down(old, false, true)
			assert.Equal(t, downForget, v, "the old link's late close: %s, current %v; want forget, the new link", v, s.current["b@h"])
			assert.Same(t, nu, s.current["b@h"], "the old link's late close: %s, current %v; want forget, the new link", v, s.current["b@h"])
		})
	}
}

// TestLinkSetRefusals: stopping, a link to itself, a node this one left:
// nothing is recorded. A hidden client is recorded apart from the members.
func TestLinkSetRefusals(t *testing.T) {
	s := newTestLinkSet("a@h")
	lk := &fakeLink{id: "x", linkFacts: linkFacts{peer: "b@h", guid: testGUID(1)}}
	assert.Equal(t, admitRefuseStopping, s.admit(lk, true, false).verdict, "stopping")
	assert.Equal(t, admitTellLeft, s.admit(lk, false, true).verdict, "left")
	me := &fakeLink{id: "me", linkFacts: linkFacts{peer: "a@h", guid: testGUID(2)}}
	assert.Equal(t, admitRefuseSelf, s.admit(me, false, false).verdict, "own name")
	require.Empty(t, s.all(), "%d links recorded after refusals, want 0", len(s.all()))
	hid := &fakeLink{id: "ctl", linkFacts: linkFacts{peer: "b@h", guid: testGUID(3), hidden: true}}
	require.Equal(t, admitHidden, s.admit(hid, false, false).verdict, "hidden")
	require.Empty(t, s.current, "a hidden client counts as a member link: current %d, members %d, all %d", len(s.current), len(s.members()), len(s.all()))
	require.Empty(t, s.members(), "a hidden client counts as a member link: current %d, members %d, all %d", len(s.current), len(s.members()), len(s.all()))
	require.Len(t, s.all(), 1, "a hidden client counts as a member link: current %d, members %d, all %d", len(s.current), len(s.members()), len(s.all()))
	v := s.down(hid, false, false)
	require.Equal(t, downForget, v, "hidden client closing: %s, %d links left", v, len(s.all()))
	require.Empty(t, s.all(), "hidden client closing: %s, %d links left", v, len(s.all()))
}

// TestLinkSetDrop: a link the member table refused (full) is no longer
// current; dropping a link that is not current changes nothing.
func TestLinkSetDrop(t *testing.T) {
	s := newTestLinkSet("a@h")
	lk := &fakeLink{id: "x", linkFacts: linkFacts{peer: "b@h", guid: testGUID(1)}}
	s.admit(lk, false, false)
	s.drop(lk)
	require.Empty(t, s.current, "dropped link still current")
	s.admit(lk, false, false)
	stale := &fakeLink{id: "y", linkFacts: linkFacts{peer: "b@h", guid: testGUID(1)}}
	s.drop(stale)
	require.Same(t, lk, s.current["b@h"], "dropping a link that is not current removed the current one")
	v := s.down(lk, true, false)
	require.Equal(t, downStopping, v, "closing while stopping: %s, %d current", v, len(s.current))
	require.Empty(t, s.current, "closing while stopping: %s, %d current", v, len(s.current))
}
