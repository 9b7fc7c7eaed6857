package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// clusterHarness runs the real ekka-mesh binary as separate processes: the
// nodes n1@127.0.0.1, n2@127.0.0.2 and n3@127.0.0.3 of testdata/cluster.conf,
// all with the same base port, so each listens on base+1, base+2 and base+3
// of its own address.
type clusterHarness struct {
	t      *testing.T
	ctx    context.Context // ends when the test does: every process is killed
	bin    string
	base   int
	cookie string
	env    []string
}

// newHarness is the harness most binary tests use: the binary bin, a free
// base port for the nodes names, the cookie, and processes that run with a
// HOME of their own, PATH, and env.
func newHarness(t *testing.T, bin, cookie string, names []string, env ...string) *clusterHarness {
	return &clusterHarness{
		t:      t,
		ctx:    t.Context(),
		bin:    bin,
		base:   testnet.FreeBase(t, names...),
		cookie: cookie,
		env:    append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...),
	}
}

var (
	n1 = "n1@127.0.0.1"
	n2 = "n2@127.0.0.2"
	n3 = "n3@127.0.0.3"
)

// nodeProc is one `ekka-mesh run` process.
type nodeProc struct {
	name string
	cmd  *exec.Cmd
	log  *testnet.SyncBuffer
	done chan struct{} // closed when the process has exited
	code int           // its exit status, once done
}

// built is the binary the tests run, built once per test process (every
// test runs the same source) into binDir, which TestMain removes.
var (
	binDir   string
	built    sync.Once
	binPath  string
	buildErr error
)

// buildBinary returns the path of the ekka-mesh binary built from this
// package, building it on the first call.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.Do(func() {
		start := time.Now()
		if binDir, buildErr = os.MkdirTemp("", "ekka-mesh-test-bin"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ekka-mesh")
		var out []byte
		if out, buildErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); buildErr != nil {
			buildErr = fmt.Errorf("go build: %w: %s", buildErr, out)
			return
		}
		t.Logf("built the binary in %v", time.Since(start).Round(time.Millisecond))
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// start runs `ekka-mesh run` for name with testdata/cluster.conf and the
// harness's base port and cookie.
func (h *clusterHarness) start(t *testing.T, name string) *nodeProc {
	t.Helper()
	return h.run(t, name, "--config", filepath.Join("testdata", "cluster.conf"),
		"--name", name, "--base-port", strconv.Itoa(h.base), "--cookie", h.cookie)
}

// run runs `ekka-mesh run args...` for the node name in its own process
// group. It is killed (SIGKILL to the group) when the whole test ends,
// whatever happened, and its log is shown if the test failed.
func (h *clusterHarness) run(t *testing.T, name string, args ...string) *nodeProc {
	t.Helper()
	return h.command(t, name, append([]string{"run"}, args...)...)
}

// command is run for any command that runs a node (`ekka-mesh args...`).
func (h *clusterHarness) command(t *testing.T, name string, args ...string) *nodeProc {
	t.Helper()
	p := &nodeProc{name: name, log: &testnet.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.CommandContext(h.ctx, h.bin, args...)
	p.cmd.Env = h.env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Cancel = func() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
	require.NoError(t, p.cmd.Start())
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	h.t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if h.t.Failed() {
			h.t.Logf("log of %s:\n%s", p.name, p.log.String())
		}
	})
	return p
}

// signal sends sig to the process group; no-op once the process is gone.
func (p *nodeProc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// kill9 kills the node as a crash would, and waits for it to be gone.
func (p *nodeProc) kill9(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still running 20s after SIGKILL", p.name)
	}
}

// term sends SIGTERM and returns the exit status.
func (p *nodeProc) term(t *testing.T) int {
	t.Helper()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.code
	case <-time.After(30 * time.Second):
		t.Fatalf("%s still running 30s after SIGTERM:\n%s", p.name, p.log.String())
		return -1
	}
}

// exec runs the binary with args and returns its exit status and output.
func (h *clusterHarness) exec(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err, "ekka-mesh %q", args)
	}
	return code, out.String(), errOut.String()
}

// ctl runs `ekka-mesh ctl --node node` with the cluster's base port and
// cookie, then args.
func (h *clusterHarness) ctl(t *testing.T, node string, args ...string) (int, string, string) {
	t.Helper()
	return h.exec(t, append([]string{"ctl", "--node", node, "--base-port", strconv.Itoa(h.base), "--cookie", h.cookie}, args...)...)
}

