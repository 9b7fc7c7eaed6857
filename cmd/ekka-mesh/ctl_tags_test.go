package main

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// TestCtlTags: ctl tags set changes a running node's tags, every member
// sees them (ctl members, ctl status NODE), and ctl call --tags calls the
// running members that carry them, printing each reply after its node.
func TestCtlTags(t *testing.T) {
	checkLeaks(t)
	names := []string{"g1@127.0.0.1", "g2@127.0.0.2", "g3@127.0.0.3"}
	base := testnet.FreeBase(t, names...)
	nodes := make([]*mesh.Node, len(names))
	for i, name := range names {
		nodes[i] = startMeshNode(t, name, base, "C")
		require.NoError(t, nodes[i].Handle("who", func(context.Context, string, []byte) ([]byte, error) { return []byte("I am " + name), nil }))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range nodes[1:] {
		require.NoError(t, n.Join(ctx, names[0]))
	}
	on := func(node string, args ...string) (int, string, string) {
		return ctl(t, map[string]string{"HOME": t.TempDir()}, append([]string{"--node", node, "--base-port", strconv.Itoa(base), "--cookie", "C"}, args...)...)
	}
	seen := func(on *mesh.Node, member string, want map[string]string) func() string {
		return func() string {
			for _, m := range on.Members() {
				if m.Node == member && m.Status == mesh.StatusUp && maps.Equal(m.Tags, want) {
					return ""
				}
			}
			return on.Name() + " does not see " + member + " up with tags " + mesh.TagFilter(want).String()
		}
	}

	code, stdout, stderr := on(names[0], "tags")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, names[0]+": (none)\n", stdout)
	for _, i := range []int{1, 2} {
		code, stdout, stderr = on(names[i], "tags", "set", "zone=eu-1", "role=db")
		require.Equal(t, exitOK, code, stderr)
		assert.Equal(t, names[i]+": role=db,zone=eu-1\n", stdout)
	}
	code, stdout, stderr = on(names[2], "tags", "set", "role=cache")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, names[2]+": role=cache\n", stdout)
	testnet.Eventually(t, 20*time.Second, "g1 sees the tags", func() string {
		if why := seen(nodes[0], names[1], map[string]string{"role": "db", "zone": "eu-1"})(); why != "" {
			return why
		}
		return seen(nodes[0], names[2], map[string]string{"role": "cache"})()
	})

	// members: a TAGS column, "-" for the node without tags.
	code, stdout, stderr = on(names[0], "members")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 4, stdout)
	assert.Regexp(t, `^NODE\s+STATUS\s+VERSION\s+GUID\s+TAGS$`, lines[0])
	assert.Regexp(t, `^g1@127\.0\.0\.1\s+up\s+\S+\s+\S+\s+-$`, lines[1])
	assert.Regexp(t, `^g2@127\.0\.0\.2\s+up\s+\S+\s+\S+\s+role=db,zone=eu-1$`, lines[2])
	assert.Regexp(t, `^g3@127\.0\.0\.3\s+up\s+\S+\s+\S+\s+role=cache$`, lines[3])
	code, stdout, stderr = on(names[0], "status", names[1])
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "\nTags:     role=db,zone=eu-1\n")

	// call --tags: every running member that matches, through the node.
	code, stdout, stderr = on(names[0], "call", "--tags", "role=db", "who")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "g2@127.0.0.2: I am g2@127.0.0.2\n", stdout)
	code, stdout, stderr = on(names[0], "--json", "call", "--tags", "zone=eu-1", "who")
	require.Equal(t, exitOK, code, stderr)
	assert.JSONEq(t, `{"g2@127.0.0.2":{"reply":"I am g2@127.0.0.2"}}`, stdout)
	code, stdout, stderr = on(names[0], "tags", "set", "role=cache", "zone=eu-2")
	require.Equal(t, exitOK, code, stderr)
	code, stdout, stderr = on(names[1], "call", "--tags", "role=cache", "who")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "g1@127.0.0.1: I am g1@127.0.0.1\ng3@127.0.0.3: I am g3@127.0.0.3\n", stdout, "the node itself is called when it matches")
	code, stdout, stderr = on(names[0], "call", "--tags", "role=web", "who")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "call --tags role=web: no running member of g1@127.0.0.1's cluster has these tags")
	code, _, stderr = on(names[0], "call", "--tags", "role=cache", "nobody.serves.this")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "call nobody.serves.this on g1@127.0.0.1 via g1@127.0.0.1: ")

	// Refusals.
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"call", "--tags", "role", "who"}, exitUsage, `--tags: mesh: tag filter "role": "role" has no '='`},
		{[]string{"status", "--tags", "role=db"}, exitUsage, "--tags applies to call only, not to status"},
		{[]string{"call", "--tags", "role=db", "n@h", "who", "x"}, exitUsage, "call takes 1 to 2 arguments, METHOD [PAYLOAD] (with --tags)"},
		{[]string{"tags", "add", "role=db"}, exitUsage, `tags "add": want no argument (print the tags) or set K=V ... (replace them)`},
		{[]string{"tags", "set", "role"}, exitUsage, `tags set: "role" has no '=', want K=V`},
		{[]string{"tags", "set", "role=a", "role=b"}, exitUsage, "tags set: role is given twice"},
		{[]string{"tags", "set", "zone=eu 1"}, exitFail, `tag zone: value "eu 1": byte 3 (' ') is not allowed`},
	} {
		code, _, stderr := on(names[0], tt.args...)
		assert.Equal(t, tt.code, code, "%v: %s", tt.args, stderr)
		assert.Contains(t, stderr, tt.want, "%v", tt.args)
	}
	assert.Equal(t, map[string]string{"role": "cache", "zone": "eu-2"}, nodes[0].Tags(), "a refused set changes nothing")
}

// TestTagsConfig: check-config -v lists each node.tags.* key that is set
// (not the family's placeholder) and refuses a tag the node would refuse,
// and a SIGHUP sees a change of the tags as a change of node.tags.KEY.
func TestTagsConfig(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "tags.conf", "node.name = n1@127.0.0.1\nnode.cookie = C\nnode.tags.role = db\nnode.tags.zone = eu-1\n")
	env := []string{"HOME=" + dir, "EKKA_MESH_NODE__TAGS__RACK=r7"}
	code, stdout, stderr := checkConfigRun(env, "--config", conf, "-v")
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"node.tags.rack = r7\n", "node.tags.role = db\n", "node.tags.zone = eu-1\n"} {
		assert.Contains(t, stdout, want)
	}
	assert.NotContains(t, stdout, "node.tags.KEY")

	bad := writeFile(t, dir, "bad.conf", "node.name = n1@127.0.0.1\nnode.cookie = C\nnode.tags.zone = eu,1\n")
	code, _, stderr = checkConfigRun([]string{"HOME=" + dir}, "--config", bad)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `mesh config: Tags: tag zone: value "eu,1": byte 3 (',') is not allowed, want printable ASCII without spaces or commas`)

	var was, now config.Settings
	require.NoError(t, was.Set("node.tags.role", "db"))
	require.NoError(t, now.Set("node.tags.role", "db"))
	family := config.KeyInfo{Key: "node.tags.KEY", Family: true}
	assert.Equal(t, keySetting(&was, family), keySetting(&now, family))
	require.NoError(t, now.Set("node.tags.zone", "eu-1"))
	assert.Equal(t, "node.tags.role=db,node.tags.zone=eu-1", keySetting(&now, family))
	assert.Equal(t, "node.tags.role=db", keySetting(&was, family))
}
