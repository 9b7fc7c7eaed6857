package mesh

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.Equal(t, selfName, info.Node, "node, cluster = %q, %q", info.Node, info.Cluster)
	require.Equal(t, "prod", info.Cluster, "node, cluster = %q, %q", info.Node, info.Cluster)
	assert.Equal(t, []string{"a@h", "b@h", "d@h", selfName}, info.RunningNodes, "running")
	assert.Equal(t, []string{"c@h", "e@h"}, info.StoppedNodes, "stopped")
	assert.Equal(t, []string{"d@h"}, info.Partitions, "partitions")
	if assert.Len(t, info.Members, 6, "members = %+v", info.Members) {
		assert.Equal(t, "a@h", info.Members[0].Node, "members = %+v", info.Members)
		assert.Equal(t, StatusLeaving, info.Members[0].Status, "members = %+v", info.Members)
	}
}

func TestInfoJSONShowsEmptyLists(t *testing.T) {
	g := testGUID(1)
	info := buildInfo(selfName, "c", newMemberTable(selfName, g, t0))
	b, err := json.Marshal(info)
	require.NoError(t, err)
	want := `{"node":"self@h","cluster":"c","running_nodes":["self@h"],"stopped_nodes":[],` +
		`"members":[{"node":"self@h","status":"up","guid":"` + g.String() + `"}],"partitions":[]}`
	require.Equal(t, want, string(b))
	var back Info
	require.NoError(t, json.Unmarshal(b, &back), "round trip")
	require.Equal(t, g, back.Members[0].GUID, "round trip = %+v", back)
	require.Equal(t, StatusUp, back.Members[0].Status, "round trip = %+v", back)
}

func TestBuildInfoAddsSelfWhenMissing(t *testing.T) {
	tb := newMemberTable("other@h", testGUID(1), t0)
	info := buildInfo("z@h", "c", tb)
	require.Equal(t, []string{"other@h", "z@h"}, info.RunningNodes, "running %q stopped %q", info.RunningNodes, info.StoppedNodes)
	require.Empty(t, strings.Join(info.StoppedNodes, ""), "running %q stopped %q", info.RunningNodes, info.StoppedNodes)
}
