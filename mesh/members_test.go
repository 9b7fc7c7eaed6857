package mesh

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testGUID returns a GUID whose time part is n microseconds: a smaller n is
// an older node.
func testGUID(n uint64) GUID {
	var g GUID
	binary.BigEndian.PutUint64(g[:8], n)
	g[15] = byte(n)
	return g
}

const selfName = "self@h"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// step is one observation fed to the table and the change kind it must give.
type step struct {
	op     string // up, down, status, merge
	node   string
	guid   GUID
	status Status
	want   changeKind
}

func apply(t *testing.T, tb *memberTable, i int, s step) change {
	t.Helper()
	now := at(i + 1)
	var c change
	switch s.op {
	case "up":
		c = tb.observeUp(s.node, s.guid, now)
	case "down":
		c = tb.observeDown(s.node, now)
	case "status":
		c = tb.setStatus(s.node, s.status, now)
	case "merge":
		cs := tb.merge([]MemberInfo{{Node: s.node, GUID: s.guid, Status: s.status}}, now)
		require.LessOrEqual(t, len(cs), 1, "step %d: merge of one entry gave %d changes", i, len(cs))
		if len(cs) == 1 {
			c = cs[0]
		}
	default:
		t.Fatalf("step %d: unknown op %q", i, s.op)
	}
	require.Equal(t, s.want, c.Kind, "step %d %s %s %s: change %s; want %s (%+v)", i, s.op, s.node, s.status, c.Kind, s.want, c)
	return c
}

