package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// ctl runs the ctl command in-process with the environment env.
func ctl(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code = ctlMain(ctx, args, &out, &errOut, envList(env))
	return code, out.String(), errOut.String()
}

// envList turns vars into an environment list, as os.Environ returns it.
func envList(vars map[string]string) []string {
	var list []string
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

// startMeshNode starts a node directly with the mesh package, stopped at
// the end of the test.
func startMeshNode(t *testing.T, name string, base int, cookie string) *mesh.Node {
	t.Helper()
	cfg := mesh.DefaultConfig()
	cfg.Name, cfg.BasePort, cfg.Cookie, cfg.Cluster = name, base, cookie, "ctltest"
	cfg.Version = "test-" + strings.Split(name, "@")[0] // such as test-t1
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = 200*time.Millisecond, 2*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := mesh.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, n.Stop(ctx))
	})
	return n
}

func TestCtlUsage(t *testing.T) {
	env := map[string]string{"HOME": t.TempDir()}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "ekka-mesh ctl: want a command: status, members, ping, join, leave, force-leave, call"},
		{[]string{"--node", "n1@127.0.0.1"}, "want a command"},
		{[]string{"--node", "n1@127.0.0.1", "nosuch"}, `ekka-mesh ctl: unknown command "nosuch"; want one of status, members, ping, join, leave, force-leave, call`},
		{[]string{"--node", "n1@127.0.0.1", "stauts"}, `ekka-mesh ctl: unknown command "stauts"; did you mean "status"?; want one of status, members,`},
		{[]string{"--node", "n1@127.0.0.1", "--require-up", "2", "members"}, "ekka-mesh ctl: --require-up applies to status only, not to members"},
		{[]string{"--node", "n1@127.0.0.1", "--require-up", "-1", "status"}, "ekka-mesh ctl: --require-up -1: want a number of members, 1 or more"},
		{[]string{"--node", "n1@127.0.0.1", "--watch", "status"}, "ekka-mesh ctl: --watch applies to members only, not to status"},
		{[]string{"--node", "n1@127.0.0.1", "--watch-interval", "0s", "members", "--watch"}, "ekka-mesh ctl: --watch-interval 0s: want a positive duration"},
		{[]string{"--node", "n1@127.0.0.1", "members", "x"}, "ekka-mesh ctl: members takes no arguments"},
		{[]string{"--node", "n1@127.0.0.1", "status", "a@h", "b@h"}, `ekka-mesh ctl: status takes 0 to 1 arguments, [NODE], got 2 arguments ["a@h" "b@h"]`},
		{[]string{"--node", "n1@127.0.0.1", "status", "x"}, `ekka-mesh ctl: status NODE: node name "x": name must be short@host`},
		{[]string{"--node", "n1@127.0.0.1", "ping"}, "ekka-mesh ctl: ping takes 1 argument(s), NODE2, got 0"},
		{[]string{"--node", "n1@127.0.0.1", "join", "a@h", "b@h"}, "join takes 1 argument(s), NODE2, got 2"},
		{[]string{"--node", "n1@127.0.0.1", "force-leave"}, "force-leave takes 1 argument(s), NODE2"},
		{[]string{"--node", "n1@127.0.0.1", "leave", "now"}, "leave takes no arguments"},
		{[]string{"--node", "n1@127.0.0.1", "call", "n2@h"}, "call takes 2 to 3 arguments, NODE2 METHOD [PAYLOAD], got 1"},
		{[]string{"--node", "n1@127.0.0.1", "call", "n2@h", "m", "p", "q"}, "call takes 2 to 3 arguments"},
		{[]string{"--node", "n1@127.0.0.1", "call", "n2@h", ""}, "ekka-mesh ctl: call: METHOD is empty, want the name of a method NODE2 handles"},
		{[]string{"status"}, "ekka-mesh ctl: no node to control: give --node NAME, --config FILE (a configuration with node.name), or set EKKA_MESH_NODE__NAME, such as emqx1@10.0.0.1"},
		{[]string{"--config", filepath.Join("testdata", "cluster.conf"), "status"}, "ekka-mesh ctl: no node to control: give --node NAME"},
		{[]string{"--node", "bad", "status"}, `ekka-mesh ctl: --node: node name "bad": name must be short@host`},
		{[]string{"--node", "n1@127.0.0.1", "--timeout", "0s", "status"}, "ekka-mesh ctl: --timeout 0s: want a positive duration such as 10s"},
		{[]string{"--node", "n1@127.0.0.1", "--timeout", "soon", "status"}, `ekka-mesh ctl: invalid value "soon" for flag --timeout`},
		{[]string{"--node", "n1@127.0.0.1", "--nope", "status"}, "ekka-mesh ctl: flag provided but not defined: --nope"},
		{[]string{"--node", "n1@127.0.0.1", "--cookie", "c", "--base-port", "x", "status"}, `ekka-mesh ctl: override "node.base_port=x": node.base_port = x: `},
		{[]string{"--node", "n1@127.0.0.1", "--config", filepath.Join("testdata", "unknown-key.conf"), "status"}, "ekka-mesh ctl: testdata/unknown-key.conf:4: unknown key cluster.static.seed"},
	} {
		code, stdout, stderr := ctl(t, env, tt.args...)
		assert.Equal(t, exitUsage, code, "%q: %s", tt.args, stderr)
		assert.Empty(t, stdout, "%q", tt.args)
		assert.Contains(t, stderr, tt.want, "%q", tt.args)
	}

	code, stdout, stderr := run("help", "ctl")
	assert.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"Usage: ekka-mesh ctl [--node NAME]", "members", "--require-up N", "--watch", "status [NODE]", "6 when status NODE finds NODE not a", "ping NODE2", "join NODE2", "leave", "force-leave NODE2", "call NODE2 METHOD [PAYLOAD]", "-json", "-timeout", "Exit status"} {
		assert.Contains(t, stdout, want)
	}
}

