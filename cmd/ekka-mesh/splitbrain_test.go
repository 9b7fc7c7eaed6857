package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// TestSplitBrainConfig: cluster.split_brain.* and node.hooks.down/up map to
// the resolver's Config; autoheal is left to autoheal, as before.
func TestSplitBrainConfig(t *testing.T) {
	// Every value config takes is a strategy of package splitbrain, and
	// every strategy has its value.
	require.Len(t, config.SplitBrainStrategies, len(splitbrain.Strategies))
	for _, st := range config.SplitBrainStrategies {
		_, err := splitbrain.ParseStrategy(string(st))
		assert.NoError(t, err, "config's strategy %s", st)
	}
	log := slog.New(slog.DiscardHandler)

	s, err := config.Load("", []string{"node.cookie=c"}, nil)
	require.NoError(t, err)
	_, decides, err := splitBrainConfig(s, log)
	require.NoError(t, err)
	assert.False(t, decides, "the default strategy, autoheal, is run's autoheal")

	s, err = config.Load("", []string{"node.cookie=c", "cluster.split_brain.strategy=keep-oldest", "cluster.split_brain.stable_after=3s",
		"cluster.split_brain.down_if_alone=off", "cluster.split_brain.down_all_when_unstable=off", "node.hooks.down=true", "node.hooks.timeout=2s"}, nil)
	require.NoError(t, err)
	cfg, decides, err := splitBrainConfig(s, log)
	require.NoError(t, err)
	require.True(t, decides)
	assert.Equal(t, splitbrain.Rules{Strategy: splitbrain.KeepOldest, OldestServesAlone: true}, cfg.Rules)
	assert.Equal(t, 3*time.Second, cfg.StableAfter)
	assert.Negative(t, cfg.DownAllWhenUnstable, "down_all_when_unstable = off")
	assert.NotNil(t, cfg.Hooks.Down)
	assert.Nil(t, cfg.Hooks.Up, "node.hooks.up is empty")
	assert.False(t, cfg.KeepServing, "a losing node suspends itself, whatever its hooks do")
	assert.Greater(t, cfg.HookTimeout, 2*time.Second, "node.hooks.timeout ends the command before the resolver's bound does")

	s, err = config.Load("", []string{"node.cookie=c", "cluster.split_brain.strategy=static-quorum", "cluster.split_brain.quorum_size=2",
		"cluster.split_brain.down_all_when_unstable=4s"}, nil)
	require.NoError(t, err)
	cfg, _, err = splitBrainConfig(s, log)
	require.NoError(t, err)
	assert.Equal(t, splitbrain.Rules{Strategy: splitbrain.StaticQuorum, QuorumSize: 2}, cfg.Rules, "down_if_alone on: the oldest does not serve alone")
	assert.Equal(t, 4*time.Second, cfg.DownAllWhenUnstable)
	assert.Equal(t, 10*time.Second, cfg.StableAfter, "stable_after's default")
}

// TestSplitBrainHookCommands: node.hooks.down and up run with
// EKKA_MESH_EVENT down and up and the decision's reason.
func TestSplitBrainHookCommands(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hooks.log")
	cmd := `echo "$EKKA_MESH_EVENT $EKKA_MESH_NODE $EKKA_MESH_REASON" >> ` + file
	h := splitBrainHooks(config.HookSettings{Down: cmd, Up: cmd, Timeout: 5 * time.Second}, "n1@127.0.0.1", slog.New(slog.DiscardHandler))
	ctx := testnet.Context(t, 10*time.Second)
	require.NoError(t, h.Down(ctx, splitbrain.Decision{Reason: "keep-majority: a minority"}))
	require.NoError(t, h.Up(ctx, splitbrain.Decision{Serve: true, Reason: "keep-majority: every member is reachable"}))
	assert.Equal(t, []string{"down n1@127.0.0.1 keep-majority: a minority", "up n1@127.0.0.1 keep-majority: every member is reachable"}, readLines(t, file))

	failing := splitBrainHooks(config.HookSettings{Up: "exit 3", Timeout: 5 * time.Second}, "n1@127.0.0.1", slog.New(slog.DiscardHandler))
	assert.Nil(t, failing.Down, "no node.hooks.down: no hook")
	err := failing.Up(ctx, splitbrain.Decision{Serve: true, Reason: "r"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `command "exit 3" exited with status 3`)
}

// TestCheckConfigSplitBrain: check-config notes that cluster.autoheal is
// not used with a strategy other than autoheal, and reports static-quorum
// without its size.
func TestCheckConfigSplitBrain(t *testing.T) {
	env := []string{"HOME=" + t.TempDir()}
	code, stdout, stderr := checkConfigRun(env, "--set", "node.cookie=c", "--set", "cluster.split_brain.strategy=down-all")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "note: cluster.split_brain.strategy = down-all: "+autohealUnused+"\n")
	code, stdout, stderr = checkConfigRun(env, "--set", "node.cookie=c", "--set", "cluster.split_brain.strategy=down-all", "--set", "cluster.autoheal=off")
	assert.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stdout, "note:")
	code, _, stderr = checkConfigRun(env, "--set", "node.cookie=c", "--set", "cluster.split_brain.strategy=static-quorum")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "cluster.split_brain.strategy = static-quorum needs cluster.split_brain.quorum_size, at least 1")
}