func TestMemberTransitions(t *testing.T) {
	a1, a2 := testGUID(100), testGUID(200)
	tests := []struct {
		name          string
		steps         []step
		wantStatus    Status // of a@h at the end; 0: not a member
		wantGUID      GUID
		wantPartition bool
	}{
		{"new member up", []step{{op: "up", node: "a@h", guid: a1, want: changeNew}}, StatusUp, a1, false},
		{"duplicate up", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "up", node: "a@h", guid: a1, want: changeNone},
		}, StatusUp, a1, false},
		{"down", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "down", node: "a@h", want: changeNone},
		}, StatusDown, a1, false},
		{"down then up with the same GUID is a partition", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a1, want: changePartition},
		}, StatusUp, a1, true},
		{"partition stays recorded across another down", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a1, want: changePartition},
			{op: "down", node: "a@h", want: changeDown},
		}, StatusDown, a1, true},
		{"down then up with a new GUID is a restart", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a2, want: changeRestart},
		}, StatusUp, a2, false},
		{"restart while a partition is recorded clears it", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a1, want: changePartition},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a2, want: changeRestart},
		}, StatusUp, a2, false},
		{"restart noticed before the down", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "up", node: "a@h", guid: a2, want: changeRestart},
		}, StatusUp, a2, false},
		{"down while healing, back with the same GUID is no partition", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "status", node: "a@h", status: StatusHealing, want: changeStatus},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a1, want: changeUp},
		}, StatusUp, a1, false},
		{"down while joining, back is no partition", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "status", node: "a@h", status: StatusJoining, want: changeStatus},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a1, want: changeUp},
		}, StatusUp, a1, false},
		{"status changes", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "status", node: "a@h", status: StatusLeaving, want: changeStatus},
			{op: "status", node: "a@h", status: StatusLeaving, want: changeNone},
			{op: "status", node: "a@h", status: StatusUp, want: changeStatus},
			{op: "status", node: "a@h", status: 0, want: changeNone},
			{op: "status", node: "a@h", status: 9, want: changeNone},
			{op: "status", node: "a@h", status: StatusDown, want: changeDown},
		}, StatusDown, a1, false},
		{"status of a down member waits for its link", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "status", node: "a@h", status: StatusLeaving, want: changeNone},
		}, StatusDown, a1, false},
		{"status of an unknown node", []step{
			{op: "status", node: "a@h", status: StatusUp, want: changeNone},
		}, 0, GUID{}, false},
		{"down of an unknown node", []step{{op: "down", node: "a@h", want: changeNone}}, 0, GUID{}, false},
		{"learned from a peer then linked is up, not a partition", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: changeLearned},
			{op: "up", node: "a@h", guid: a1, want: changeUp},
		}, StatusUp, a1, false},
		{"learned, dial fails, then linked", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: changeLearned},
			{op: "down", node: "a@h", want: changeNone},
			{op: "up", node: "a@h", guid: a2, want: changeUp},
		}, StatusUp, a2, false},
		{"learned, linked, lost, back is a partition", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: changeLearned},
			{op: "up", node: "a@h", guid: a1, want: changeUp},
			{op: "down", node: "a@h", want: changeDown},
			{op: "up", node: "a@h", guid: a1, want: changePartition},
		}, StatusUp, a1, true},
		{"merge does not override a linked member", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "merge", node: "a@h", guid: a2, status: StatusDown, want: changeNone},
		}, StatusUp, a1, false},
		{"merge does not change the GUID of a member marked down", []step{
			{op: "up", node: "a@h", guid: a1, want: changeNew},
			{op: "down", node: "a@h", want: changeDown},
			{op: "merge", node: "a@h", guid: a2, status: StatusUp, want: changeNone},
			{op: "up", node: "a@h", guid: a1, want: changePartition},
		}, StatusUp, a1, true},
		{"merge takes a newer GUID for a member never linked", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: changeLearned},
			{op: "merge", node: "a@h", guid: a2, status: StatusUp, want: changeNone},
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: changeNone},
		}, StatusDown, a2, false},
		{"merge of a down entry still learns the member", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusDown, want: changeLearned},
		}, StatusDown, a1, false},
		{"merge ignores bad rows", []step{
			{op: "merge", node: "a@h", guid: a1, status: 0, want: changeNone},
			{op: "merge", node: "bad", guid: a1, status: StatusUp, want: changeNone},
		}, 0, GUID{}, false},
		{"up with a zero GUID or a bad name is ignored", []step{
			{op: "up", node: "a@h", guid: GUID{}, want: changeNone},
			{op: "up", node: "a@", guid: a1, want: changeNone},
			{op: "up", node: "", guid: a1, want: changeNone},
		}, 0, GUID{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newMemberTable(selfName, testGUID(1), t0)
			for i, s := range tt.steps {
				apply(t, tb, i, s)
			}
			m, ok := tb.get("a@h")
			if tt.wantStatus == 0 {
				require.False(t, ok, "a@h is a member (%+v); want none", m)
			} else {
				require.True(t, ok, "a@h = %+v, %v; want status %s GUID %s", m, ok, tt.wantStatus, tt.wantGUID)
				require.Equal(t, tt.wantStatus, m.Status, "a@h = %+v, %v; want status %s GUID %s", m, ok, tt.wantStatus, tt.wantGUID)
				require.Equal(t, tt.wantGUID, m.GUID, "a@h = %+v, %v; want status %s GUID %s", m, ok, tt.wantStatus, tt.wantGUID)
			}
			wantParts := []string{}
			if tt.wantPartition {
				wantParts = []string{"a@h"}
			}
			got := tb.partitions()
			require.True(t, slices.Equal(got, wantParts), "partitions = %q; want %q", got, wantParts)
			self, ok := tb.get(selfName)
			require.True(t, ok, "self = %+v, %v; want up with its own GUID", self, ok)
			require.Equal(t, StatusUp, self.Status, "self = %+v, %v; want up with its own GUID", self, ok)
			require.Equal(t, testGUID(1), self.GUID, "self = %+v, %v; want up with its own GUID", self, ok)
		})
	}
}

func TestChangeDetails(t *testing.T) {
	a1, a2 := testGUID(100), testGUID(200)
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("a@h", a1, at(1))
	c := tb.observeDown("a@h", at(2))
	require.Equal(t, change{Kind: changeDown, Node: "a@h", GUID: a1, OldStatus: StatusUp, Status: StatusDown}, c, "down change")
	m, _ := tb.get("a@h")
	require.True(t, m.Since.Equal(at(2)), "Since = %v; want the time of the down", m.Since)
	c = tb.observeUp("a@h", a1, at(3))
	require.Equal(t, change{Kind: changePartition, Node: "a@h", GUID: a1, OldStatus: StatusDown, Status: StatusUp}, c, "partition change")
	c = tb.observeUp("a@h", a2, at(4))
	want := change{Kind: changeRestart, Node: "a@h", GUID: a2, OldGUID: a1, OldStatus: StatusUp, Status: StatusUp, PartitionCleared: true}
	require.Equal(t, want, c, "restart change")
	c = tb.setStatus("a@h", StatusLeaving, at(5))
	require.Equal(t, change{Kind: changeStatus, Node: "a@h", GUID: a2, OldStatus: StatusUp, Status: StatusLeaving}, c, "status change")
}

