package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// firewall drops traffic between node processes for real, with iptables
// rules in a chain of its own that INPUT jumps to. The chain and the jump
// are removed when the test ends, whatever happened.
type firewall struct {
	t     *testing.T
	chain string
}

var firewallSeq atomic.Int32

// newFirewall creates the chain, or skips the test saying why it cannot.
func newFirewall(t *testing.T) *firewall {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to add iptables rules (the partition is made by dropping traffic for real)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("iptables is not installed (apt-get install -y iptables): the partition is made by dropping traffic for real")
	}
	f := &firewall{t: t, chain: fmt.Sprintf("EKKA-AH-%d-%d", os.Getpid()%100000, firewallSeq.Add(1))}
	if out, err := f.iptables("-N", f.chain); err != nil {
		t.Skipf("cannot create the iptables chain %s: %v: %s", f.chain, err, out)
	}
	t.Cleanup(f.remove)
	out, err := f.iptables("-I", "INPUT", "-j", f.chain)
	require.NoError(t, err, "iptables -I INPUT -j %s: %s", f.chain, out)
	return f
}

func (f *firewall) iptables(args ...string) (string, error) {
	out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	return string(out), err
}

// remove takes the jump and the chain away; it logs what it could not.
func (f *firewall) remove() {
	for i := 0; i < 10; i++ {
		if _, err := f.iptables("-D", "INPUT", "-j", f.chain); err != nil {
			break
		}
	}
	for _, args := range [][]string{{"-F", f.chain}, {"-X", f.chain}} {
		out, err := f.iptables(args...)
		assert.NoError(f.t, err, "cleanup: iptables %s: %s", strings.Join(args, " "), out)
	}
}

// cut drops every TCP packet between the nodes at addresses a and b, which
// listen on ports pa and pb: both ways, on connections either one dialed.
// Other processes on these addresses (other tests) are not affected.
func (f *firewall) cut(a string, pa int, b string, pb int) {
	f.t.Helper()
	for _, r := range [][]string{
		{"-s", a, "-d", b, "--dport", strconv.Itoa(pb)}, {"-s", b, "-d", a, "--sport", strconv.Itoa(pb)},
		{"-s", b, "-d", a, "--dport", strconv.Itoa(pa)}, {"-s", a, "-d", b, "--sport", strconv.Itoa(pa)},
	} {
		args := append([]string{"-A", f.chain, "-p", "tcp"}, r...)
		out, err := f.iptables(append(args, "-j", "DROP")...)
		require.NoError(f.t, err, "iptables %s: %s", strings.Join(args, " "), out)
	}
}

// restore drops every rule: the network works again.
func (f *firewall) restore() {
	f.t.Helper()
	out, err := f.iptables("-F", f.chain)
	require.NoError(f.t, err, "iptables -F %s: %s", f.chain, out)
}

