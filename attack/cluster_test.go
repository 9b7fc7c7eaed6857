package attack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The cluster every test attacks: three `ekka-mesh run` processes, each on
// its own loopback address with the same base port, and a library node
// linked into the test process. n1 is the victim.
const (
	n1      = "n1@127.0.0.1"
	n2      = "n2@127.0.0.2"
	n3      = "n3@127.0.0.3"
	n4      = "n4@127.0.0.4" // a node started during an attack (TestAttackIdleConnections)
	libName = "lib9@127.0.0.9"
	victim  = n1

	clusterName = "attack"
	cookie      = "attack-suite-cookie-0123456789"

	// formDeadline bounds how long three fresh processes take to cluster.
	formDeadline = 30 * time.Second
)

// The attacker's own names: a member with the cookie calls itself
// mallory, on an address where nothing listens, so that the victim's
// redials to it fail at once.
const attackerHost = "127.0.0.66"

func attackerName(i int) string {
	if i == 0 {
		return "mallory@" + attackerHost
	}
	return "mallory" + strconv.Itoa(i) + "@" + attackerHost
}

// proc is one `ekka-mesh run` process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testnet.SyncBuffer
	done chan struct{} // closed once the process has exited
	code int           // its exit status, once done
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill kills the process group; a no-op once it has exited.
func (p *proc) kill() {
	if !p.exited() {
		syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
}

// cluster is the three processes, their base port and the clients the
// test makes to them.
type cluster struct {
	t     *testing.T
	ctx   context.Context
	base  int
	home  string
	procs map[string]*proc
}

// newCluster starts n1, n2 and n3 and waits until each runs all three.
// Everything it starts is killed when the test ends; the logs are shown
// when the test failed.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts ekka-mesh processes and attacks them")
	}
	// Registered first, so it runs last: every goroutine the test started
	// (clients, the library node, the attacker) is gone once the rest of
	// the cleanup has run.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	c := &cluster{t: t, ctx: t.Context(), home: t.TempDir(), procs: map[string]*proc{}}
	c.base = testnet.FreeBase(t, n1, n2, n3, n4, libName, attackerName(0), attackerName(1), attackerName(2), attackerName(3))
	for _, name := range []string{n1, n2, n3} {
		c.procs[name] = c.start(t, name, "--set", "cluster.static.seeds="+n1+","+n2+","+n3)
	}
	all := []string{n1, n2, n3}
	testnet.Eventually(t, formDeadline, "n1, n2 and n3 running all three", func() string {
		for _, name := range all {
			if why := c.running(name, all...); why != "" {
				return why
			}
		}
		return ""
	})
	return c
}

// start runs `ekka-mesh run` for name in a process group of its own.
func (c *cluster) start(t *testing.T, name string, extra ...string) *proc {
	t.Helper()
	args := []string{"run", "--name", name, "--cookie", cookie, "--base-port", strconv.Itoa(c.base),
		"--set", "cluster.name=" + clusterName,
		"--set", "cluster.discovery=static",
		"--set", "cluster.autocluster.interval=500ms",
		"--set", "node.heartbeat_interval=200ms",
		"--set", "node.heartbeat_timeout=2s",
		"--set", "cluster.autoheal=off",
	}
	args = append(args, extra...)
	p := &proc{name: name, out: &testnet.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Env = []string{"HOME=" + c.home, "PATH=" + os.Getenv("PATH")}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		<-p.done
		if t.Failed() {
			out := p.out.String()
			if len(out) > 64<<10 {
				out = fmt.Sprintf("[%d bytes before]\n%s", len(out)-64<<10, out[len(out)-64<<10:])
			}
			t.Logf("output of %s (exit %d):\n%s", name, p.code, out)
		}
	})
	return p
}

// addr is where node listens.
func (c *cluster) addr(node string) string {
	a, err := mesh.Addr(node, c.base)
	if err != nil {
		c.t.Fatalf("address of %s: %v", node, err)
	}
	return a
}

// client connects a hidden client (what ekka-mesh ctl uses) to node; it is
// closed when the test ends.
func (c *cluster) client(ctx context.Context, node string) (*mesh.Client, error) {
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: cookie, BasePort: c.base, HandshakeTimeout: 5 * time.Second}, node)
	if err != nil {
		return nil, err
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl, nil
}

// info is node's view, through a fresh hidden client.
func (c *cluster) info(node string) (mesh.Info, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: cookie, BasePort: c.base}, node)
	if err != nil {
		return mesh.Info{}, err
	}
	defer cl.Close()
	return cl.Info(ctx)
}

// running returns "" when node runs every one of want, else why not.
func (c *cluster) running(node string, want ...string) string {
	info, err := c.info(node)
	if err != nil {
		return fmt.Sprintf("info from %s: %v", node, err)
	}
	for _, w := range want {
		if !slices.Contains(info.RunningNodes, w) {
			return fmt.Sprintf("%s runs %v, not %s", node, info.RunningNodes, w)
		}
	}
	return ""
}

// library starts the library node lib9 in the test process and joins it
// to the victim: it is the "other link" whose calls must finish and whose
// events must show no member going down. It stops when the test ends.
func (c *cluster) library(t *testing.T) *mesh.Node {
	t.Helper()
	cfg := mesh.DefaultConfig()
	cfg.Name = libName
	cfg.Cookie = cookie
	cfg.Cluster = clusterName
	cfg.BasePort = c.base
	cfg.HeartbeatInterval = 200 * time.Millisecond
	cfg.HeartbeatTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	node, err := mesh.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start the library node: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := node.Stop(sctx); err != nil {
			t.Errorf("stop the library node: %v", err)
		}
	})
	if err := node.Join(ctx, victim); err != nil {
		t.Fatalf("library node joins %s: %v", victim, err)
	}
	all := []string{n1, n2, n3, libName}
	testnet.Eventually(t, formDeadline, "lib9 linked to n1, n2 and n3, and they to it", func() string {
		running := node.Info().RunningNodes
		for _, w := range all {
			if !slices.Contains(running, w) {
				return fmt.Sprintf("lib9 runs %v, not %s", running, w)
			}
		}
		for _, n := range []string{n1, n2, n3} {
			if why := c.running(n, all...); why != "" {
				return why
			}
		}
		return ""
	})
	return node
}

// downEvents returns the node-down lines that out (a node's log) holds
// after offset about any of members.
func downEvents(out string, offset int, members ...string) []string {
	var found []string
	for _, line := range strings.Split(out[min(offset, len(out)):], "\n") {
		if !strings.Contains(line, "msg=node-down") {
			continue
		}
		for _, m := range members {
			if strings.Contains(line, "member="+m+" ") || strings.HasSuffix(line, "member="+m) {
				found = append(found, line)
			}
		}
	}
	return found
}