func TestSelfNeverGoesDown(t *testing.T) {
	g := testGUID(1)
	tb := newMemberTable(selfName, g, t0)
	checks := []change{
		tb.observeDown(selfName, at(1)),
		tb.setStatus(selfName, StatusDown, at(2)),
		tb.observeUp(selfName, testGUID(2), at(3)),
	}
	for i, c := range checks {
		assert.Equal(t, changeNone, c.Kind, "observation %d on self: %s; want none", i, c.Kind)
	}
	tb.merge([]MemberInfo{{Node: selfName, Status: StatusDown, GUID: testGUID(3)}}, at(4))
	assert.False(t, tb.remove(selfName), "self was removed")
	got := tb.autoclean(at(100000), time.Second)
	assert.Empty(t, got, "autoclean removed %q", got)
	m, ok := tb.get(selfName)
	require.True(t, ok, "self = %+v, %v; want up with GUID %s", m, ok, g)
	require.Equal(t, StatusUp, m.Status, "self = %+v, %v; want up with GUID %s", m, ok, g)
	require.Equal(t, g, m.GUID, "self = %+v, %v; want up with GUID %s", m, ok, g)
	// Self may announce a transitional status, and go back up.
	require.Equal(t, changeStatus, tb.setStatus(selfName, StatusLeaving, at(5)).Kind, "self leaving")
	require.Equal(t, changeStatus, tb.setStatus(selfName, StatusUp, at(6)).Kind, "self up again")
}

func TestRemoveAndClearPartition(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("a@h", testGUID(10), at(1))
	tb.observeDown("a@h", at(2))
	tb.observeUp("a@h", testGUID(10), at(3))
	tb.observeUp("b@h", testGUID(20), at(3))
	tb.observeDown("b@h", at(4))
	tb.observeUp("b@h", testGUID(20), at(5))
	require.Equal(t, []string{"a@h", "b@h"}, tb.partitions(), "partitions")
	require.True(t, tb.clearPartition("a@h"), "clearPartition must report true once, then false")
	require.False(t, tb.clearPartition("a@h"), "clearPartition must report true once, then false")
	require.False(t, tb.clearPartition("zz@h"), "clearPartition must report true once, then false")
	require.True(t, tb.remove("b@h"), "remove must report true once, then false")
	require.False(t, tb.remove("b@h"), "remove must report true once, then false")
	require.False(t, tb.remove("zz@h"), "remove must report true once, then false")
	got := tb.partitions()
	require.Empty(t, got, "partitions after clear and remove = %q; want none", got)
	// A removed member that comes back is new, whatever its GUID.
	require.Equal(t, changeNew, tb.observeUp("b@h", testGUID(20), at(6)).Kind, "removed member back; want new")
}