// TestAutohealProcesses runs the binary as three processes on 127.0.0.1-3,
// splits n3 from n1 and n2 by dropping their traffic with iptables, then
// restores the network: with cluster.autoheal on, the cluster heals on its
// own; with it off, the partition stays recorded until an operator runs
// ctl join on n3.
func TestAutohealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs node processes and changes iptables rules")
	}
	newFirewall(t) // skips here, before anything is built, when it cannot work
	bin := buildBinary(t)
	all := []string{n1, n2, n3}
	const deadline = 90 * time.Second
	const delay = time.Second

	for _, autoheal := range []string{delay.String(), "off"} {
		t.Run("autoheal="+autoheal, func(t *testing.T) {
			h := newHarness(t, bin, "autoheal-test-cookie", []string{n1, n2, n3}, "EKKA_MESH_CLUSTER__AUTOHEAL="+autoheal)
			procs := map[string]*nodeProc{}
			for _, name := range all {
				procs[name] = h.start(t, name)
			}
			testnet.Eventually(t, deadline, "every node running all three", h.view(t, all, all, all, []string{}))
			for _, name := range all {
				assert.Contains(t, logLines(procs[name].log.String(), "started")[0], "autoheal="+autoheal)
			}

			fw := newFirewall(t)
			fw.cut("127.0.0.1", h.base+1, "127.0.0.3", h.base+3)
			fw.cut("127.0.0.2", h.base+2, "127.0.0.3", h.base+3)
			tSplit := time.Now()
			// ctl reaches n3 from 127.0.0.1, which the rules drop: n3's own
			// view during the split is read from its log.
			testnet.Eventually(t, deadline, "n1 and n2 running without n3", h.view(t, []string{n1, n2}, all, []string{n1, n2}, []string{n3}))
			testnet.Eventually(t, deadline, "n3 logging n1 and n2 down", func() string {
				log := procs[n3].log.String()
				for _, m := range []string{n1, n2} {
					if !slices.ContainsFunc(logLines(log, "node-down"), func(l string) bool { return strings.Contains(l, "member="+m) }) {
						return "no node-down for " + m + " in n3's log"
					}
				}
				return ""
			})
			t.Logf("split seen on both sides after %v", time.Since(tSplit).Round(time.Millisecond))

			fw.restore()
			tRestore := time.Now()
			if autoheal != "off" {
				testnet.Eventually(t, deadline, "one cluster again, no partition", h.view(t, all, all, all, []string{}))
				t.Logf("autoheal (delay %s): one cluster %v after the network was restored", autoheal, time.Since(tRestore).Round(time.Millisecond))
				assert.NotEmpty(t, logLines(procs[n3].log.String(), "autoheal: this node healed: it rejoined the cluster of the coordinator"), procs[n3].log.String())
				for _, name := range []string{n1, n2} {
					assert.Empty(t, logLines(procs[name].log.String(), "autoheal: this node is on a minority side; healing"), "%s healed although on the majority side", name)
				}
				// The coordinator logs the round once the victim said it is done.
				healedBy := func() int {
					n := 0
					for _, name := range []string{n1, n2} {
						n += len(logLines(procs[name].log.String(), "autoheal: partition healed"))
					}
					return n
				}
				testnet.Eventually(t, deadline, "the coordinator logging the heal", func() string {
					if healedBy() == 0 {
						return "no \"autoheal: partition healed\" in the logs of n1 and n2"
					}
					return ""
				})
				assert.Equal(t, 1, healedBy(), "one heal round, by the coordinator")
				return
			}

			recorded := func() string {
				for node, want := range map[string][]string{n1: {n3}, n2: {n3}, n3: {n1, n2}} {
					info, complaint := h.info(t, node)
					if complaint != "" {
						return complaint
					}
					if !slices.Equal(info.RunningNodes, all) || !slices.Equal(info.Partitions, want) {
						return fmt.Sprintf("%s runs with %v and records partitions with %v; want all running and partitions with %v", node, info.RunningNodes, info.Partitions, want)
					}
				}
				return ""
			}
			testnet.Eventually(t, deadline, "the links back and the partition recorded on both sides", recorded)
			time.Sleep(3 * delay)
			require.Empty(t, recorded(), "with autoheal off the partition stays recorded")
			for _, name := range all {
				assert.Empty(t, logLines(procs[name].log.String(), "autoheal: healing a partition"))
			}

			code, stdout, stderr := h.ctl(t, n3, "join", n1)
			require.Equal(t, exitOK, code, stderr)
			assert.Equal(t, "n3@127.0.0.3 joined the cluster of n1@127.0.0.1\n", stdout)
			testnet.Eventually(t, deadline, "one cluster again after ctl join, no partition", h.view(t, all, all, all, []string{}))
			for _, name := range []string{n1, n2} {
				assert.True(t, slices.ContainsFunc(logLines(procs[name].log.String(), "partition-healed"), func(l string) bool {
					return strings.Contains(l, "member="+n3)
				}), "%s logs no partition-healed for n3", name)
			}
		})
	}
}