// TestRunSplitBrainStops: a node run with a strategy other than autoheal
// logs it when it starts, and stops cleanly (exit 0, no goroutine left)
// even while suspended.
func TestRunSplitBrainStops(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	base := testnet.FreeBase(t, "r1@127.0.0.1")
	p := startRunNode(t, env, "--name", "r1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", "C",
		"--set", "cluster.split_brain.strategy=keep-majority", "--set", "cluster.split_brain.stable_after=1s")
	started := logLines(p.log.String(), "started")
	require.Len(t, started, 1)
	assert.Contains(t, started[0], "split_brain=keep-majority stable_after=1s")
	assert.NotContains(t, started[0], "autoheal=")
	assert.Len(t, logLines(p.log.String(), autohealUnused), 1, "cluster.autoheal is on by default")
	require.NoError(t, p.node.Suspend("keep-majority: a test"))
	assert.Equal(t, exitOK, p.stop(t), p.log.String())
}

// TestRunSplitBrainConfigErrors: run refuses a bad strategy and a
// static-quorum without its size before it starts a node.
func TestRunSplitBrainConfigErrors(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--cookie", "c", "--set", "cluster.split_brain.strategy=majority"},
			"cluster.split_brain.strategy = majority: want one of autoheal, keep-majority, keep-oldest, static-quorum, down-all"},
		{[]string{"--cookie", "c", "--set", "cluster.split_brain.strategy=static-quorum"},
			"cluster.split_brain.strategy = static-quorum needs cluster.split_brain.quorum_size, at least 1"},
	} {
		code, stderr := runStatus(t, env, tt.args...)
		assert.Equal(t, exitUsage, code, "%q: stderr %s", tt.args, stderr)
		assert.Contains(t, stderr, tt.want, "%q", tt.args)
	}
}

// The nodes of the split-brain process tests listen on 127.0.0.21-23, so
// that ctl, which dials from 127.0.0.1, reaches every node while the
// firewall cuts links between them.
var (
	sb1 = "sb1@127.0.0.21"
	sb2 = "sb2@127.0.0.22"
	sb3 = "sb3@127.0.0.23"
)

// splitBrainCluster runs sb1, sb2 and sb3 with a split-brain strategy.
type splitBrainCluster struct {
	*clusterHarness
	fw    *firewall
	procs map[string]*nodeProc
	hooks string // the file node.hooks.down and up append "EVENT NODE REASON" to
}

// startSplitBrain starts sb1, sb2 and sb3 in that order, each once the one
// before has started (so sb1 is the oldest, sb3 the youngest), with sets
// (KEY=VALUE) applied on each, and waits until each runs with all three.
func startSplitBrain(t *testing.T, sets ...string) *splitBrainCluster {
	t.Helper()
	fw := newFirewall(t) // skips here, before anything is built, when it cannot work
	all := []string{sb1, sb2, sb3}
	c := &splitBrainCluster{
		// Each node's admin endpoint listens on base+4 of its address.
		clusterHarness: newHarness(t, buildBinary(t), "split-brain-test-cookie", append(slices.Clone(all), "sb4@127.0.0.21", "sb4@127.0.0.22", "sb4@127.0.0.23")),
		fw:             fw,
		procs:          map[string]*nodeProc{},
		hooks:          filepath.Join(t.TempDir(), "hooks.log"),
	}
	hook := `echo "$EKKA_MESH_EVENT $EKKA_MESH_NODE $EKKA_MESH_REASON" >> ` + c.hooks
	sets = append([]string{"cluster.static.seeds=" + strings.Join(all, ","), "node.hooks.down=" + hook, "node.hooks.up=" + hook}, sets...)
	for _, name := range all {
		args := []string{"--config", filepath.Join("testdata", "cluster.conf"), "--name", name, "--base-port", strconv.Itoa(c.base), "--cookie", c.cookie}
		for _, s := range append(slices.Clone(sets), "node.admin.listen="+c.adminAddr(name)) {
			args = append(args, "--set", s)
		}
		p := c.run(t, name, args...)
		c.procs[name] = p
		testnet.Eventually(t, 20*time.Second, name+" started", func() string {
			if len(logLines(p.log.String(), "started")) == 0 {
				return "no started line in its log"
			}
			return ""
		})
	}
	testnet.Eventually(t, 30*time.Second, "every node running all three, serving", c.state(map[string][]string{sb1: all, sb2: all, sb3: all}, nil))
	for _, name := range all {
		require.Contains(t, logLines(c.procs[name].log.String(), "started")[0], "split_brain=", name)
	}
	return c
}