func TestAutoclean(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("up@h", testGUID(2), t0)
	tb.observeUp("old@h", testGUID(3), t0)
	tb.observeDown("old@h", at(10))
	tb.observeUp("recent@h", testGUID(4), t0)
	tb.observeDown("recent@h", at(50))
	tb.observeUp("edge@h", testGUID(5), t0)
	tb.observeDown("edge@h", at(40))
	tb.observeUp("leaving@h", testGUID(6), t0)
	tb.setStatus("leaving@h", StatusLeaving, at(0))
	tb.merge([]MemberInfo{{Node: "learned@h", GUID: testGUID(7), Status: StatusUp}}, at(20))
	// partitioned then down again: removal takes the partition record along
	tb.observeDown("up@h", at(1))
	tb.observeUp("up@h", testGUID(2), at(2))

	got := tb.autoclean(at(100), 0)
	require.Nil(t, got, "autoclean disabled removed %q", got)
	got = tb.autoclean(at(100), -time.Second)
	require.Nil(t, got, "autoclean with a negative value removed %q", got)
	got = tb.autoclean(at(100), 60*time.Second)
	require.Equal(t, []string{"learned@h", "old@h"}, got, "autoclean (edge@h is down exactly 60 s: not longer)")
	var left []string
	for _, m := range tb.snapshot() {
		left = append(left, m.Node)
	}
	require.Equal(t, []string{"edge@h", "leaving@h", "recent@h", selfName, "up@h"}, left, "members left")
	require.Equal(t, []string{"edge@h"}, tb.autoclean(at(101), 60*time.Second), "one second later autoclean")
	require.Equal(t, []string{"up@h"}, tb.partitions(), "partitions; want up@h kept")
}

func TestMergeMany(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("a@h", testGUID(10), at(1))
	changes := tb.merge([]MemberInfo{
		{Node: "c@h", GUID: testGUID(30), Status: StatusUp},
		{Node: "a@h", GUID: testGUID(11), Status: StatusDown},
		{Node: selfName, GUID: testGUID(99), Status: StatusDown},
		{Node: "b@h", GUID: testGUID(20), Status: StatusJoining},
		{Node: "b@h", GUID: testGUID(20), Status: StatusJoining},
		{Node: "x y@h", GUID: testGUID(20), Status: StatusUp},
	}, at(2))
	var kinds []string
	for _, c := range changes {
		kinds = append(kinds, fmt.Sprintf("%s:%s", c.Node, c.Kind))
	}
	require.Equal(t, []string{"c@h:learned", "b@h:learned"}, kinds, "merge changes")
	snap := tb.snapshot()
	want := []MemberInfo{
		{Node: "a@h", Status: StatusUp, GUID: testGUID(10), Since: at(1)},
		{Node: "b@h", Status: StatusDown, GUID: testGUID(20), Since: at(2)},
		{Node: "c@h", Status: StatusDown, GUID: testGUID(30), Since: at(2)},
		{Node: selfName, Status: StatusUp, GUID: testGUID(1), Since: t0},
	}
	require.Equal(t, want, snap, "snapshot")
}

func TestValidNodeName(t *testing.T) {
	longest := strings.Repeat("n", 253) + "@h" // 255 bytes, portmap.MaxNameLen
	good := []string{"a@h", "emqx-12@10.0.0.1", "n_1.x@host.example", "a@::1", "a@[::1]", longest}
	bad := []string{"", "a", "@h", "a@", "a@b@c", "a b@h", "a@h h", "a\x00@h", "é@h", "a@h\t", "n" + longest, strings.Repeat("x", 70000) + "@h"}
	for _, n := range good {
		assert.True(t, validNodeName(n), "%q rejected", n)
	}
	for _, n := range bad {
		assert.False(t, validNodeName(n), "%q accepted", n)
	}
}

func TestChangeKindString(t *testing.T) {
	for k := changeNone; k <= changeRefused; k++ {
		s := k.String()
		assert.False(t, s == "" || strings.HasPrefix(s, "change("), "%d has no name: %q", k, s)
	}
	assert.Equal(t, "change(200)", changeKind(200).String(), "unknown kind String")
}

// names returns n node names prefix0@h, prefix1@h, ...
func names(prefix string, n int) []MemberInfo {
	out := make([]MemberInfo, n)
	for i := range out {
		out[i] = MemberInfo{Node: fmt.Sprintf("%s%d@h", prefix, i), GUID: testGUID(uint64(100 + i)), Status: StatusUp}
	}
	return out
}

