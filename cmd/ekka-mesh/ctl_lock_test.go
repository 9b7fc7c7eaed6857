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
	"github.com/ekka-mesh/ekka-mesh/locker"
)

// TestCtlLock: two ekka-mesh run nodes (each with the default lock
// service run attaches) and ctl lock / unlock against them.
func TestCtlLock(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "l1@127.0.0.1", "l2@127.0.0.2")
	b := strconv.Itoa(base)
	env := map[string]string{"HOME": t.TempDir()}
	n1 := startRunNode(t, env, "--name", "l1@127.0.0.1", "--base-port", b, "--cookie", "C")
	startRunNode(t, env, "--name", "l2@127.0.0.2", "--base-port", b, "--cookie", "C")
	on := func(node string, args ...string) (int, string, string) {
		return ctl(t, env, append([]string{"--node", node, "--base-port", b, "--cookie", "C"}, args...)...)
	}
	code, _, stderr := on("l2@127.0.0.2", "join", "l1@127.0.0.1")
	require.Equal(t, exitOK, code, stderr)
	testnet.Eventually(t, 20*time.Second, "l1 and l2 clustered", func() string {
		if r := n1.node.Info().RunningNodes; len(r) != 2 {
			return "l1 runs " + strings.Join(r, ",")
		}
		return ""
	})
	parse := func(stdout string) locker.CtlReply {
		t.Helper()
		require.Equal(t, 1, strings.Count(stdout, "\n"), "want one line of JSON, got %q", stdout)
		var rep locker.CtlReply
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
		var raw map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &raw))
		for _, k := range []string{"nodes", "token", "type"} {
			assert.Contains(t, raw, k, stdout)
		}
		return rep
	}
	both := []string{"l1@127.0.0.1", "l2@127.0.0.2"}

	// A granted quorum lock (two members: the quorum is both). Without
	// --type the lock is quorum (ekka's default is local), and the output
	// says so.
	code, stdout, stderr := on("l1@127.0.0.1", "lock", "orders", "--owner", "A", "--lease", "30s")
	require.Equal(t, exitOK, code, "stdout %s stderr %s", stdout, stderr)
	assert.Contains(t, stdout, `"type":"quorum"`)
	rep := parse(stdout)
	require.NotNil(t, rep.Acquired)
	assert.True(t, *rep.Acquired)
	assert.Equal(t, both, rep.Nodes)
	assert.Greater(t, rep.Token, uint64(0))
	assert.Equal(t, "A", rep.Owner)
	assert.Equal(t, locker.Quorum, rep.Type)
	assert.Equal(t, int64(30000), rep.LeaseMS)
	first := rep.Token

	// Another owner through the other node is refused: exit 1.
	code, stdout, _ = on("l2@127.0.0.2", "lock", "orders", "--owner", "B")
	assert.Equal(t, exitFail, code)
	rep = parse(stdout)
	assert.False(t, *rep.Acquired)
	assert.Equal(t, both, rep.Nodes)
	assert.Contains(t, rep.Refused["l1@127.0.0.1"], "held by A")

	// Unlock by a non-owner is refused; by the owner it works.
	code, stdout, _ = on("l2@127.0.0.2", "unlock", "orders", "--owner", "B")
	assert.Equal(t, exitFail, code)
	assert.False(t, *parse(stdout).Released)
	code, stdout, stderr = on("l2@127.0.0.2", "unlock", "orders", "--owner", "A")
	require.Equal(t, exitOK, code, stderr)
	rep = parse(stdout)
	assert.True(t, *rep.Released)
	assert.Equal(t, both, rep.Nodes)

	// Without --owner ctl makes one up and prints it; the token grew.
	code, stdout, stderr = on("l2@127.0.0.2", "lock", "orders")
	require.Equal(t, exitOK, code, stderr)
	rep = parse(stdout)
	assert.True(t, strings.HasPrefix(rep.Owner, "ctl/"), rep.Owner)
	assert.Greater(t, rep.Token, first)
	code, _, stderr = on("l1@127.0.0.1", "unlock", "orders", "--owner", rep.Owner)
	assert.Equal(t, exitOK, code, stderr)

	// Local locks are per node; leader and all work too.
	for _, typ := range []string{"local", "leader", "all"} {
		code, stdout, stderr = on("l1@127.0.0.1", "lock", "r-"+typ, "--type", typ, "--owner", "C")
		require.Equal(t, exitOK, code, "%s: %s %s", typ, stdout, stderr)
		assert.Equal(t, typ, parse(stdout).Type.String())
		code, stdout, _ = on("l2@127.0.0.2", "lock", "r-"+typ, "--type", typ, "--owner", "D")
		if typ == "local" {
			assert.Equal(t, exitOK, code, "a local lock on l1 does not lock l2: %s", stdout)
		} else {
			assert.Equal(t, exitFail, code, "%s lock taken twice: %s", typ, stdout)
		}
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"unlock", "orders"},
		{"lock", "orders", "--type", "bogus"},
		{"lock", "orders", "--lease", "-1s"},
		{"lock"},
	} {
		code, _, stderr := on("l1@127.0.0.1", args...)
		assert.Equal(t, exitUsage, code, "%q: %s", args, stderr)
		assert.NotEmpty(t, stderr, "%q", args)
	}
	// A lock service that does not exist.
	code, _, stderr = on("l1@127.0.0.1", "lock", "x", "--locker", "nosuch")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, `lock service named "nosuch"`)
	assert.Contains(t, stderr, "ekka-mesh ctl: lock x (quorum lock) on l1@127.0.0.1: ", "a failure names the lock type")
	code, _, stderr = on("l1@127.0.0.1", "unlock", "x", "--owner", "A", "--type", "all", "--locker", "nosuch")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: unlock x (all lock) on l1@127.0.0.1: ")
}