// addr and port are where a node listens.
func (c *splitBrainCluster) addr(node string) (string, int) {
	host := node[strings.IndexByte(node, '@')+1:]
	digits, _ := strconv.Atoi(strings.TrimPrefix(node[:strings.IndexByte(node, '@')], "sb"))
	return host, c.base + digits
}

// adminAddr is where node's admin endpoint listens.
func (c *splitBrainCluster) adminAddr(node string) string {
	host, _ := c.addr(node)
	return net.JoinHostPort(host, strconv.Itoa(c.base+4))
}

// admin gets path from node's admin endpoint: its status code and body.
func (c *splitBrainCluster) admin(t *testing.T, node, path string) (int, string) {
	t.Helper()
	return adminGet(t, adminClient(nil), "http://"+c.adminAddr(node)+path)
}

// cut drops the traffic between a and b.
func (c *splitBrainCluster) cut(a, b string) {
	ha, pa := c.addr(a)
	hb, pb := c.addr(b)
	c.fw.cut(ha, pa, hb, pb)
}

// state returns a condition: each node of running runs exactly those nodes
// (itself included) and serves unless it is in suspended, where its
// suspension's reason must contain the text given; no node records a
// partition.
func (c *splitBrainCluster) state(running map[string][]string, suspended map[string]string) func() string {
	return func() string {
		for _, node := range slices.Sorted(maps.Keys(running)) {
			info, complaint := c.info(c.t, node)
			if complaint != "" {
				return complaint
			}
			want, down := suspended[node]
			switch {
			case !slices.Equal(info.RunningNodes, running[node]):
				return fmt.Sprintf("%s runs %v, want %v", node, info.RunningNodes, running[node])
			case down && (info.Suspended == "" || !strings.Contains(info.Suspended, want)):
				return fmt.Sprintf("%s is suspended for %q, want suspended for a reason containing %q", node, info.Suspended, want)
			case !down && info.Suspended != "":
				return fmt.Sprintf("%s is suspended (%s), want it serving", node, info.Suspended)
			case len(info.Partitions) != 0:
				return fmt.Sprintf("%s records partitions with %v, want none", node, info.Partitions)
			}
		}
		return ""
	}
}

// suspensions returns the suspended events node logged.
func (c *splitBrainCluster) suspensions(node string) []string {
	return logLines(c.procs[node].log.String(), mesh.EventSuspended.String())
}

// hookLines returns the lines node's down and up hooks wrote.
func (c *splitBrainCluster) hookLines(t *testing.T, node string) []string {
	var out []string
	for _, l := range readLines(t, c.hooks) {
		if strings.Contains(l, " "+node+" ") {
			out = append(out, l)
		}
	}
	return out
}

