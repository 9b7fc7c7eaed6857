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

// TestCtlRotateCookie: a rolling rotation of two running processes with
// ctl rotate-cookie, without a restart: first NEW with the old cookie kept
// on each node, then NEW alone. The nodes stay linked, a new link (a leave
// and a join) is set up with the new cookie, ctl with the old cookie is
// refused at the end, and no cookie is ever logged.
func TestCtlRotateCookie(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	const oldCookie, newCookie = "rotate-old-cookie-0123456789ab", "rotate-new-cookie-ba9876543210"
	h := newHarness(t, buildBinary(t), oldCookie, []string{n1, n2})
	conf := filepath.Join(t.TempDir(), "node.conf")
	require.NoError(t, os.WriteFile(conf, []byte("cluster.name = rot\n"), 0o600))
	procs := map[string]*nodeProc{}
	for _, name := range []string{n1, n2} {
		procs[name] = h.run(t, name, "--config", conf, "--name", name, "--base-port", strconv.Itoa(h.base), "--cookie", oldCookie)
	}
	both := []string{n1, n2}
	testnet.Eventually(t, 20*time.Second, "n2 joins n1", func() string {
		if code, _, stderr := h.ctl(t, n2, "join", n1); code != exitOK && code != exitAlreadyInCluster {
			return stderr
		}
		return h.view(t, both, both, both, []string{})()
	})

	for _, name := range both {
		code, stdout, stderr := h.ctl(t, name, "rotate-cookie", newCookie, "--keep-previous")
		require.Equal(t, exitOK, code, stderr)
		assert.Equal(t, name+": cookie rotated; 1 previous cookies still accepted\n", stdout)
		if name == n1 {
			// Mid-rotation, a ctl configured with the new cookie and the
			// old one as previous reaches n2, which has only the old one;
			// without the previous cookie it is refused.
			ctlConf := filepath.Join(t.TempDir(), "ctl.conf")
			require.NoError(t, os.WriteFile(ctlConf, []byte("cluster.name = rot\nnode.cookie_previous = "+oldCookie+"\n"), 0o600))
			code, _, stderr := h.exec(t, "ctl", "--config", ctlConf, "--node", n2, "--base-port", strconv.Itoa(h.base), "--cookie", newCookie, "status")
			assert.Equal(t, exitOK, code, "ctl with node.cookie_previous, to a node not rotated yet: %s", stderr)
			code, _, stderr = h.exec(t, "ctl", "--node", n2, "--base-port", strconv.Itoa(h.base), "--cookie", newCookie, "status")
			assert.NotEqual(t, exitOK, code)
			assert.Contains(t, stderr, "bad cookie")
		}
	}
	h.cookie = newCookie
	for _, name := range both {
		code, stdout, stderr := h.ctl(t, name, "rotate-cookie", newCookie)
		require.Equal(t, exitOK, code, stderr)
		assert.Equal(t, name+": cookie rotated; 0 previous cookies still accepted\n", stdout)
	}
	testnet.Eventually(t, 10*time.Second, "still linked after the rotation", h.view(t, both, both, both, []string{}))

	// A new link between the nodes, with the new cookie only.
	code, _, stderr := h.ctl(t, n2, "leave")
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = h.ctl(t, n2, "join", n1)
	require.Equal(t, exitOK, code, stderr)
	testnet.Eventually(t, 20*time.Second, "linked again with the new cookie", h.view(t, both, both, both, []string{}))

	h.cookie = oldCookie
	code, _, stderr = h.ctl(t, n1, "status")
	assert.NotEqual(t, exitOK, code)
	assert.Contains(t, stderr, "bad cookie")
	code, _, stderr = h.ctl(t, n1, "rotate-cookie", oldCookie, "--keep-previous")
	assert.NotEqual(t, exitOK, code, "the old cookie cannot take the node back")
	assert.Contains(t, stderr, "bad cookie")

	h.cookie = newCookie
	code, _, stderr = h.ctl(t, n1, "status", "--keep-previous")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--keep-previous applies to rotate-cookie only, not to status")

	for _, name := range both {
		log := procs[name].log.String()
		assert.Contains(t, log, "action=rotate-cookie")
		assert.NotContains(t, log, newCookie[:12], "a cookie in the log of %s", name)
		assert.NotContains(t, log, oldCookie[:12], "a cookie in the log of %s", name)
	}
}