// TestMergeWithinLimits: a merge learns no member beyond the table's limit
// (self included) nor beyond its budget, and counts what it dropped and why.
func TestMergeWithinLimits(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		budget   int
		entries  int
		learned  int
		full     int
		rate     int
		tableLen int
	}{
		{"no limit, no budget", 0, -1, 50, 50, 0, 0, 51},
		{"limit", 10, -1, 50, 9, 41, 0, 10},
		{"budget", 0, 5, 50, 5, 0, 45, 6},
		{"budget below limit", 10, 3, 50, 3, 0, 47, 4},
		{"limit below budget", 4, 10, 50, 3, 47, 0, 4},
		{"budget zero", 10, 0, 7, 0, 0, 7, 1},
		{"one hundred thousand", 1024, 1024, 100000, 1023, 98977, 0, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newMemberTable(selfName, testGUID(1), t0)
			tb.limit = tt.limit
			changes, drops := tb.mergeLimited(names("m", tt.entries), at(1), tt.budget)
			msg := fmt.Sprintf("learned %d, dropped %+v, table %d; want learned %d, full %d, rate %d, table %d",
				len(changes), drops, len(tb.members), tt.learned, tt.full, tt.rate, tt.tableLen)
			require.Len(t, changes, tt.learned, msg)
			require.Equal(t, tt.full, drops.Full, msg)
			require.Equal(t, tt.rate, drops.Rate, msg)
			require.Len(t, tb.members, tt.tableLen, msg)
			require.Equal(t, tt.full+tt.rate, drops.Total(), "Total()")
		})
	}
}

// TestFullTableMakesRoomForALink: a node that links while the table is full
// takes the place of the member never reached that has been known the
// longest; when every member has been reached, it is refused.
func TestFullTableMakesRoomForALink(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.limit = 4
	tb.observeUp("real@h", testGUID(2), at(1))
	tb.mergeLimited(names("late", 1), at(3), -1)  // late0@h, learned at 3
	tb.mergeLimited(names("early", 1), at(2), -1) // early0@h, learned at 2
	require.True(t, tb.full(), "table of %d with limit 4 is not full", len(tb.members))
	c := tb.observeUp("new@h", testGUID(3), at(4))
	require.Equal(t, changeNew, c.Kind, "link from new@h on a full table = %+v; want new, evicting early0@h (never reached, known longest)", c)
	require.Equal(t, "early0@h", c.Evicted, "link from new@h on a full table = %+v; want new, evicting early0@h (never reached, known longest)", c)
	c = tb.observeUp("newer@h", testGUID(4), at(5))
	require.Equal(t, changeNew, c.Kind, "link from newer@h = %+v; want new, evicting late0@h", c)
	require.Equal(t, "late0@h", c.Evicted, "link from newer@h = %+v; want new, evicting late0@h", c)
	c = tb.observeUp("third@h", testGUID(5), at(6))
	require.Equal(t, changeRefused, c.Kind, "link from third@h with every member reached = %+v; want refused", c)
	_, ok := tb.get("third@h")
	require.False(t, ok, "refused node is a member")
	require.Len(t, tb.members, 4, "the table has %d members; want 4", len(tb.members))
	// A member already known is never refused: the cap is on new members.
	tb.observeDown("real@h", at(7))
	require.Equal(t, changePartition, tb.observeUp("real@h", testGUID(2), at(8)).Kind, "known member back on a full table; want partition")
}

// TestForgetUnreached: a member learned from a peer and never reached is
// removed once it was learned longer than after ago; members this node has
// reached (even down ones) and self are not, and after <= 0 disables it.
func TestForgetUnreached(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.merge([]MemberInfo{{Node: "fake@h", GUID: testGUID(9), Status: StatusUp}}, at(0))
	tb.merge([]MemberInfo{{Node: "later@h", GUID: testGUID(8), Status: StatusUp}}, at(10))
	tb.merge([]MemberInfo{{Node: "real@h", GUID: testGUID(7), Status: StatusUp}}, at(0))
	tb.observeUp("real@h", testGUID(7), at(1))
	tb.observeDown("real@h", at(2))
	after := 30 * time.Second
	first, ok := tb.nextUnreachedExpiry(after)
	require.True(t, ok, "nextUnreachedExpiry = %v, %v; want %v", first, ok, at(30))
	require.True(t, first.Equal(at(30)), "nextUnreachedExpiry = %v, %v; want %v", first, ok, at(30))
	got := tb.forgetUnreached(at(30), after)
	require.Empty(t, got, "forgetUnreached at exactly 30 s = %q; want nothing yet", got)
	got = tb.forgetUnreached(at(31), 0)
	require.Empty(t, got, "forgetUnreached disabled = %q; want nothing", got)
	require.Equal(t, []string{"fake@h"}, tb.forgetUnreached(at(31), after), "forgetUnreached at 31 s")
	require.Equal(t, []string{"later@h"}, tb.forgetUnreached(at(100), after), "forgetUnreached at 100 s (real@h was reached, it is autoclean's)")
	_, ok = tb.nextUnreachedExpiry(after)
	require.False(t, ok, "nextUnreachedExpiry found a member with none left unreached")
	_, ok = tb.get("real@h")
	require.True(t, ok, "a member this node reached was forgotten")
}

