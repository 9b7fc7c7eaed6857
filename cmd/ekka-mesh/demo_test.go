package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var demoHeadings = []string{
	"[1/7] Cluster formation",
	"[2/7] A call",
	"[3/7] Multicall",
	"[4/7] Two nodes contend for a lock",
	"[5/7] A node crash",
	"[6/7] A network partition",
	"[7/7] A clean stop",
}

func TestDemo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		n    int
	}{
		{"default is three nodes", []string{"demo"}, 3},
		{"two nodes skip the partition", []string{"demo", "--nodes", "2"}, 2},
		{"five nodes", []string{"demo", "--nodes=5"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(tt.args...)
			require.Equal(t, exitOK, code, "ekka-mesh %q: exit %d, stderr %q; want exit 0 and no stderr\n%s", tt.args, code, stderr, stdout)
			require.Empty(t, stderr, "ekka-mesh %q: exit %d, stderr %q; want exit 0 and no stderr\n%s", tt.args, code, stderr, stdout)
			goleak.VerifyNone(t)
			demoCheckOutput(t, stdout, tt.n)
		})
	}
}

// demoCheckOutput checks the facts a user reads in the demo's output.
func demoCheckOutput(t *testing.T, out string, n int) {
	t.Helper()
	name := meshtest.Name
	last := name(n - 1)
	want := []string{
		fmt.Sprintf("ekka-mesh demo: %d nodes on 127.0.0.1", n),
		fmt.Sprintf("Every node sees all %d nodes running", n),
		"  NODE          STATUS  GUID",
		fmt.Sprintf("%s calls \"greet\" on %s and gets the reply \"hello %s, this is %s\"", name(0), name(1), name(0), name(1)),
		"No node failed.",
		fmt.Sprintf("  worker-on-%s: granted by [", name(0)),
		fmt.Sprintf("  worker-on-%s: refused by ", name(1)),
		fmt.Sprintf(": held by worker-on-%s for ", name(0)),
		fmt.Sprintf("  worker-on-%s released it on [", name(0)),
		fmt.Sprintf("  worker-on-%s: granted by [", name(1)),
		"The second token is larger",
		fmt.Sprintf("%s received: node-down %s", name(0), last),
		"stopped_nodes: [" + last + "]",
		fmt.Sprintf("%s -> %s: mesh: node %s: node is down (no link to it)", name(0), last, last),
		"every goroutine the\nnodes and the network started has finished.",
	}
	for i := 0; i < n; i++ {
		want = append(want,
			fmt.Sprintf("  %-16s listening on 127.0.0.1:", name(i)),
			fmt.Sprintf("  %s  up  ", name(i)),
			fmt.Sprintf("  %-16s replied \"hello %s, this is %s\"", name(i), name(0), name(i)),
		)
	}
	if n == 2 {
		want = append(want, "Skipped: after the crash only n1@127.0.0.1 is running")
	} else {
		var others []string
		for i := 1; i < n-1; i++ {
			others = append(others, name(i))
		}
		side := "[" + strings.Join(others, ", ") + "]"
		want = append(want,
			fmt.Sprintf("cuts every link between %s and %s", name(0), side),
			name(0)+" sees running: ["+name(0)+"]\n",
			name(1)+" sees running: "+side+"\n",
			fmt.Sprintf("A call across the split fails: %s -> %s: mesh: node %s: node is down (no link to it)", name(0), name(1), name(1)),
			"Calls flow again: ",
			"Info of "+name(0)+": partitions "+side+"\n",
			"Autoheal runs on every node, with a delay of 1s",
			"Every node reports its partitions to the leader, "+name(0)+", the oldest node.",
			"No node records a partition any more.",
		)
		// The larger side stays; 1|1 is a tie, which the oldest node's side wins.
		victim := name(0)
		if n == 3 {
			victim = name(1)
		}
		want = append(want,
			"  "+victim+" ran the hooks prepare, then reboot.\n",
			"The cluster is one again, ",
		)
		assert.Equal(t, 1, strings.Count(out, " ran the hooks "), "the hooks ran on more than the one victim %s", victim)
		for _, o := range others {
			want = append(want,
				fmt.Sprintf("%s received: node-down %s", name(0), o),
				fmt.Sprintf("%s received: node-down %s", o, name(0)),
				fmt.Sprintf("%s received: partition-occurred %s", name(0), o),
				fmt.Sprintf("%s received: partition-occurred %s", o, name(0)),
				fmt.Sprintf("%s received: partition-healed %s", name(0), o),
				fmt.Sprintf("%s received: partition-healed %s", o, name(0)),
				"Info of "+o+": partitions ["+name(0)+"]\n",
			)
		}
	}
	want = append(want, demoHeadings...)
	for _, w := range want {
		assert.True(t, strings.Contains(out, w), "the output lacks %q", w)
	}
	pos := 0
	for _, h := range demoHeadings {
		i := strings.Index(out[pos:], h)
		if !assert.GreaterOrEqual(t, i, 0, "heading %q is missing or out of order", h) {
			break
		}
		pos += i
	}
	assert.False(t, strings.Contains(out, "FAILED"), "the output reports a failure")
	assert.True(t, strings.HasSuffix(out, "\ndemo finished: every step behaved as narrated\n"), "the output does not end with the success line")
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func TestDemoUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"demo", "--nodes", "1"}, "ekka-mesh demo: --nodes 1 is outside 2..20: a cluster needs at least 2 nodes"},
		{[]string{"demo", "--nodes", "0"}, "--nodes 0 is outside 2..20"},
		{[]string{"demo", "--nodes", "-3"}, "--nodes -3 is outside 2..20"},
		{[]string{"demo", "--nodes", "21"}, "--nodes 21 is outside 2..20: a cluster needs at least 2 nodes, and the demo runs at most 20 in one process"},
		{[]string{"demo", "--nodes", "three"}, `ekka-mesh demo: invalid value "three" for flag --nodes`},
		{[]string{"demo", "--nodes"}, "ekka-mesh demo: flag needs an argument: --nodes"},
		{[]string{"demo", "--fast"}, "ekka-mesh demo: flag provided but not defined: --fast"},
		{[]string{"demo", "extra"}, `ekka-mesh demo: takes no arguments, got ["extra"]`},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(tt.args...)
		assert.Equal(t, exitUsage, code, "%q: exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q", tt.args, code, stdout, stderr, tt.want)
		assert.Empty(t, stdout, "%q: exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q", tt.args, code, stdout, stderr, tt.want)
		assert.Contains(t, stderr, tt.want, "%q: exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q", tt.args, code, stdout, stderr, tt.want)
	}
	goleak.VerifyNone(t)
}

