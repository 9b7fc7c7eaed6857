package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestBinaryTags runs two `ekka-mesh run` processes whose configuration
// files give them node.tags.*: ctl members on one shows the other's tags,
// ctl call --tags reaches only the nodes that carry them, and ctl tags set
// moves a node in or out of a selection at run time.
func TestBinaryTags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	names := []string{"x1@127.0.0.1", "x2@127.0.0.2"}
	h := newHarness(t, buildBinary(t), "tags-test-cookie", names)
	dir := t.TempDir()
	tags := []string{"node.tags.role = web\n", "node.tags.role = db\nnode.tags.zone = eu-1\n"}
	for i, name := range names {
		conf := filepath.Join(dir, strconv.Itoa(i)+".conf")
		require.NoError(t, os.WriteFile(conf, []byte(tags[i]), 0o600))
		h.run(t, name, "--config", conf, "--name", name, "--base-port", strconv.Itoa(h.base), "--cookie", h.cookie,
			"--set", "cluster.discovery=static", "--set", "cluster.static.seeds=x1@127.0.0.1,x2@127.0.0.2", "--set", "cluster.autocluster.interval=500ms")
	}
	testnet.Eventually(t, 30*time.Second, "x1 showing both members with their tags", func() string {
		code, stdout, stderr := h.ctl(t, names[0], "members")
		if code != exitOK {
			return stderr
		}
		if !regexpLine(stdout, `^x1@127\.0\.0\.1\s+up\s+\S+\s+\S+\s+role=web$`) || !regexpLine(stdout, `^x2@127\.0\.0\.2\s+up\s+\S+\s+\S+\s+role=db,zone=eu-1$`) {
			return stdout
		}
		return ""
	})

	code, stdout, stderr := h.ctl(t, names[0], "call", "--tags", "role=db", "$ekka.pong")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "x2@127.0.0.2: pong\n", stdout)

	code, stdout, stderr = h.ctl(t, names[0], "tags", "set", "role=db", "zone=eu-2")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "x1@127.0.0.1: role=db,zone=eu-2\n", stdout)
	testnet.Eventually(t, 30*time.Second, "x2 calling both db nodes", func() string {
		code, stdout, stderr := h.ctl(t, names[1], "call", "--tags", "role=db", "$ekka.pong")
		if code != exitOK || stdout != "x1@127.0.0.1: pong\nx2@127.0.0.2: pong\n" {
			return stdout + stderr
		}
		return ""
	})
	code, stdout, stderr = h.ctl(t, names[1], "call", "--tags", "zone=eu-2", "$ekka.pong")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "x1@127.0.0.1: pong\n", stdout)
}
