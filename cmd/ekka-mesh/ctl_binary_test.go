package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestBinaryVersionAndCtl runs the binary built with
// -ldflags "-X main.version=v9.9.9-test": `ekka-mesh version` reports it,
// two `run` processes announce it to each other and `ctl status` shows it
// for each member, ctl finds its node from EKKA_MESH_* alone, and
// check-config reports an unknown EKKA_MESH_* variable.
func TestBinaryVersionAndCtl(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	bin := filepath.Join(t.TempDir(), "ekka-mesh")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	h := newHarness(t, bin, "version-test-cookie", []string{"v1@127.0.0.1", "v2@127.0.0.2"})

	code, stdout, stderr := h.exec(t, "version")
	require.Equal(t, exitOK, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "ekka-mesh v9.9.9-test go"), stdout)

	b := strconv.Itoa(h.base)
	for _, name := range []string{"v1@127.0.0.1", "v2@127.0.0.2"} {
		h.run(t, name, "--name", name, "--base-port", b, "--cookie", h.cookie,
			"--set", "cluster.discovery=static", "--set", "cluster.static.seeds=v1@127.0.0.1,v2@127.0.0.2", "--set", "cluster.autocluster.interval=500ms")
	}
	var last string
	testnet.Eventually(t, 30*time.Second, "v1 showing both members with the version", func() string {
		code, stdout, stderr := h.ctl(t, "v1@127.0.0.1", "status")
		if code != exitOK {
			return stderr
		}
		last = stdout
		for _, name := range []string{`v1@127\.0\.0\.1`, `v2@127\.0\.0\.2`} {
			if !regexpLine(stdout, `^`+name+`\s+up\s+v9\.9\.9-test\s+[0-9a-f-]+$`) {
				return stdout
			}
		}
		return ""
	})
	assert.Contains(t, last, "VERSION")

	// ctl with no flag at all: the environment names the node.
	env := append([]string{"EKKA_MESH_NODE__NAME=v2@127.0.0.2", "EKKA_MESH_NODE__BASE_PORT=" + b, "EKKA_MESH_NODE__COOKIE=" + h.cookie}, h.env...)
	code, stdout, stderr = h.execEnv(t, env, "ctl", "status", "--json", "--require-up", "2")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"node":"v1@127.0.0.1","status":"up","guid":`)
	assert.Contains(t, stdout, `"version":"v9.9.9-test"`)

	// An unknown variable: ctl and check-config refuse it.
	env = append(env, "EKKA_MESH_NODE__BASEPORT=1")
	for _, cmd := range [][]string{{"ctl", "status"}, {"check-config"}} {
		code, _, stderr = h.execEnv(t, env, cmd...)
		assert.Equal(t, exitUsage, code, "%v", cmd)
		assert.Contains(t, stderr, "environment variable EKKA_MESH_NODE__BASEPORT: unknown key node.baseport: did you mean EKKA_MESH_NODE__BASE_PORT (node.base_port)?", "%v", cmd)
	}
	code, stdout, stderr = h.execEnv(t, env[:3], "check-config")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "configuration OK (defaults and environment)\n", stdout)
}

// execEnv is exec with another environment.
func (h *clusterHarness) execEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	saved := h.env
	h.env = env
	defer func() { h.env = saved }()
	return h.exec(t, args...)
}

// regexpLine reports whether some line of text matches re.
func regexpLine(text, re string) bool {
	rx := regexp.MustCompile(re)
	for _, line := range strings.Split(text, "\n") {
		if rx.MatchString(line) {
			return true
		}
	}
	return false
}