// TestServices: a member's services are taken only from its current,
// linked incarnation, replaced whole, and dropped when it restarts.
func TestServices(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.merge([]MemberInfo{{Node: "a@h", GUID: testGUID(5), Status: StatusUp}}, at(0))
	require.False(t, tb.setServices("a@h", testGUID(5), []string{"autoheal"}), "services taken for a member never linked")
	tb.observeUp("a@h", testGUID(5), at(1))
	require.False(t, tb.setServices("a@h", testGUID(6), []string{"autoheal"}), "services taken for another incarnation")
	require.True(t, tb.setServices("a@h", testGUID(5), []string{"autoheal", "x"}), "services of the linked member not taken")
	require.False(t, tb.setServices("a@h", testGUID(5), []string{"autoheal", "x"}), "the same services reported as a change")
	m, _ := tb.get("a@h")
	require.Equal(t, []string{"autoheal", "x"}, m.Services, "Services")
	tb.observeDown("a@h", at(2))
	m, _ = tb.get("a@h")
	require.Len(t, m.Services, 2, "a member down keeps its incarnation's services; got %q", m.Services)
	tb.observeUp("a@h", testGUID(7), at(3))
	m, _ = tb.get("a@h")
	require.Nil(t, m.Services, "services after a restart = %q; want none until it tells", m.Services)
	require.True(t, tb.setServices(selfName, testGUID(1), []string{"autoheal"}), "self's services not taken")
}

func TestParseServices(t *testing.T) {
	b := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	got, err := parseServices(b("x", "autoheal", "x"))
	require.NoError(t, err, "parseServices")
	require.Equal(t, []string{"autoheal", "x"}, got, "parseServices; want sorted, without duplicates")
	for _, bad := range [][][]byte{b(""), b(strings.Repeat("s", MaxServiceLen+1)), b("a b"), b("é"), make([][]byte, MaxServices+1)} {
		_, err := parseServices(bad)
		assert.Error(t, err, "parseServices(%q) accepted", bad)
	}
	assert.NoError(t, checkServiceName(strings.Repeat("s", MaxServiceLen)), "a %d-byte name refused", MaxServiceLen)
}

func TestTokenBucket(t *testing.T) {
	b := newTokenBucket(10, 5, t0) // 10 per second, 5 at most
	require.Equal(t, 5, b.available(t0), "a new bucket holds the wrong count; want its burst, 5")
	b.spend(t0, 5)
	got, wait := b.available(t0), b.untilNext(t0)
	require.Equal(t, 0, got, "after spending all: %d tokens, next in %v; want 0, 100ms", got, wait)
	require.Equal(t, 100*time.Millisecond, wait, "after spending all: %d tokens, next in %v; want 0, 100ms", got, wait)
	now := t0.Add(250 * time.Millisecond)
	require.Equal(t, 2, b.available(now), "250 ms later")
	require.Equal(t, 5, b.available(t0.Add(time.Hour)), "an hour later; want the burst, 5")
	b.spend(t0.Add(time.Hour), 100)
	require.Equal(t, 0, b.available(t0.Add(time.Hour)), "overspent bucket")
	// A clock that steps back neither adds nor removes tokens.
	require.Equal(t, 0, b.available(t0), "clock stepped back")
	z := newTokenBucket(0, 0, t0)
	z.spend(t0, 1)
	require.Equal(t, time.Hour, z.untilNext(t0.Add(time.Hour)), "a bucket that never refills; want an hour")
}
