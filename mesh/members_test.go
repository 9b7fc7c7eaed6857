package mesh

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
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
	want   ChangeKind
}

func apply(t *testing.T, tb *memberTable, i int, s step) Change {
	t.Helper()
	now := at(i + 1)
	var c Change
	switch s.op {
	case "up":
		c = tb.observeUp(s.node, s.guid, now)
	case "down":
		c = tb.observeDown(s.node, now)
	case "status":
		c = tb.setStatus(s.node, s.status, now)
	case "merge":
		cs := tb.merge([]MemberInfo{{Node: s.node, GUID: s.guid, Status: s.status}}, now)
		if len(cs) > 1 {
			t.Fatalf("step %d: merge of one entry gave %d changes", i, len(cs))
		}
		if len(cs) == 1 {
			c = cs[0]
		}
	default:
		t.Fatalf("step %d: unknown op %q", i, s.op)
	}
	if c.Kind != s.want {
		t.Fatalf("step %d %s %s %s: change %s; want %s (%+v)", i, s.op, s.node, s.status, c.Kind, s.want, c)
	}
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
		{"new member up", []step{{op: "up", node: "a@h", guid: a1, want: ChangeNew}}, StatusUp, a1, false},
		{"duplicate up", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "up", node: "a@h", guid: a1, want: ChangeNone},
		}, StatusUp, a1, false},
		{"down", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "down", node: "a@h", want: ChangeNone},
		}, StatusDown, a1, false},
		{"down then up with the same GUID is a partition", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a1, want: ChangePartition},
		}, StatusUp, a1, true},
		{"partition stays recorded across another down", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a1, want: ChangePartition},
			{op: "down", node: "a@h", want: ChangeDown},
		}, StatusDown, a1, true},
		{"down then up with a new GUID is a restart", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a2, want: ChangeRestart},
		}, StatusUp, a2, false},
		{"restart while a partition is recorded clears it", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a1, want: ChangePartition},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a2, want: ChangeRestart},
		}, StatusUp, a2, false},
		{"restart noticed before the down", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "up", node: "a@h", guid: a2, want: ChangeRestart},
		}, StatusUp, a2, false},
		{"down while healing, back with the same GUID is no partition", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "status", node: "a@h", status: StatusHealing, want: ChangeStatus},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a1, want: ChangeUp},
		}, StatusUp, a1, false},
		{"down while joining, back is no partition", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "status", node: "a@h", status: StatusJoining, want: ChangeStatus},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a1, want: ChangeUp},
		}, StatusUp, a1, false},
		{"status changes", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "status", node: "a@h", status: StatusLeaving, want: ChangeStatus},
			{op: "status", node: "a@h", status: StatusLeaving, want: ChangeNone},
			{op: "status", node: "a@h", status: StatusUp, want: ChangeStatus},
			{op: "status", node: "a@h", status: 0, want: ChangeNone},
			{op: "status", node: "a@h", status: 9, want: ChangeNone},
			{op: "status", node: "a@h", status: StatusDown, want: ChangeDown},
		}, StatusDown, a1, false},
		{"status of a down member waits for its link", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "status", node: "a@h", status: StatusLeaving, want: ChangeNone},
		}, StatusDown, a1, false},
		{"status of an unknown node", []step{
			{op: "status", node: "a@h", status: StatusUp, want: ChangeNone},
		}, 0, GUID{}, false},
		{"down of an unknown node", []step{{op: "down", node: "a@h", want: ChangeNone}}, 0, GUID{}, false},
		{"learned from a peer then linked is up, not a partition", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: ChangeLearned},
			{op: "up", node: "a@h", guid: a1, want: ChangeUp},
		}, StatusUp, a1, false},
		{"learned, dial fails, then linked", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: ChangeLearned},
			{op: "down", node: "a@h", want: ChangeNone},
			{op: "up", node: "a@h", guid: a2, want: ChangeUp},
		}, StatusUp, a2, false},
		{"learned, linked, lost, back is a partition", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: ChangeLearned},
			{op: "up", node: "a@h", guid: a1, want: ChangeUp},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "up", node: "a@h", guid: a1, want: ChangePartition},
		}, StatusUp, a1, true},
		{"merge does not override a linked member", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "merge", node: "a@h", guid: a2, status: StatusDown, want: ChangeNone},
		}, StatusUp, a1, false},
		{"merge does not change the GUID of a member marked down", []step{
			{op: "up", node: "a@h", guid: a1, want: ChangeNew},
			{op: "down", node: "a@h", want: ChangeDown},
			{op: "merge", node: "a@h", guid: a2, status: StatusUp, want: ChangeNone},
			{op: "up", node: "a@h", guid: a1, want: ChangePartition},
		}, StatusUp, a1, true},
		{"merge takes a newer GUID for a member never linked", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: ChangeLearned},
			{op: "merge", node: "a@h", guid: a2, status: StatusUp, want: ChangeNone},
			{op: "merge", node: "a@h", guid: a1, status: StatusUp, want: ChangeNone},
		}, StatusDown, a2, false},
		{"merge of a down entry still learns the member", []step{
			{op: "merge", node: "a@h", guid: a1, status: StatusDown, want: ChangeLearned},
		}, StatusDown, a1, false},
		{"merge ignores bad rows", []step{
			{op: "merge", node: "a@h", guid: a1, status: 0, want: ChangeNone},
			{op: "merge", node: "bad", guid: a1, status: StatusUp, want: ChangeNone},
		}, 0, GUID{}, false},
		{"up with a zero GUID or a bad name is ignored", []step{
			{op: "up", node: "a@h", guid: GUID{}, want: ChangeNone},
			{op: "up", node: "a@", guid: a1, want: ChangeNone},
			{op: "up", node: "", guid: a1, want: ChangeNone},
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
				if ok {
					t.Fatalf("a@h is a member (%+v); want none", m)
				}
			} else if !ok || m.Status != tt.wantStatus || m.GUID != tt.wantGUID {
				t.Fatalf("a@h = %+v, %v; want status %s GUID %s", m, ok, tt.wantStatus, tt.wantGUID)
			}
			wantParts := []string{}
			if tt.wantPartition {
				wantParts = []string{"a@h"}
			}
			if got := tb.partitions(); !slices.Equal(got, wantParts) {
				t.Fatalf("partitions = %q; want %q", got, wantParts)
			}
			self, ok := tb.get(selfName)
			if !ok || self.Status != StatusUp || self.GUID != testGUID(1) {
				t.Fatalf("self = %+v, %v; want up with its own GUID", self, ok)
			}
		})
	}
}