func TestDemoHelp(t *testing.T) {
	for _, args := range [][]string{{"demo", "--help"}, {"help", "demo"}} {
		code, stdout, stderr := run(args...)
		assert.Equal(t, exitOK, code, "%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		assert.Empty(t, stderr, "%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		assert.Contains(t, stdout, "Usage: ekka-mesh demo [--nodes N]", "%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		assert.Contains(t, stdout, "how many nodes to start (2..20) (default 3)", "%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
	}
	code, stdout, _ := run("help")
	assert.Equal(t, exitOK, code, "help does not list demo: exit %d, stdout %q", code, stdout)
	assert.Regexp(t, `\n  demo +start a local demo cluster`, stdout, "help does not list demo: exit %d, stdout %q", code, stdout)
}

// TestDemoWaitEventsNamesWhatIsMissing checks the words a FAILED line
// carries when an awaited event never comes.
func TestDemoWaitEventsNamesWhatIsMissing(t *testing.T) {
	ctx := testnet.Context(t, 10*time.Second)
	c := meshtest.Started(t, 1, nil)
	sub := c.Node(0).Subscribe()
	wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := demoWaitEvents(wctx, sub, mesh.EventNodeDown, []string{"n7@127.0.0.1"})
	wcancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded, "demoWaitEvents = %v; want a deadline error naming n7@127.0.0.1", err)
	assert.ErrorContains(t, err, "none arrived for [n7@127.0.0.1]", "demoWaitEvents = %v; want a deadline error naming n7@127.0.0.1", err)
	sub.Close()
	_, err = demoWaitEvents(ctx, sub, mesh.EventNodeDown, []string{"n7@127.0.0.1"})
	assert.ErrorContains(t, err, "the event stream closed", "demoWaitEvents on a closed subscription")
	require.NoError(t, c.Stop(ctx))
	goleak.VerifyNone(t)
}

// TestDemoBinary runs "ekka-mesh demo" through the real binary.
func TestDemoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "ekka-mesh")
	build, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", build)
	cmd := exec.CommandContext(ctx, bin, "demo")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	require.NoError(t, err, "ekka-mesh demo: stderr %q\n%s", errOut.String(), out.String())
	assert.Zero(t, errOut.Len(), "ekka-mesh demo wrote to stderr: %q", errOut.String())
	demoCheckOutput(t, out.String(), 3)
}