// TestSplitBrainSymmetricProcesses: with keep-majority, the node cut off
// from the other two suspends itself: ctl status says why, its built-in
// methods still answer, a call of one of its application methods fails
// with the suspension's reason; the other two serve. Once the network is
// whole it serves again, and no node records a partition.
func TestSplitBrainSymmetricProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs node processes and changes iptables rules")
	}
	c := startSplitBrain(t, "cluster.split_brain.strategy=keep-majority", "cluster.split_brain.stable_after=1s", "node.heartbeat_timeout=1s",
		"cluster.autoheal=1s") // not used: the strategy decides
	all := []string{sb1, sb2, sb3}
	for _, node := range all {
		assert.Len(t, logLines(c.procs[node].log.String(), autohealUnused), 1, node)
	}

	c.cut(sb3, sb1)
	c.cut(sb3, sb2)
	tSplit := time.Now()
	testnet.Eventually(t, 30*time.Second, "sb3 suspended, sb1 and sb2 serving", c.state(
		map[string][]string{sb1: {sb1, sb2}, sb2: {sb1, sb2}, sb3: {sb3}},
		map[string]string{sb3: "keep-majority: this side has 1 of 3 members (sb3@127.0.0.23), the other 2 (sb1@127.0.0.21, sb2@127.0.0.22): a minority"}))
	t.Logf("sb3 suspended %v after the split", time.Since(tSplit).Round(time.Millisecond))

	code, stdout, stderr := c.ctl(t, sb3, "status")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "\nSuspended:     keep-majority: this side has 1 of 3 members")
	code, stdout, stderr = c.ctl(t, sb3, "call", sb3, mesh.MethodPong)
	require.Equal(t, exitOK, code, "a built-in method still answers on a suspended node: %s", stderr)
	assert.Equal(t, "pong\n", stdout)
	method := locker.Method(locker.DefaultName, "ctl")
	code, _, stderr = c.ctl(t, sb3, "call", sb3, method)
	assert.Equal(t, exitFail, code, "ctl call of an application method of a suspended node")
	assert.Contains(t, stderr, "ekka-mesh ctl: call "+method+" on "+sb3+" via "+sb3+": ")
	assert.Contains(t, stderr, sb3+" is suspended and serves no calls: keep-majority: this side has 1 of 3 members")
	code, stdout, _ = c.ctl(t, sb1, "status")
	require.Equal(t, exitOK, code)
	assert.NotContains(t, stdout, "Suspended:")
	// The admin endpoint: not ready, and the metrics say so.
	code, body := c.admin(t, sb3, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, `"suspended: keep-majority: this side has 1 of 3 members`)
	_, body = c.admin(t, sb3, "/metrics")
	for _, line := range []string{`ekka_mesh_suspended 1`, `ekka_mesh_split_brain_serving{strategy="keep-majority"} 0`, `ekka_mesh_split_brain_downs_total 1`, `ekka_mesh_calls_suspended_total 1`} {
		assert.Contains(t, strings.Split(body, "\n"), line)
	}
	_, body = c.admin(t, sb1, "/metrics")
	for _, line := range []string{`ekka_mesh_suspended 0`, `ekka_mesh_split_brain_serving{strategy="keep-majority"} 1`, `ekka_mesh_split_brain_downs_total 0`} {
		assert.Contains(t, strings.Split(body, "\n"), line)
	}
	_, body = c.admin(t, sb3, "/snapshot")
	assert.Contains(t, body, `"split_brain":{"strategy":"keep-majority","serving":false,`)

	c.fw.restore()
	tRestore := time.Now()
	testnet.Eventually(t, 30*time.Second, "one cluster again, every node serving, no partition",
		c.state(map[string][]string{sb1: all, sb2: all, sb3: all}, nil))
	t.Logf("sb3 serves again %v after the network was restored", time.Since(tRestore).Round(time.Millisecond))

	code, body = c.admin(t, sb3, "/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	_, body = c.admin(t, sb3, "/metrics")
	for _, line := range []string{`ekka_mesh_suspended 0`, `ekka_mesh_split_brain_serving{strategy="keep-majority"} 1`, `ekka_mesh_split_brain_ups_total 1`} {
		assert.Contains(t, strings.Split(body, "\n"), line)
	}
	assert.Empty(t, c.suspensions(sb1), "sb1 (majority) suspended")
	assert.Empty(t, c.suspensions(sb2), "sb2 (majority) suspended")
	assert.Len(t, c.suspensions(sb3), 1)
	assert.Len(t, logLines(c.procs[sb3].log.String(), mesh.EventResumed.String()), 1)
	lines := c.hookLines(t, sb3)
	require.Len(t, lines, 2, "sb3's down and up hooks")
	assert.True(t, strings.HasPrefix(lines[0], "down "+sb3+" keep-majority: this side has 1 of 3 members"), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "up "+sb3+" keep-majority: every member is reachable"), lines[1])
	assert.Empty(t, c.hookLines(t, sb1))
	assert.Empty(t, c.hookLines(t, sb2))
	for _, node := range all {
		assert.NotContains(t, c.procs[node].log.String(), "autoheal:", "%s: autoheal ran beside the strategy", node)
	}
}