func TestCtlCookie(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "k1@127.0.0.1")
	startMeshNode(t, "k1@127.0.0.1", base, "SEKRIT")
	b := strconv.Itoa(base)
	status := []string{"--node", "k1@127.0.0.1", "--base-port", b, "status", "--json"}

	// No cookie anywhere: a usage error, and ctl creates no cookie file.
	home := t.TempDir()
	code, _, stderr := ctl(t, map[string]string{"HOME": home}, status...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: no cookie: give --cookie, set EKKA_MESH_NODE__COOKIE, or run ctl as the user whose node created ~/.ekka-mesh.cookie ("+filepath.Join(home, config.CookieFile)+" does not exist)")
	entries, err := os.ReadDir(home)
	require.NoError(t, err)
	assert.Empty(t, entries, "ctl created files in HOME")
	code, _, stderr = ctl(t, map[string]string{}, status...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no cookie: give --cookie")

	// The environment.
	code, stdout, stderr := ctl(t, map[string]string{"HOME": home, "EKKA_MESH_NODE__COOKIE": "SEKRIT"}, status...)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"node":"k1@127.0.0.1"`)

	// The cookie file in HOME.
	cookieFile := filepath.Join(home, config.CookieFile)
	require.NoError(t, os.WriteFile(cookieFile, []byte("SEKRIT\n"), 0o400))
	code, _, stderr = ctl(t, map[string]string{"HOME": home}, status...)
	assert.Equal(t, exitOK, code, stderr)

	// --cookie wins over the environment and the file.
	code, stdout, stderr = ctl(t, map[string]string{"HOME": home, "EKKA_MESH_NODE__COOKIE": "SEKRIT"}, append([]string{"--cookie", "WRONG"}, status...)...)
	assert.Equal(t, exitUsage, code, stdout)
	assert.Contains(t, stderr, "ekka-mesh ctl: connect to k1@127.0.0.1: handshake refused by peer (bad cookie): ")
	assert.Contains(t, stderr, "cookie mismatch")
	assert.Contains(t, stderr, "the node refused the cookie")

	// A cookie file others may read is refused.
	require.NoError(t, os.Chmod(cookieFile, 0o644))
	code, _, stderr = ctl(t, map[string]string{"HOME": home}, status...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: bad cookie file "+cookieFile+": mode 0644 lets the group or others access it; want 0400")
}

func TestCtlCommands(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "t1@127.0.0.1", "t2@127.0.0.2", "t4@127.0.0.4")
	b := strconv.Itoa(base)
	n1 := startMeshNode(t, "t1@127.0.0.1", base, "C")
	n2 := startMeshNode(t, "t2@127.0.0.2", base, "C")
	require.NoError(t, n2.Handle("echo", func(_ context.Context, from string, p []byte) ([]byte, error) {
		return []byte("echo from " + from + ": " + string(p)), nil
	}))
	require.NoError(t, n2.Handle("slow", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	require.NoError(t, n2.Handle("fail", func(context.Context, string, []byte) ([]byte, error) {
		return nil, fmt.Errorf("fail: the disk is full")
	}))
	env := map[string]string{"HOME": t.TempDir()}
	on := func(node string, args ...string) (int, string, string) {
		return ctl(t, env, append([]string{"--node", node, "--base-port", b, "--cookie", "C"}, args...)...)
	}
	running := func(n *mesh.Node, want ...string) func() string {
		return func() string {
			info := n.Info()
			var members []string
			for _, m := range info.Members {
				members = append(members, m.Node)
			}
			if !reflect.DeepEqual(info.RunningNodes, want) || !reflect.DeepEqual(members, want) {
				return fmt.Sprintf("%s runs %v, members %v", n.Name(), info.RunningNodes, members)
			}
			return ""
		}
	}

	// join
	code, stdout, stderr := on("t2@127.0.0.2", "join", "t1@127.0.0.1")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "t2@127.0.0.2 joined the cluster of t1@127.0.0.1\n", stdout)
	testnet.Eventually(t, 20*time.Second, "t1 and t2 clustered", running(n1, "t1@127.0.0.1", "t2@127.0.0.2"))

	// status, text
	code, stdout, stderr = on("t1@127.0.0.1", "status")
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	lines := strings.Split(stdout, "\n")
	require.GreaterOrEqual(t, len(lines), 9, stdout)
	assert.Equal(t, "Node:    t1@127.0.0.1", lines[0])
	assert.Equal(t, "Cluster: ctltest", lines[1])
	assert.Regexp(t, `^NODE\s+STATUS\s+VERSION\s+GUID$`, lines[3])
	assert.Regexp(t, `^t1@127\.0\.0\.1\s+up\s+test-t1\s+`+n1.GUID().String()+`$`, lines[4])
	assert.Regexp(t, `^t2@127\.0\.0\.2\s+up\s+test-t2\s+`+n2.GUID().String()+`$`, lines[5])
	assert.Contains(t, stdout, "\nRunning nodes: t1@127.0.0.1, t2@127.0.0.2\nStopped nodes: (none)\nPartitions:    (none)\n")

	// status --json: exactly one object, mesh.Info's keys.
	code, stdout, stderr = on("t1@127.0.0.1", "status", "--json")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 1, strings.Count(stdout, "\n"))
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(stdout))
	require.NoError(t, dec.Decode(&obj))
	assert.False(t, dec.More(), "more than one JSON value: %s", stdout)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	assert.Equal(t, []string{"cluster", "members", "node", "partitions", "running_nodes", "stopped_nodes"}, keys)
	var members []map[string]string
	require.NoError(t, json.Unmarshal(obj["members"], &members))
	assert.Equal(t, []map[string]string{
		{"node": "t1@127.0.0.1", "status": "up", "guid": n1.GUID().String(), "version": "test-t1"},
		{"node": "t2@127.0.0.2", "status": "up", "guid": n2.GUID().String(), "version": "test-t2"},
	}, members)

	var info mesh.Info
	require.NoError(t, json.Unmarshal([]byte(stdout), &info))
	assert.Equal(t, "t1@127.0.0.1", info.Node)
	assert.Equal(t, "ctltest", info.Cluster)
	assert.Equal(t, []string{"t1@127.0.0.1", "t2@127.0.0.2"}, info.RunningNodes)
	assert.Equal(t, []string{}, info.StoppedNodes)
	assert.Equal(t, []string{}, info.Partitions)

	// status --require-up: a probe, exit 3 with one line when not met.
	var out string
	code, out, stderr = on("t1@127.0.0.1", "status", "--require-up", "2")
	assert.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	assert.Contains(t, out, "Running nodes: t1@127.0.0.1, t2@127.0.0.2")
	code, out, stderr = on("t1@127.0.0.1", "status", "--require-up", "3", "--json")
	assert.Equal(t, exitNotMet, code)
	assert.Equal(t, "ekka-mesh ctl: status: 2 of 2 members up on t1@127.0.0.1, want at least 3 (--require-up 3)\n", stderr)
	assert.Contains(t, out, `"running_nodes":["t1@127.0.0.1","t2@127.0.0.2"]`, "the status is printed all the same")

	// members
	code, out, stderr = on("t1@127.0.0.1", "members")
	require.Equal(t, exitOK, code, stderr)
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	assert.Regexp(t, `^NODE\s+STATUS\s+VERSION\s+GUID$`, lines[0])
	assert.Regexp(t, `^t1@127\.0\.0\.1\s+up\s+test-t1\s+`+n1.GUID().String()+`$`, lines[1])
	assert.Regexp(t, `^t2@127\.0\.0\.2\s+up\s+test-t2\s+`+n2.GUID().String()+`$`, lines[2])
	code, out, stderr = on("t1@127.0.0.1", "members", "--json")
	require.Equal(t, exitOK, code, stderr)
	var list []mesh.MemberInfo
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	require.Len(t, list, 2)
	assert.Equal(t, mesh.MemberInfo{Node: "t2@127.0.0.2", Status: mesh.StatusUp, GUID: n2.GUID(), Version: "test-t2"}, list[1])

	// ping
	code, stdout, stderr = on("t1@127.0.0.1", "ping", "t2@127.0.0.2")
	assert.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `^pong from t2@127\.0\.0\.2 in [0-9.]+(µs|ms|s)\n$`, stdout)
	code, stdout, stderr = on("t1@127.0.0.1", "ping", "t1@127.0.0.1", "--json")
	assert.Equal(t, exitOK, code, stderr)
	var pong struct {
		Node, Target string
		RTT          *int64 `json:"rtt_us"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &pong))
	assert.Equal(t, "t1@127.0.0.1", pong.Node)
	assert.Equal(t, "t1@127.0.0.1", pong.Target)
	require.NotNil(t, pong.RTT)
	code, stdout, stderr = on("t1@127.0.0.1", "ping", "t9@127.0.0.9")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "ekka-mesh ctl: ping t9@127.0.0.9 from t1@127.0.0.1: no pong: ")
	assert.Contains(t, stderr, "unknown node")

	// call
	code, stdout, stderr = on("t1@127.0.0.1", "call", "t2@127.0.0.2", "echo", "hello world")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "echo from t1@127.0.0.1: hello world\n", stdout, "a text reply, with the newline it lacked")
	code, stdout, _ = on("t1@127.0.0.1", "call", "t2@127.0.0.2", "echo")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "echo from t1@127.0.0.1: \n", stdout)
	code, stdout, _ = on("t1@127.0.0.1", "call", "--raw", "t2@127.0.0.2", "echo", "hello world")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "echo from t1@127.0.0.1: hello world", stdout, "--raw: the reply bytes, as they are")
	code, stdout, stderr = on("t1@127.0.0.1", "call", "t2@127.0.0.2", "nosuch")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "ekka-mesh ctl: call nosuch on t2@127.0.0.2 via t1@127.0.0.1: ")
	assert.Contains(t, stderr, "no handler for method nosuch on t2@127.0.0.2")
	code, _, stderr = on("t1@127.0.0.1", "call", "t2@127.0.0.2", "fail")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fail: the disk is full")
	start := time.Now()
	code, _, stderr = on("t1@127.0.0.1", "--timeout", "500ms", "call", "t2@127.0.0.2", "slow")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: call slow on t2@127.0.0.2 via t1@127.0.0.1: ")
	assert.Less(t, time.Since(start), 10*time.Second, "--timeout bounds the call")

	// refusals
	code, _, stderr = on("t1@127.0.0.1", "force-leave", "t9@127.0.0.9")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: t1@127.0.0.1 could not force t9@127.0.0.9 out: ")
	assert.Contains(t, stderr, "not a member")
	code, _, stderr = on("t1@127.0.0.1", "join", "t1@127.0.0.1")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: t1@127.0.0.1 could not join t1@127.0.0.1: mesh: node t1@127.0.0.1 cannot join itself")

	// connection errors
	code, _, stderr = on("t1@127.0.0.1", "--cluster", "other", "status")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: connect to t1@127.0.0.1: ")
	assert.Contains(t, stderr, "the node belongs to another cluster than --cluster names")
	code, _, stderr = on("t1@127.0.0.1", "--cluster", "ctltest", "status")
	assert.Equal(t, exitOK, code, stderr)
	code, _, stderr = on("t4@127.0.0.4", "status")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: connect to t4@127.0.0.4: ")
	assert.Contains(t, stderr, "connection refused")
	assert.Contains(t, stderr, fmt.Sprintf("is the node running? It should listen on 127.0.0.4:%d (base port %d)", base+4, base))

	// leave, then join again
	code, stdout, stderr = on("t2@127.0.0.2", "leave")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "t2@127.0.0.2 left its cluster and runs alone\n", stdout)
	testnet.Eventually(t, 20*time.Second, "t2 gone from t1", running(n1, "t1@127.0.0.1"))
	testnet.Eventually(t, 20*time.Second, "t2 alone", running(n2, "t2@127.0.0.2"))
	code, stdout, stderr = on("t2@127.0.0.2", "join", "t1@127.0.0.1", "--json")
	assert.Equal(t, exitOK, code, stderr)
	assert.JSONEq(t, `{"node":"t2@127.0.0.2","joined":"t1@127.0.0.1"}`, stdout)
	testnet.Eventually(t, 20*time.Second, "t1 and t2 clustered again", running(n1, "t1@127.0.0.1", "t2@127.0.0.2"))

	// force-leave of a stopped member
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n2.Stop(ctx))
	testnet.Eventually(t, 20*time.Second, "t2 stopped on t1", func() string {
		if s := n1.Info().StoppedNodes; !reflect.DeepEqual(s, []string{"t2@127.0.0.2"}) {
			return fmt.Sprintf("stopped %v", s)
		}
		return ""
	})
	code, stdout, stderr = on("t1@127.0.0.1", "force-leave", "t2@127.0.0.2")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "t1@127.0.0.1 forced t2@127.0.0.2 out of the cluster\n", stdout)
	testnet.Eventually(t, 5*time.Second, "t2 removed from t1", running(n1, "t1@127.0.0.1"))
	code, stdout, stderr = on("t1@127.0.0.1", "ping", "t2@127.0.0.2")
	assert.Equal(t, exitFail, code, stdout)
	assert.Contains(t, stderr, "no pong")
}