// info is node's view through `ctl status --json`; ok is false when ctl
// failed (complaint says why).
func (h *clusterHarness) info(t *testing.T, node string) (info mesh.Info, complaint string) {
	t.Helper()
	code, stdout, stderr := h.ctl(t, node, "status", "--json")
	if code != exitOK {
		return info, fmt.Sprintf("ctl status on %s: exit %d: %s", node, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		return info, fmt.Sprintf("ctl status --json on %s: %v in %q", node, err, stdout)
	}
	return info, ""
}

// view returns a condition for waitFor: every node in on has exactly
// members as its members, running all of running, stopped all of stopped,
// and no partition.
func (h *clusterHarness) view(t *testing.T, on []string, members, running, stopped []string) func() string {
	return func() string {
		for _, node := range on {
			info, complaint := h.info(t, node)
			if complaint != "" {
				return complaint
			}
			var names []string
			for _, m := range info.Members {
				names = append(names, m.Node)
			}
			if !reflect.DeepEqual(names, members) || !reflect.DeepEqual(info.RunningNodes, running) ||
				!reflect.DeepEqual(info.StoppedNodes, stopped) || len(info.Partitions) != 0 {
				return fmt.Sprintf("%s sees members %v, running %v, stopped %v, partitions %v; want members %v, running %v, stopped %v, no partition",
					node, names, info.RunningNodes, info.StoppedNodes, info.Partitions, members, running, stopped)
			}
		}
		return ""
	}
}

// guidOf returns the GUID node has for member.
func (h *clusterHarness) guidOf(t *testing.T, node, member string) mesh.GUID {
	t.Helper()
	info, complaint := h.info(t, node)
	require.Empty(t, complaint)
	for _, m := range info.Members {
		if m.Node == member {
			return m.GUID
		}
	}
	t.Fatalf("%s has no member %s: %+v", node, member, info.Members)
	return mesh.GUID{}
}

// TestCluster runs three `ekka-mesh run` processes and drives them with
// `ekka-mesh ctl`, as an operator would: formation, crash and restart,
// ping, call, force-leave, leave and join, bad cookies, SIGTERM.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	testStart := time.Now()
	bin := buildBinary(t)
	h := newHarness(t, bin, "cluster-test-cookie", []string{n1, n2, n3, "n4@127.0.0.4"})
	all := []string{n1, n2, n3}
	const formDeadline = 30 * time.Second

	t.Run("unknown key", func(t *testing.T) {
		code, stdout, stderr := h.exec(t, "run", "--config", filepath.Join("testdata", "unknown-key.conf"), "--cookie", "c")
		assert.Equal(t, exitUsage, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "ekka-mesh run: testdata/unknown-key.conf:4: unknown key cluster.static.seed: did you mean cluster.static.seeds?\n")
		assert.Contains(t, stderr, "ekka-mesh run: testdata/unknown-key.conf:5: node.heartbeat_interval = 30: ")
	})

	procs := map[string]*nodeProc{}
	for _, name := range all {
		procs[name] = h.start(t, name)
	}
	t0 := time.Now()
	testnet.Eventually(t, formDeadline, "every node running all three", h.view(t, all, all, all, []string{}))
	t.Logf("three processes clustered in %v", time.Since(t0).Round(time.Millisecond))

	t.Run("ping", func(t *testing.T) {
		code, stdout, stderr := h.ctl(t, n1, "ping", n2)
		assert.Equal(t, exitOK, code, stderr)
		assert.Regexp(t, `^pong from n2@127\.0\.0\.2 in [0-9.]+(µs|ms|s)\n$`, stdout)
	})

	t.Run("call", func(t *testing.T) {
		code, stdout, stderr := h.ctl(t, n1, "call", n3, mesh.MethodPong)
		assert.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "pong\n", stdout, "a text reply gets a final newline")
		code, stdout, stderr = h.ctl(t, n1, "call", n3, mesh.MethodPong, "--raw")
		assert.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "pong", stdout, "--raw: the reply exactly")
		code, stdout, stderr = h.ctl(t, n1, "call", n2, "no.such.method", "payload")
		assert.Equal(t, exitFail, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "ekka-mesh ctl: call no.such.method on n2@127.0.0.2 via n1@127.0.0.1: ")
		assert.Contains(t, stderr, "no handler for method no.such.method on n2@127.0.0.2")
	})

	t.Run("wrong cookie", func(t *testing.T) {
		code, stdout, stderr := h.exec(t, "ctl", "--node", n1, "--base-port", strconv.Itoa(h.base), "--cookie", "not-the-cookie", "status")
		assert.Equal(t, exitUsage, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "ekka-mesh ctl: connect to n1@127.0.0.1: handshake refused by peer (bad cookie): ")
		assert.Contains(t, stderr, "the node refused the cookie")
	})

	t.Run("node not running", func(t *testing.T) {
		code, _, stderr := h.ctl(t, "n4@127.0.0.4", "status")
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "ekka-mesh ctl: connect to n4@127.0.0.4: ")
		assert.Contains(t, stderr, "connection refused")
	})

	guid3 := h.guidOf(t, n1, n3)
	t.Run("kill -9 and restart", func(t *testing.T) {
		procs[n3].kill9(t)
		testnet.Eventually(t, formDeadline, "n3 stopped on n1 and n2", h.view(t, []string{n1, n2}, all, []string{n1, n2}, []string{n3}))
		code, _, stderr := h.ctl(t, n1, "ping", n3)
		assert.Equal(t, exitFail, code)
		assert.Contains(t, stderr, "ekka-mesh ctl: ping n3@127.0.0.3 from n1@127.0.0.1: no pong: ")

		procs[n3] = h.start(t, n3)
		testnet.Eventually(t, formDeadline, "n3 running again everywhere, no partition", h.view(t, all, all, all, []string{}))
		for _, node := range all {
			g := h.guidOf(t, node, n3)
			assert.NotEqual(t, guid3, g, "%s still has n3's old GUID", node)
			assert.Equal(t, 1, g.Compare(guid3), "the restarted n3 is younger")
		}
		assert.Equal(t, h.guidOf(t, n1, n3), h.guidOf(t, n2, n3))
	})

	t.Run("force-leave", func(t *testing.T) {
		procs[n3].kill9(t)
		testnet.Eventually(t, formDeadline, "n3 stopped on n1 and n2", h.view(t, []string{n1, n2}, all, []string{n1, n2}, []string{n3}))
		code, stdout, stderr := h.ctl(t, n1, "force-leave", n3)
		assert.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "n1@127.0.0.1 forced n3@127.0.0.3 out of the cluster\n", stdout)
		testnet.Eventually(t, formDeadline, "n3 gone from n1 and n2", h.view(t, []string{n1, n2}, []string{n1, n2}, []string{n1, n2}, []string{}))
		code, _, stderr = h.ctl(t, n1, "force-leave", n3)
		assert.Equal(t, exitFail, code)
		assert.Contains(t, stderr, "not a member")
	})

	t.Run("leave and join", func(t *testing.T) {
		code, stdout, stderr := h.ctl(t, n2, "leave")
		assert.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "n2@127.0.0.2 left its cluster and runs alone\n", stdout)
		testnet.Eventually(t, formDeadline, "n1 alone", h.view(t, []string{n1}, []string{n1}, []string{n1}, []string{}))
		testnet.Eventually(t, formDeadline, "n2 alone", h.view(t, []string{n2}, []string{n2}, []string{n2}, []string{}))
		code, stdout, stderr = h.ctl(t, n2, "join", n1)
		assert.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "n2@127.0.0.2 joined the cluster of n1@127.0.0.1\n", stdout)
		testnet.Eventually(t, formDeadline, "n1 and n2 together", h.view(t, []string{n1, n2}, []string{n1, n2}, []string{n1, n2}, []string{}))
	})

	t.Run("SIGTERM", func(t *testing.T) {
		assert.Equal(t, exitOK, procs[n1].term(t))
		log := procs[n1].log.String()
		assert.Len(t, logLines(log, "started"), 1, log)
		assert.Len(t, logLines(log, "stopping"), 1, log)
		assert.Contains(t, logLines(log, "stopping")[0], `reason="received signal terminated"`)
		require.Len(t, logLines(log, "stopped"), 1, log)
		assert.Contains(t, logLines(log, "stopped")[0], "name=n1@127.0.0.1")
		assert.NotContains(t, log, "level=ERROR")
		testnet.Eventually(t, formDeadline, "n1 stopped on n2", h.view(t, []string{n2}, []string{n1, n2}, []string{n2}, []string{n1}))
		assert.Equal(t, exitOK, procs[n2].term(t))
	})
	t.Logf("whole test, build included: %v", time.Since(testStart).Round(time.Millisecond))
}
