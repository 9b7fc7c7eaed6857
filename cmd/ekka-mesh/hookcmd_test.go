package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// hookSets returns the --set flags that make every node.hooks.* command
// append "EVENT NODE REASON PEER" to file.
func hookSets(file string) []string {
	var args []string
	for _, ev := range []string{"start", "stop", "join", "leave", "prepare", "reboot"} {
		args = append(args, "--set", "node.hooks."+ev+`=echo "$EKKA_MESH_EVENT $EKKA_MESH_NODE $EKKA_MESH_REASON $EKKA_MESH_PEER" >> `+file)
	}
	return args
}

// readLines returns the lines of file, none when it does not exist.
func readLines(t *testing.T, file string) []string {
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestRunHookCommands: a node run with node.hooks.* runs each command at
// its event, in order, told the event, the node, the reason and the peer.
func TestRunHookCommands(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	file := filepath.Join(t.TempDir(), "hooks.log")
	base := testnet.FreeBase(t, "k1@127.0.0.1", "k2@127.0.0.2")
	b := strconv.Itoa(base)
	p1 := startRunNode(t, env, append([]string{"--name", "k1@127.0.0.1", "--base-port", b, "--cookie", "C"}, hookSets(file)...)...)
	p2 := startRunNode(t, env, append([]string{"--name", "k2@127.0.0.2", "--base-port", b, "--cookie", "C"}, hookSets(file)...)...)
	on := func(args ...string) (int, string, string) {
		return ctl(t, env, append([]string{"--node", "k1@127.0.0.1", "--base-port", b, "--cookie", "C"}, args...)...)
	}
	code, _, stderr := on("join", "k2@127.0.0.2")
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = on("leave")
	require.Equal(t, exitOK, code, stderr)
	testnet.Eventually(t, 20*time.Second, "k2 forgets k1", func() string {
		if m := p2.node.Members(); len(m) != 1 {
			return strconv.Itoa(len(m)) + " members"
		}
		return ""
	})
	require.Equal(t, exitOK, p2.stop(t))
	require.Equal(t, exitOK, p1.stop(t))
	assert.Equal(t, []string{
		"start k1@127.0.0.1 Start ",
		"start k2@127.0.0.2 Start ",
		"join k1@127.0.0.1 Join k2@127.0.0.2",
		"leave k1@127.0.0.1 Leave ",
		"stop k2@127.0.0.2 Stop ",
		"stop k1@127.0.0.1 Stop ",
	}, readLines(t, file))
}

// TestRunHookCommandFailures: a start command that fails stops run before
// the node serves, with the command's status and output; a stop command
// that fails makes the exit status 1 and the node stops all the same.
func TestRunHookCommandFailures(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	base := testnet.FreeBase(t, "f1@127.0.0.1")
	b := strconv.Itoa(base)
	code, stderr := runStatus(t, env, "--name", "f1@127.0.0.1", "--base-port", b, "--cookie", "C",
		"--set", "node.hooks.start=echo no database >&2; exit 3")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, `ekka-mesh run: mesh: node f1@127.0.0.1: start hook failed: command "echo no database >&2; exit 3" exited with status 3; its output: no database`)

	p := startRunNode(t, env, "--name", "f1@127.0.0.1", "--base-port", b, "--cookie", "C",
		"--set", "node.hooks.stop=exit 1")
	assert.Equal(t, exitFail, p.stop(t))
	log := p.log.String()
	assert.Contains(t, log, `stop hook failed (the node stopped all the same): command \"exit 1\" exited with status 1`)
	assert.Len(t, logLines(log, "stop failed"), 1, log)
}

// TestHookCommandTimeout: a command still running after the timeout is
// killed with its process group (a background child included, which would
// otherwise hold its output open), and the error says so.
func TestHookCommandTimeout(t *testing.T) {
	checkLeaks(t)
	ctx := testnet.Context(t, 20*time.Second)
	err := runHookCommand(ctx, "start", "echo waiting; sleep 30 & wait", 200*time.Millisecond, nil, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `command "echo waiting; sleep 30 & wait" did not finish within node.hooks.timeout 200ms, killed: context deadline exceeded; its output: waiting`)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The operation's own context ends it too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = runHookCommand(cctx, "stop", "sleep 30", time.Minute, nil, slog.New(slog.DiscardHandler))
	assert.ErrorIs(t, err, context.Canceled)
}
