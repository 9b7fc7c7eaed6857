package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestRunSIGHUP: SIGHUP does not end a node: it reloads log.level from the
// configuration file, says which changed keys need a restart, and keeps
// running with its settings when the file became invalid.
func TestRunSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a node process")
	}
	const name = "h1@127.0.0.1"
	h := newHarness(t, buildBinary(t), "sighup-test-cookie-0123456789ab", []string{name})
	conf := filepath.Join(t.TempDir(), "node.conf")
	write := func(content string) {
		t.Helper()
		require.NoError(t, os.WriteFile(conf, []byte(content), 0o600))
	}
	write("cluster.name = hup\nlog.level = info\n")
	p := h.run(t, name, "--config", conf, "--name", name, "--base-port", strconv.Itoa(h.base), "--cookie", h.cookie)
	waitLine := func(what string, wants ...string) string {
		t.Helper()
		var found string
		testnet.Eventually(t, 20*time.Second, what, func() string {
			select {
			case <-p.done:
				t.Fatalf("the node exited with %d:\n%s", p.code, p.log.String())
			default:
			}
		next:
			for _, line := range strings.Split(p.log.String(), "\n") {
				for _, w := range wants {
					if !strings.Contains(line, w) {
						continue next
					}
				}
				found = line
				return ""
			}
			return "not logged yet:\n" + p.log.String()
		})
		return found
	}
	waitLine("started", "msg=started")

	// Nothing changed.
	p.signal(syscall.SIGHUP)
	waitLine("unchanged", `level=INFO msg="SIGHUP: configuration unchanged; only log.level, the cookies and the tags are reloaded, other keys need a restart"`)
	assert.NotContains(t, p.log.String(), "SIGHUP: reloading", "the debug line of the reload does not show at info")

	// log.level changes: applied.
	write("cluster.name = hup\nlog.level = debug\n")
	p.signal(syscall.SIGHUP)
	waitLine("log.level reloaded", `level=INFO msg="SIGHUP: reloaded log.level (info -> debug); other keys need a restart"`)

	// Another key changes: it needs a restart; the debug level is in force.
	write("cluster.name = other\nlog.level = debug\n")
	p.signal(syscall.SIGHUP)
	waitLine("restart needed", `level=WARN msg="SIGHUP: nothing reloaded; changed keys that need a restart to apply: cluster.name" need_restart=cluster.name`)
	assert.Contains(t, p.log.String(), `level=DEBUG msg="SIGHUP: reloading the configuration"`, "log.level = debug applies after the reload")

	// node.cookie_previous changes: applied without a restart, its value
	// not logged. A client with that cookie is accepted now.
	const previous = "sighup-previous-cookie-0123456789"
	h.cookie = previous
	code, _, stderr := h.ctl(t, name, "status", "--json")
	require.NotEqual(t, exitOK, code, "the previous cookie before the reload")
	assert.Contains(t, stderr, "bad cookie")
	write("cluster.name = other\nlog.level = debug\nnode.cookie_previous = " + previous + "\n")
	p.signal(syscall.SIGHUP)
	waitLine("cookies reloaded", `msg="SIGHUP: reloaded node.cookie, node.cookie_previous (hidden); changed keys that need a restart to apply: cluster.name"`)
	assert.NotContains(t, p.log.String(), previous, "the cookie is never logged")
	code, stdout, stderr := h.ctl(t, name, "status", "--json")
	require.Equal(t, exitOK, code, "the previous cookie after the reload: %s %s", stdout, stderr)
	h.cookie = "sighup-test-cookie-0123456789ab"

	// An invalid file: logged, and the node runs on.
	write("cluster.name = hup\nlog.level = loud\n")
	p.signal(syscall.SIGHUP)
	line := waitLine("invalid", `level=ERROR msg="SIGHUP: the configuration is invalid; the node keeps running with its settings"`)
	assert.Contains(t, line, "node.conf:2")
	assert.Contains(t, line, "log.level")
	code, stdout, stderr = h.ctl(t, name, "status", "--json")
	require.Equal(t, exitOK, code, "the node answers after the SIGHUPs: %s %s", stdout, stderr)
	assert.Contains(t, stdout, `"cluster":"hup"`)

	assert.Equal(t, exitOK, p.term(t), p.log.String())
	assert.Contains(t, p.log.String(), "msg=stopped")
}

// TestRunRefusesUnresolvableHost: a node named with a host this machine
// does not resolve is refused at start with a message that says so.
func TestRunRefusesUnresolvableHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	h := &clusterHarness{t: t, ctx: t.Context(), bin: buildBinary(t), env: []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}}
	code, stdout, stderr := h.exec(t, "run", "--name", "n1@no-such-host.invalid", "--cookie", "c")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	for _, want := range []string{
		"ekka-mesh run: mesh: node name n1@no-such-host.invalid (node.name)",
		`host "no-such-host.invalid" does not resolve on this machine`,
		"want an IP address or a host name this machine resolves",
	} {
		assert.Contains(t, stderr, want)
	}
	assert.NotContains(t, stderr, "msg=started")
}