// TestSplitBrainAsymmetricProcesses: with keep-oldest, when only the link
// between sb1 and sb2 is cut (both still reach sb3), exactly the younger of
// the two, sb2, suspends itself; sb1 and sb3 serve. Once the link is back
// every node serves, and no node records a partition.
func TestSplitBrainAsymmetricProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs node processes and changes iptables rules")
	}
	c := startSplitBrain(t, "cluster.split_brain.strategy=keep-oldest", "cluster.split_brain.stable_after=1s", "node.heartbeat_timeout=1s")
	all := []string{sb1, sb2, sb3}
	g1, g2 := c.guidOf(t, sb3, sb1), c.guidOf(t, sb3, sb2)
	require.Negative(t, g1.Compare(g2), "sb1 (GUID %s) started before sb2 (GUID %s)", g1, g2)

	c.cut(sb1, sb2)
	testnet.Eventually(t, 30*time.Second, "sb2 suspended, sb1 and sb3 serving", c.state(
		map[string][]string{sb1: {sb1, sb3}, sb2: {sb2, sb3}, sb3: all},
		map[string]string{sb2: "keep-oldest: indirectly connected: sb1@127.0.0.21 and sb2@127.0.0.22 cannot reach each other"}))
	// sb3 reaches sb2: its member table shows sb2 suspended, and why.
	testnet.Eventually(t, 10*time.Second, "sb3's ctl status to show sb2 suspended", func() string {
		code, stdout, stderr := c.ctl(t, sb3, "status")
		if code != exitOK {
			return fmt.Sprintf("ctl status exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "up (suspended)") || !strings.Contains(stdout, "\nSuspended member "+sb2+": keep-oldest: indirectly connected") {
			return "ctl status of sb3:\n" + stdout
		}
		return ""
	})
	code, stdout, stderr := c.ctl(t, sb3, "status", sb2)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "\nSuspended: keep-oldest: indirectly connected", "ctl status NODE, as seen from sb3")
	// And sb3's status page marks sb2 suspended, with the reason.
	if chromium, ok := lookChromium(); ok {
		ctx := startBrowser(t, chromium)
		_, err := chromedp.Run(ctx, chromedp.Navigate("http://"+c.adminAddr(sb3)+"/"))
		require.NoError(t, err)
		const suspendedRows = `Array.from(document.querySelectorAll('#members tr[data-suspended]')).map(r => r.dataset.node + '=' + r.dataset.status + ': ' + r.dataset.suspended).join(' ')`
		testnet.Eventually(t, 30*time.Second, "sb3's status page to mark sb2 suspended", func() string {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			got, err := chromedp.Run(rctx, chromedp.Evaluate[string](suspendedRows))
			if err != nil {
				return "evaluating in the page: " + err.Error()
			}
			if !strings.HasPrefix(got, sb2+"=up: keep-oldest: indirectly connected") {
				return fmt.Sprintf("the page's suspended rows: %q", got)
			}
			return ""
		})
	} else {
		t.Log("no chromium on PATH: sb3's status page is not checked (.ci/run installs it)")
	}

	c.fw.restore()
	testnet.Eventually(t, 30*time.Second, "one cluster again, every node serving, no partition",
		c.state(map[string][]string{sb1: all, sb2: all, sb3: all}, nil))
	assert.Empty(t, c.suspensions(sb1), "sb1 (the older) suspended")
	assert.Empty(t, c.suspensions(sb3), "sb3 (reaches both) suspended")
	assert.Len(t, c.suspensions(sb2), 1)
	lines := c.hookLines(t, sb2)
	require.Len(t, lines, 2, "sb2's down and up hooks")
	assert.True(t, strings.HasPrefix(lines[0], "down "+sb2+" keep-oldest: indirectly connected"), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "up "+sb2+" "), lines[1])
}

