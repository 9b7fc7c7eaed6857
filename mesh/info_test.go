package mesh

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestBuildInfo(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.observeUp("b@h", testGUID(20), at(1))
	tb.observeUp("a@h", testGUID(10), at(1))
	tb.setStatus("a@h", StatusLeaving, at(2))
	tb.observeUp("c@h", testGUID(30), at(1))
	tb.observeDown("c@h", at(3))
	tb.observeUp("d@h", testGUID(40), at(1))
	tb.observeDown("d@h", at(3))
	tb.observeUp("d@h", testGUID(40), at(4))
	tb.merge([]MemberInfo{{Node: "e@h", GUID: testGUID(50), Status: StatusUp}}, at(5))

	info := buildInfo(selfName, "prod", tb)
	if info.Node != selfName || info.Cluster != "prod" {
		t.Fatalf("node, cluster = %q, %q", info.Node, info.Cluster)
	}
	if want := []string{"a@h", "b@h", "d@h", selfName}; !slices.Equal(info.RunningNodes, want) {
		t.Errorf("running = %q; want %q", info.RunningNodes, want)
	}
	if want := []string{"c@h", "e@h"}; !slices.Equal(info.StoppedNodes, want) {
		t.Errorf("stopped = %q; want %q", info.StoppedNodes, want)
	}
	if want := []string{"d@h"}; !slices.Equal(info.Partitions, want) {
		t.Errorf("partitions = %q; want %q", info.Partitions, want)
	}
	if len(info.Members) != 6 || info.Members[0].Node != "a@h" || info.Members[0].Status != StatusLeaving {
		t.Errorf("members = %+v", info.Members)
	}
}

func TestInfoJSONShowsEmptyLists(t *testing.T) {
	g := testGUID(1)
	info := buildInfo(selfName, "c", newMemberTable(selfName, g, t0))
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"node":"self@h","cluster":"c","running_nodes":["self@h"],"stopped_nodes":[],` +
		`"members":[{"node":"self@h","status":"up","guid":"` + g.String() + `"}],"partitions":[]}`
	if string(b) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b, want)
	}
	var back Info
	if err := json.Unmarshal(b, &back); err != nil || back.Members[0].GUID != g || back.Members[0].Status != StatusUp {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func TestBuildInfoAddsSelfWhenMissing(t *testing.T) {
	tb := newMemberTable("other@h", testGUID(1), t0)
	info := buildInfo("z@h", "c", tb)
	if !slices.Equal(info.RunningNodes, []string{"other@h", "z@h"}) || strings.Join(info.StoppedNodes, "") != "" {
		t.Fatalf("running %q stopped %q", info.RunningNodes, info.StoppedNodes)
	}
}
