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

// TestCtlAutocluster: a node run with static discovery keeps retrying a
// seed that is down; ctl autocluster off ends its loop, now runs one pass
// (which links it to the seed once that is up), on starts a loop again,
// and status says each state. Every change is logged on the node with the
// client that asked.
func TestCtlAutocluster(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	base := testnet.FreeBase(t, "a1@127.0.0.1", "a2@127.0.0.2")
	b := strconv.Itoa(base)
	p1 := startRunNode(t, env, "--name", "a1@127.0.0.1", "--base-port", b, "--cookie", "C",
		"--set", "cluster.discovery=static", "--set", "cluster.static.seeds=a1@127.0.0.1,a2@127.0.0.2", "--set", "cluster.autocluster.interval=100ms")
	on := func(args ...string) (int, string, string) {
		return ctl(t, env, append([]string{"--node", "a1@127.0.0.1", "--base-port", b, "--cookie", "C"}, args...)...)
	}
	testnet.Eventually(t, 20*time.Second, "a pass that found a2 down", func() string {
		if st := p1.node.AutoclusterStatus(); st.Passes == 0 || st.LastOK {
			return "no failed pass yet"
		}
		return ""
	})

	code, stdout, stderr := on("autocluster")
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `^Autocluster: on, the loop is running\nPasses:      \d+\nLast pass:   failed, discovered nodes did not answer: a2@127\.0\.0\.2 \(.+\)\n$`, stdout)

	code, stdout, stderr = on("autocluster", "off")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "a1@127.0.0.1: autocluster off until the node restarts (a restart starts the loop of cluster.discovery again); the node keeps its members\n", stdout)
	require.False(t, p1.node.AutoclusterStatus().Running)
	code, stdout, stderr = on("autocluster", "status", "--json")
	require.Equal(t, exitOK, code, stderr)
	var st mesh.AutoclusterStatus
	require.NoError(t, json.Unmarshal([]byte(stdout), &st))
	assert.True(t, st.Configured)
	assert.False(t, st.Enabled)
	assert.False(t, st.Running)

	// a2 is down: the pass fails, exit 1, and says why.
	code, stdout, stderr = on("autocluster", "now")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "ekka-mesh ctl: autocluster now on a1@127.0.0.1: the pass did not link the node to every node discovered: discovered nodes did not answer: a2@127.0.0.2 (")

	startRunNode(t, env, "--name", "a2@127.0.0.2", "--base-port", b, "--cookie", "C")
	code, stdout, stderr = on("autocluster", "now")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "a1@127.0.0.1: autocluster pass: linked to all 1 discovered nodes\n", stdout)
	assert.Equal(t, []string{"a1@127.0.0.1", "a2@127.0.0.2"}, p1.node.Info().RunningNodes)

	code, stdout, stderr = on("autocluster", "on")
	require.Equal(t, exitOK, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "a1@127.0.0.1: autocluster on: on, "), stdout)
	testnet.Eventually(t, 20*time.Second, "the loop is done", func() string {
		code, stdout, _ := on("autocluster", "status")
		if code != exitOK || !strings.HasPrefix(stdout, "Autocluster: on, the loop is done") {
			return stdout
		}
		return ""
	})

	client := "client=ctl-"
	for _, op := range []string{"off", "now", "on"} {
		lines := logLines(p1.log.String(), "admin action")
		var found bool
		for _, l := range lines {
			found = found || strings.Contains(l, "action=autocluster op="+op+" ") && strings.Contains(l, client)
		}
		assert.True(t, found, "no admin action line for autocluster %s in\n%s", op, strings.Join(lines, "\n"))
	}
}

// TestCtlAutoclusterRefusals: a bad action is a usage error before ctl
// connects; a node without discovery says it has no loop (exit 1).
func TestCtlAutoclusterRefusals(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	code, _, stderr := ctl(t, env, "--node", "m1@127.0.0.1", "--cookie", "C", "autocluster", "start")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `ekka-mesh ctl: autocluster "start": want one of status, on, off, now`)
	code, _, stderr = ctl(t, env, "--node", "m1@127.0.0.1", "--cookie", "C", "autocluster", "on", "off")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "autocluster takes 0 to 1 arguments")

	base := testnet.FreeBase(t, "m1@127.0.0.1")
	b := strconv.Itoa(base)
	startRunNode(t, env, "--name", "m1@127.0.0.1", "--base-port", b, "--cookie", "C")
	code, stdout, stderr := ctl(t, env, "--node", "m1@127.0.0.1", "--base-port", b, "--cookie", "C", "autocluster", "on")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "ekka-mesh ctl: autocluster on on m1@127.0.0.1: mesh: no discovery strategy configured on node m1@127.0.0.1")
	code, stdout, stderr = ctl(t, env, "--node", "m1@127.0.0.1", "--base-port", b, "--cookie", "C", "autocluster")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "Autocluster: none (cluster.discovery is manual or singleton: the node joins only when told to)\nPasses:      0\nLast pass:   (none yet)\n", stdout)
}