func TestChangeDetails(t *testing.T) {
	a1, a2 := testGUID(100), testGUID(200)
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("a@h", a1, at(1))
	c := tb.observeDown("a@h", at(2))
	if c != (Change{Kind: ChangeDown, Node: "a@h", GUID: a1, OldStatus: StatusUp, Status: StatusDown}) {
		t.Fatalf("down change = %+v", c)
	}
	if m, _ := tb.get("a@h"); !m.Since.Equal(at(2)) {
		t.Fatalf("Since = %v; want the time of the down", m.Since)
	}
	c = tb.observeUp("a@h", a1, at(3))
	if c != (Change{Kind: ChangePartition, Node: "a@h", GUID: a1, OldStatus: StatusDown, Status: StatusUp}) {
		t.Fatalf("partition change = %+v", c)
	}
	c = tb.observeUp("a@h", a2, at(4))
	want := Change{Kind: ChangeRestart, Node: "a@h", GUID: a2, OldGUID: a1, OldStatus: StatusUp, Status: StatusUp, PartitionCleared: true}
	if c != want {
		t.Fatalf("restart change = %+v; want %+v", c, want)
	}
	c = tb.setStatus("a@h", StatusLeaving, at(5))
	if c != (Change{Kind: ChangeStatus, Node: "a@h", GUID: a2, OldStatus: StatusUp, Status: StatusLeaving}) {
		t.Fatalf("status change = %+v", c)
	}
}

func TestSelfNeverGoesDown(t *testing.T) {
	g := testGUID(1)
	tb := newMemberTable(selfName, g, t0)
	checks := []Change{
		tb.observeDown(selfName, at(1)),
		tb.setStatus(selfName, StatusDown, at(2)),
		tb.observeUp(selfName, testGUID(2), at(3)),
	}
	for i, c := range checks {
		if c.Kind != ChangeNone {
			t.Errorf("observation %d on self: %s; want none", i, c.Kind)
		}
	}
	tb.merge([]MemberInfo{{Node: selfName, Status: StatusDown, GUID: testGUID(3)}}, at(4))
	if tb.remove(selfName) {
		t.Error("self was removed")
	}
	if got := tb.autoclean(at(100000), time.Second); len(got) != 0 {
		t.Errorf("autoclean removed %q", got)
	}
	if m, ok := tb.get(selfName); !ok || m.Status != StatusUp || m.GUID != g {
		t.Fatalf("self = %+v, %v; want up with GUID %s", m, ok, g)
	}
	// Self may announce a transitional status, and go back up.
	if c := tb.setStatus(selfName, StatusLeaving, at(5)); c.Kind != ChangeStatus {
		t.Fatalf("self leaving: %s", c.Kind)
	}
	if c := tb.setStatus(selfName, StatusUp, at(6)); c.Kind != ChangeStatus {
		t.Fatalf("self up again: %s", c.Kind)
	}
}

