package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// watchProc is `ctl members --watch` running in-process.
type watchProc struct {
	stdout, stderr *testnet.SyncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func startWatch(t *testing.T, env map[string]string, args ...string) *watchProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchProc{stdout: &testnet.SyncBuffer{}, stderr: &testnet.SyncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { w.done <- ctlMain(ctx, args, w.stdout, w.stderr, envList(env)) }()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// wait returns the exit status once the watch ends.
func (w *watchProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-w.done:
		w.done <- code // for the cleanup
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("members --watch did not end; stdout:\n%s\nstderr:\n%s", w.stdout, w.stderr)
		return -1
	}
}

// hasLine is a waitFor condition: some line of w's stdout matches re.
func (w *watchProc) hasLine(re string) func() string {
	rx := regexp.MustCompile(re)
	return func() string {
		for _, line := range strings.Split(w.stdout.String(), "\n") {
			if rx.MatchString(line) {
				return ""
			}
		}
		return fmt.Sprintf("no line matches %s in:\n%s", re, w.stdout)
	}
}

const watchTime = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) `

// TestCtlMembersWatch: --watch prints every member, then one line per
// change, until interrupted (exit 0); --json prints the same as objects.
func TestCtlMembersWatch(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "w1@127.0.0.1", "w2@127.0.0.2", "w3@127.0.0.3")
	b := strconv.Itoa(base)
	n1 := startMeshNode(t, "w1@127.0.0.1", base, "C")
	n2 := startMeshNode(t, "w2@127.0.0.2", base, "C")
	ctx := testnet.Context(t, 30*time.Second)
	require.NoError(t, n2.Join(ctx, n1.Name()))
	env := map[string]string{"HOME": t.TempDir()}
	flags := []string{"--node", "w1@127.0.0.1", "--base-port", b, "--cookie", "C", "--watch-interval", "100ms"}

	text := startWatch(t, env, append(flags, "members", "--watch")...)
	js := startWatch(t, env, append(flags, "members", "--watch", "--json")...)
	testnet.Eventually(t, 20*time.Second, "the members as they are", text.hasLine(`^`+watchTime+`w2@127\.0\.0\.2 - -> up$`))
	testnet.Eventually(t, 20*time.Second, "w1 itself", text.hasLine(`^`+watchTime+`w1@127\.0\.0\.1 - -> up$`))

	// A third node joins; then it stops.
	n3 := startMeshNode(t, "w3@127.0.0.3", base, "C")
	require.NoError(t, n3.Join(ctx, n1.Name()))
	testnet.Eventually(t, 20*time.Second, "w3 appearing", text.hasLine(`^`+watchTime+`w3@127\.0\.0\.3 - -> up$`))
	require.NoError(t, n3.Stop(ctx))
	testnet.Eventually(t, 20*time.Second, "w3 going down", text.hasLine(`^`+watchTime+`w3@127\.0\.0\.3 up -> down$`))
	testnet.Eventually(t, 20*time.Second, "w3 going down, in JSON", js.hasLine(`"node":"w3@127.0.0.3","old":"up","new":"down"`))

	// Interrupted: exit 0, nothing on stderr.
	text.cancel()
	assert.Equal(t, exitOK, text.wait(t))
	assert.Empty(t, text.stderr.String())
	js.cancel()
	assert.Equal(t, exitOK, js.wait(t))
	var first memberChange
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(js.stdout.String(), "\n", 2)[0]), &first))
	assert.Equal(t, "w1@127.0.0.1", first.Node)
	assert.Equal(t, "", first.Old)
	assert.Equal(t, "up", first.New)
	assert.Equal(t, "test-w1", first.Version)
	assert.Equal(t, n1.GUID().String(), first.GUID)
	assert.False(t, first.Time.IsZero())
	// Each status line appears once: a poll that finds no change prints nothing.
	assert.Equal(t, 1, strings.Count(text.stdout.String(), "w2@127.0.0.2 - -> up"), text.stdout.String())
}

// TestCtlMembersWatchNodeGone: when the watched node stops, --watch ends
// with exit 1 and says why.
func TestCtlMembersWatchNodeGone(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "g1@127.0.0.1")
	n1 := startMeshNode(t, "g1@127.0.0.1", base, "C")
	w := startWatch(t, map[string]string{"HOME": t.TempDir()},
		"--node", "g1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", "C", "--watch-interval", "100ms", "--timeout", "2s", "members", "--watch")
	testnet.Eventually(t, 20*time.Second, "g1 listed", w.hasLine(`g1@127\.0\.0\.1 - -> up$`))
	require.NoError(t, n1.Stop(testnet.Context(t, 10*time.Second)))
	assert.Equal(t, exitFail, w.wait(t))
	assert.Contains(t, w.stderr.String(), "ekka-mesh ctl: members --watch: lost g1@127.0.0.1: ")
}

// TestCtlJoinUnreachable: joining a node that does not run prints progress
// lines while the node keeps trying, then fails naming the dial error, not
// 10 s of silence.
func TestCtlJoinUnreachable(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "j1@127.0.0.1", "j9@127.0.0.1")
	startMeshNode(t, "j1@127.0.0.1", base, "C")
	code, stdout, stderr := ctl(t, map[string]string{"HOME": t.TempDir()},
		"--node", "j1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", "C", "--timeout", "4s", "join", "j9@127.0.0.1")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2, stderr)
	addr := fmt.Sprintf("127.0.0.1:%d", base+9)
	for _, line := range lines[:len(lines)-1] {
		assert.Regexp(t, `^ekka-mesh ctl: join j9@127\.0\.0\.1: j1@127\.0\.0\.1 is still trying to reach it \(\d+s of --timeout 4s\); from this host, cannot reach it at `+regexp.QuoteMeta(addr)+`: connection refused$`, line)
	}
	last := lines[len(lines)-1]
	assert.True(t, strings.HasPrefix(last, "ekka-mesh ctl: j1@127.0.0.1 could not join j9@127.0.0.1: "), last)
	// The node's own last dial error when its answer came before ctl's
	// deadline, else what ctl found from this host.
	nodeSaid := "j1@127.0.0.1 cannot reach it at " + addr + ": connection refused (kept trying for --timeout 4s)"
	ctlSaw := "no answer within --timeout 4s; from this host, cannot reach it at " + addr + ": connection refused"
	assert.True(t, strings.HasSuffix(last, nodeSaid) || strings.HasSuffix(last, ctlSaw), last)
}

// TestCtlFindsItsNode: ctl controls the node that --config FILE or the
// EKKA_MESH_* variables describe (name, base port, cookie, cluster), as
// run reads them; --node overrides; an unknown variable is an error.
func TestCtlFindsItsNode(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "f1@127.0.0.1", "f2@127.0.0.2")
	startMeshNode(t, "f1@127.0.0.1", base, "SEKRIT")
	startMeshNode(t, "f2@127.0.0.2", base, "SEKRIT")
	home := t.TempDir()
	conf := filepath.Join(t.TempDir(), "node.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("node.name = f1@127.0.0.1\nnode.base_port = %d\nnode.cookie = SEKRIT\ncluster.name = ctltest\n", base)), 0o600))
	nodeOf := func(stdout string) string {
		var info struct{ Node string }
		if err := json.Unmarshal([]byte(stdout), &info); err != nil {
			return err.Error()
		}
		return info.Node
	}

	code, stdout, stderr := ctl(t, map[string]string{"HOME": home}, "--config", conf, "status", "--json")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "f1@127.0.0.1", nodeOf(stdout))

	code, stdout, stderr = ctl(t, map[string]string{"HOME": home}, "--config", conf, "--node", "f2@127.0.0.2", "status", "--json")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "f2@127.0.0.2", nodeOf(stdout), "--node overrides the file")

	env := map[string]string{"HOME": home, "EKKA_MESH_NODE__NAME": "f2@127.0.0.2", "EKKA_MESH_NODE__BASE_PORT": strconv.Itoa(base), "EKKA_MESH_NODE__COOKIE": "SEKRIT"}
	code, stdout, stderr = ctl(t, env, "status", "--json")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "f2@127.0.0.2", nodeOf(stdout), "the environment names the node")

	// The file's cluster.name must match the node's.
	other := filepath.Join(t.TempDir(), "other.conf")
	require.NoError(t, os.WriteFile(other, []byte(fmt.Sprintf("node.name = f1@127.0.0.1\nnode.base_port = %d\nnode.cookie = SEKRIT\ncluster.name = elsewhere\n", base)), 0o600))
	code, _, stderr = ctl(t, map[string]string{"HOME": home}, "--config", other, "status")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "the node belongs to another cluster than the configuration's cluster.name (elsewhere)")

	// An unknown EKKA_MESH_* variable is reported like an unknown key.
	env["EKKA_MESH_NODE__COOKIES"] = "x"
	code, _, stderr = ctl(t, env, "status")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: environment variable EKKA_MESH_NODE__COOKIES: unknown key node.cookies: did you mean EKKA_MESH_NODE__COOKIE (node.cookie)?")
}

// TestJoinFailureMessage: the node's error after it kept dialing until the
// deadline is shortened to its last dial error; others stay whole, on one
// line.
func TestJoinFailureMessage(t *testing.T) {
	c := &ctlRun{node: "n1@127.0.0.1", timeout: 4 * time.Second}
	for _, tt := range []struct{ remote, want string }{
		{"mesh: join n2@127.0.0.1: context deadline exceeded\ndial tcp 127.0.0.1:0->127.0.0.1:4372: connect: connection refused",
			"n1@127.0.0.1 cannot reach it at 127.0.0.1:4372: connection refused (kept trying for --timeout 4s)"},
		{"mesh: join n2@127.0.0.1: context deadline exceeded\ndial tcp 10.0.0.9:4372: i/o timeout",
			"n1@127.0.0.1 cannot reach it at 10.0.0.9:4372: i/o timeout (kept trying for --timeout 4s)"},
		{"mesh: join n2@127.0.0.1: handshake refused by peer (bad cookie): cookie mismatch",
			"mesh: join n2@127.0.0.1: handshake refused by peer (bad cookie): cookie mismatch"},
		{"first line\nsecond line", "first line; second line"},
	} {
		assert.Equal(t, tt.want, c.joinFailure(&mesh.RemoteError{Node: c.node, Message: tt.remote}))
	}
}