// TestCtlRequireUpCountsUp: --require-up counts members up, naming those
// that are not.
func TestCtlRequireUpCountsUp(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "r1@127.0.0.1", "r2@127.0.0.2")
	b := strconv.Itoa(base)
	n1 := startMeshNode(t, "r1@127.0.0.1", base, "C")
	n2 := startMeshNode(t, "r2@127.0.0.2", base, "C")
	ctx := testnet.Context(t, 20*time.Second)
	require.NoError(t, n2.Join(ctx, n1.Name()))
	require.NoError(t, n2.Stop(ctx))
	env := map[string]string{"HOME": t.TempDir()}
	testnet.Eventually(t, 20*time.Second, "r2 down on r1", func() string {
		code, _, stderr := ctl(t, env, "--node", "r1@127.0.0.1", "--base-port", b, "--cookie", "C", "status", "--require-up", "2")
		if code != exitNotMet {
			return fmt.Sprintf("exit %d: %s", code, stderr)
		}
		if want := "ekka-mesh ctl: status: 1 of 2 members up on r1@127.0.0.1, want at least 2 (--require-up 2); not up: r2@127.0.0.2 down\n"; stderr != want {
			return fmt.Sprintf("stderr %q, want %q", stderr, want)
		}
		return ""
	})
	code, _, stderr := ctl(t, env, "--node", "r1@127.0.0.1", "--base-port", b, "--cookie", "C", "status", "--require-up", "1")
	assert.Equal(t, exitOK, code, stderr)
}