func TestRemoveAndClearPartition(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("a@h", testGUID(10), at(1))
	tb.observeDown("a@h", at(2))
	tb.observeUp("a@h", testGUID(10), at(3))
	tb.observeUp("b@h", testGUID(20), at(3))
	tb.observeDown("b@h", at(4))
	tb.observeUp("b@h", testGUID(20), at(5))
	if got := tb.partitions(); !slices.Equal(got, []string{"a@h", "b@h"}) {
		t.Fatalf("partitions = %q", got)
	}
	if !tb.clearPartition("a@h") || tb.clearPartition("a@h") || tb.clearPartition("zz@h") {
		t.Fatal("clearPartition must report true once, then false")
	}
	if !tb.remove("b@h") || tb.remove("b@h") || tb.remove("zz@h") {
		t.Fatal("remove must report true once, then false")
	}
	if got := tb.partitions(); len(got) != 0 {
		t.Fatalf("partitions after clear and remove = %q; want none", got)
	}
	// A removed member that comes back is new, whatever its GUID.
	if c := tb.observeUp("b@h", testGUID(20), at(6)); c.Kind != ChangeNew {
		t.Fatalf("removed member back: %s; want new", c.Kind)
	}
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

	if got := tb.autoclean(at(100), 0); got != nil {
		t.Fatalf("autoclean disabled removed %q", got)
	}
	if got := tb.autoclean(at(100), -time.Second); got != nil {
		t.Fatalf("autoclean with a negative value removed %q", got)
	}
	got := tb.autoclean(at(100), 60*time.Second)
	if want := []string{"learned@h", "old@h"}; !slices.Equal(got, want) {
		t.Fatalf("autoclean = %q; want %q (edge@h is down exactly 60 s: not longer)", got, want)
	}
	var left []string
	for _, m := range tb.snapshot() {
		left = append(left, m.Node)
	}
	if want := []string{"edge@h", "leaving@h", "recent@h", selfName, "up@h"}; !slices.Equal(left, want) {
		t.Fatalf("members left = %q; want %q", left, want)
	}
	if got := tb.autoclean(at(101), 60*time.Second); !slices.Equal(got, []string{"edge@h"}) {
		t.Fatalf("one second later autoclean = %q; want edge@h", got)
	}
	if got := tb.partitions(); !slices.Equal(got, []string{"up@h"}) {
		t.Fatalf("partitions = %q; want up@h kept", got)
	}
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
	if want := []string{"c@h:learned", "b@h:learned"}; !slices.Equal(kinds, want) {
		t.Fatalf("merge changes = %q; want %q", kinds, want)
	}
	snap := tb.snapshot()
	want := []MemberInfo{
		{Node: "a@h", Status: StatusUp, GUID: testGUID(10), Since: at(1)},
		{Node: "b@h", Status: StatusDown, GUID: testGUID(20), Since: at(2)},
		{Node: "c@h", Status: StatusDown, GUID: testGUID(30), Since: at(2)},
		{Node: selfName, Status: StatusUp, GUID: testGUID(1), Since: t0},
	}
	if !slices.Equal(snap, want) {
		t.Fatalf("snapshot = %+v\nwant %+v", snap, want)
	}
}

func TestValidNodeName(t *testing.T) {
	good := []string{"a@h", "emqx-12@10.0.0.1", "n_1.x@host.example", "a@::1", "a@[::1]"}
	bad := []string{"", "a", "@h", "a@", "a@b@c", "a b@h", "a@h h", "a\x00@h", "é@h", "a@h\t"}
	for _, n := range good {
		if !validNodeName(n) {
			t.Errorf("%q rejected", n)
		}
	}
	for _, n := range bad {
		if validNodeName(n) {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestChangeKindString(t *testing.T) {
	for k := ChangeNone; k <= ChangeLearned; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "change(") {
			t.Errorf("%d has no name: %q", k, s)
		}
	}
	if s := ChangeKind(200).String(); s != "change(200)" {
		t.Errorf("unknown kind String = %q", s)
	}
}
