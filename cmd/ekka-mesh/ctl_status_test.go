package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// TestCtlStatusNodeAndPointlessOps runs `ekka-mesh run` processes and asks
// ctl what ekka's ekka_cluster:status(Node) answers, and what its join and
// leave answer when there is nothing to do: status NODE exits 0 when NODE
// is running, 3 when stopped, 6 when not a member; join of a node already
// in the cluster exits 4; leave on a node alone exits 5.
func TestCtlStatusNodeAndPointlessOps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	const (
		s1 = "s1@127.0.0.1"
		s2 = "s2@127.0.0.2"
		s3 = "s3@127.0.0.3"
	)
	h := newHarness(t, buildBinary(t), "status-test-cookie", []string{s1, s2, s3})
	b := strconv.Itoa(h.base)
	procs := map[string]*nodeProc{}
	for _, name := range []string{s1, s2} {
		procs[name] = h.run(t, name, "--name", name, "--base-port", b, "--cookie", h.cookie,
			"--set", "cluster.discovery=static", "--set", "cluster.static.seeds="+s1+","+s2, "--set", "cluster.autocluster.interval=500ms")
	}
	h.run(t, s3, "--name", s3, "--base-port", b, "--cookie", h.cookie) // alone: manual discovery
	deadline := 30 * time.Second

	// running: exit 0, the member's entry.
	var stdout string
	testnet.Eventually(t, deadline, "s2 running as seen from s1", func() string {
		code, out, stderr := h.ctl(t, s1, "status", s2)
		if code != exitOK || !strings.Contains(out, "Services: autoheal") {
			return "exit " + strconv.Itoa(code) + ": " + out + stderr
		}
		stdout = out
		return ""
	})
	lines := strings.Split(stdout, "\n")
	require.Len(t, lines, 6, stdout)
	assert.Equal(t, s2+" is running, as seen from "+s1, lines[0])
	assert.Regexp(t, `^Status:   up since \d{4}-\d\d-\d\dT`, lines[1])
	assert.Regexp(t, `^GUID:     [0-9a-f]+-[0-9a-f]+$`, lines[2])
	assert.Regexp(t, `^Version:  \S+$`, lines[3])
	assert.Equal(t, "Services: autoheal", lines[4])

	code, stdout, stderr := h.ctl(t, s1, "status", s2, "--json")
	require.Equal(t, exitOK, code, stderr)
	var r mesh.NodeReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
	assert.Equal(t, s2, r.Node)
	assert.Equal(t, s1, r.SeenFrom)
	assert.Equal(t, mesh.NodeRunning, r.Status)
	assert.Equal(t, mesh.StatusUp, r.MemberStatus)
	assert.Contains(t, stdout, `"status":"running"`)

	// not a member: exit 6, one line.
	code, stdout, stderr = h.ctl(t, s1, "status", s3)
	assert.Equal(t, exitNotMember, code, stderr)
	assert.Equal(t, s3+" is not a member, as seen from "+s1+"\n", stdout)
	code, stdout, _ = h.ctl(t, s1, "status", s3, "--json")
	assert.Equal(t, exitNotMember, code)
	assert.JSONEq(t, `{"node":"`+s3+`","seen_from":"`+s1+`","status":"not a member"}`, stdout)

	// usage errors, before connecting.
	code, _, stderr = h.ctl(t, s1, "status", "nohost")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: status NODE: ")
	code, _, stderr = h.ctl(t, s1, "status", s2, "--require-up", "2")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--require-up applies to status without NODE (the whole cluster), not to status "+s2)

	// join a node of one's own cluster: exit 4; leave when alone: exit 5.
	code, stdout, stderr = h.ctl(t, s1, "join", s2)
	assert.Equal(t, exitAlreadyInCluster, code, stdout)
	assert.Empty(t, stdout)
	assert.Equal(t, "ekka-mesh ctl: "+s1+" could not join "+s2+": mesh: join "+s2+": already in the cluster: "+s1+
		" runs with it already, there is nothing to join (to join another cluster, leave this one first)\n", stderr)
	code, stdout, stderr = h.ctl(t, s3, "leave")
	assert.Equal(t, exitNotInCluster, code, stdout)
	assert.Equal(t, "ekka-mesh ctl: "+s3+" could not leave its cluster: mesh: leave "+s3+
		": not in a cluster: it has no other member, there is nothing to leave (join a node to form a cluster)\n", stderr)
	code, _, stderr = h.ctl(t, s3, "join", s1)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = h.ctl(t, s3, "join", s1)
	assert.Equal(t, exitAlreadyInCluster, code, stderr)

	// stopped: exit 3, like --require-up not met.
	procs[s2].kill9(t)
	testnet.Eventually(t, deadline, "s2 stopped as seen from s1", func() string {
		code, out, stderr := h.ctl(t, s1, "status", s2)
		if code != exitNotMet {
			return "exit " + strconv.Itoa(code) + ": " + out + stderr
		}
		stdout = out
		return ""
	})
	assert.True(t, strings.HasPrefix(stdout, s2+" is stopped, as seen from "+s1+"\nStatus:   down since "), stdout)
}