// TestSplitBrainFlappingProcesses: a link between sb1 and sb2 that is cut
// and restored faster than stable_after never lets a decision be taken;
// once that lasted stable_after plus down_all_when_unstable (3/4 of
// stable_after), the nodes at both ends stop serving. Once the network
// stays whole for stable_after, every node serves again.
func TestSplitBrainFlappingProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs node processes and changes iptables rules")
	}
	const stableAfter = 3 * time.Second
	c := startSplitBrain(t, "cluster.split_brain.strategy=keep-majority", "cluster.split_brain.stable_after="+stableAfter.String(),
		"node.heartbeat_interval=100ms", "node.heartbeat_timeout=500ms")
	all := []string{sb1, sb2, sb3}

	// Each half period is long enough for the link to go down (500ms
	// without a heartbeat) or come back (a redial), and short enough that
	// no view holds still for stable_after.
	const half = 1200 * time.Millisecond
	ctx := testnet.Context(t, 40*time.Second)
	tFlap := time.Now()
	cut := false
	toggle := time.NewTicker(half)
	defer toggle.Stop()
	bothDown := func() string {
		for _, node := range []string{sb1, sb2} {
			info, complaint := c.info(t, node)
			if complaint != "" {
				return complaint
			}
			if !strings.Contains(info.Suspended, "keep-majority: unstable: the view kept changing") {
				return fmt.Sprintf("%s is not suspended for instability (suspended: %q)", node, info.Suspended)
			}
		}
		return ""
	}
	for {
		if cut {
			c.fw.restore()
		} else {
			c.cut(sb1, sb2)
		}
		cut = !cut
		// The flapping goes on until both ends are down.
		if why := bothDown(); why == "" {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("the link flapped for %v and %s", time.Since(tFlap).Round(time.Millisecond), why)
		}
		select {
		case <-toggle.C:
		case <-ctx.Done():
		}
	}
	flapped := time.Since(tFlap)
	t.Logf("both ends suspended after %v of flapping", flapped.Round(time.Millisecond))
	assert.GreaterOrEqual(t, flapped, stableAfter, "suspended before a view could have held still for stable_after")

	c.fw.restore()
	testnet.Eventually(t, 30*time.Second, "one cluster again, every node serving, no partition",
		c.state(map[string][]string{sb1: all, sb2: all, sb3: all}, nil))
	for _, node := range []string{sb1, sb2} {
		lines := c.hookLines(t, node)
		require.NotEmpty(t, lines, node)
		assert.True(t, strings.HasPrefix(lines[0], "down "+node+" keep-majority: unstable: "), lines[0])
		assert.True(t, strings.HasPrefix(lines[len(lines)-1], "up "+node+" keep-majority: every member is reachable"), lines[len(lines)-1])
	}
}

// TestSplitBrainStrategiesProcesses: the other strategies on a symmetric
// split of one node from the other two: static-quorum (quorum 2) keeps the
// two; keep-oldest with down-if-alone keeps the two when the oldest is the
// one cut off; down-all stops every node. Once the network is whole every
// node serves again, and no node records a partition.
func TestSplitBrainStrategiesProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs node processes and changes iptables rules")
	}
	all := []string{sb1, sb2, sb3}
	for _, tt := range []struct {
		name      string
		sets      []string
		alone     string            // the node cut off from the other two
		suspended map[string]string // node -> in its suspension's reason
	}{
		{"static-quorum", []string{"cluster.split_brain.strategy=static-quorum", "cluster.split_brain.quorum_size=2"}, sb3,
			map[string]string{sb3: "static-quorum: this side has 1 of 3 members"}},
		{"keep-oldest down-if-alone", []string{"cluster.split_brain.strategy=keep-oldest"}, sb1,
			map[string]string{sb1: "keep-oldest: this node is the oldest member but alone"}},
		{"down-all", []string{"cluster.split_brain.strategy=down-all"}, sb3,
			map[string]string{sb1: "down-all: ", sb2: "down-all: ", sb3: "down-all: "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startSplitBrain(t, append(tt.sets, "cluster.split_brain.stable_after=1s", "node.heartbeat_timeout=1s")...)
			running := map[string][]string{tt.alone: {tt.alone}}
			var others []string
			for _, n := range all {
				if n != tt.alone {
					others = append(others, n)
					c.cut(tt.alone, n)
				}
			}
			for _, n := range others {
				running[n] = others
			}
			testnet.Eventually(t, 30*time.Second, fmt.Sprintf("%s cut off, suspended: %v", tt.alone, slices.Sorted(maps.Keys(tt.suspended))),
				c.state(running, tt.suspended))
			c.fw.restore()
			testnet.Eventually(t, 30*time.Second, "one cluster again, every node serving, no partition",
				c.state(map[string][]string{sb1: all, sb2: all, sb3: all}, nil))
			for _, n := range all {
				want := 0
				if _, down := tt.suspended[n]; down {
					want = 1
				}
				assert.Len(t, c.suspensions(n), want, "%s's suspended events", n)
			}
		})
	}
}
