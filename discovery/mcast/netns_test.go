package mcast

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Real multicast needs an interface with the MULTICAST flag and a route to
// the group. Linux's lo has neither by default, and tests must not change the
// host's, so these tests run in a network namespace of their own: inNetns
// re-executes the test binary under `unshare --net` to run just the calling
// test, and the child sets up the namespace's lo (up, multicast on, a route
// for 224.0.0.0/4). Everything the child starts (helper processes, nodes)
// shares its namespace. This needs root (CI runs as root), unshare
// (util-linux) and ip (iproute2); without them the tests skip and say why.

const (
	// envNetns is set in the child to the network namespace of its
	// parent, so the child can check it really is in another one before it
	// touches lo.
	envNetns = "EKKA_MCAST_TEST_NETNS"
	// envHelper makes the test binary a helper responder process (see
	// helperMain) instead of running tests.
	envHelper = "EKKA_MCAST_TEST_HELPER"
)

func TestMain(m *testing.M) {
	if os.Getenv(envHelper) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m)
}

// netnsID returns the network namespace of this process, like "net:[4026531840]".
func netnsID() (string, error) {
	return os.Readlink("/proc/self/ns/net")
}

// netnsUnavailable says why a network namespace cannot be created here, or
// returns "".
func netnsUnavailable() string {
	if os.Geteuid() != 0 {
		return "needs root to create a network namespace (unshare --net) whose loopback interface carries multicast; CI runs as root"
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("needs %s (util-linux unshare, iproute2 ip) to set up a network namespace: %v", tool, err)
		}
	}
	if _, err := netnsID(); err != nil {
		return fmt.Sprintf("cannot read this process's network namespace: %v", err)
	}
	if out, err := exec.Command("unshare", "--net", "true").CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot create a network namespace: unshare --net true: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return ""
}

var (
	setupOnce sync.Once
	setupErr  error
)

// inNetns runs the calling top-level test in a new network namespace. In
// the parent it runs the test in a child process and returns false: the
// caller returns at once. In the child it sets up lo and returns true: the
// caller runs the test.
func inNetns(t *testing.T) bool {
	t.Helper()
	if parent := os.Getenv(envNetns); parent != "" {
		setupOnce.Do(func() { setupErr = setupLoopback(parent) })
		if setupErr != nil {
			t.Fatal(setupErr)
		}
		return true
	}
	if reason := netnsUnavailable(); reason != "" {
		t.Skip(reason)
	}
	self, err := netnsID()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--net", "--", os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.count=1", "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.CommandContext(t.Context(), "unshare", args...)
	cmd.Env = append(os.Environ(), envNetns+"="+self)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ran in a new network namespace in %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("the test failed in its network namespace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the child did not report %s as passed", t.Name())
	}
	return false
}

// setupLoopback brings lo up with multicast and a route to 224.0.0.0/4, after
// checking this process is not in its parent's (the host's) namespace.
func setupLoopback(parent string) error {
	self, err := netnsID()
	if err != nil {
		return err
	}
	if self == parent {
		return fmt.Errorf("still in the parent's network namespace %s; refusing to change lo", self)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "lo", "multicast", "on"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// helperMain is a responder in a process of its own: it registers the node
// named by envHelper with the configuration in the environment, prints
// "ready PORT", answers until its stdin closes, then unregisters and prints
// its Stats.
func helperMain() int {
	cfg := DefaultConfig()
	cfg.Name = os.Getenv(envHelper)
	cfg.Cluster = os.Getenv("EKKA_MCAST_TEST_CLUSTER")
	cfg.Cookie = os.Getenv("EKKA_MCAST_TEST_COOKIE")
	cfg.Ports = nil
	for _, p := range strings.Split(os.Getenv("EKKA_MCAST_TEST_PORTS"), ",") {
		n, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper: EKKA_MCAST_TEST_PORTS: %v\n", err)
			return 2
		}
		cfg.Ports = append(cfg.Ports, n)
	}
	m, err := New(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Register(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "helper: %v\n", err)
		return 1
	}
	fmt.Printf("ready %d\n", m.Port())
	io.Copy(io.Discard, os.Stdin)
	if err := m.Unregister(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "helper: %v\n", err)
		return 1
	}
	fmt.Printf("stats %+v\n", m.Stats())
	return 0
}

// helper is a running helper process.
type helper struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	port  int
}

// startHelper starts a helper responder for name and waits until it has
// registered.
func startHelper(t *testing.T, name, cluster, cookie string, ports []int) *helper {
	t.Helper()
	ps := make([]string, len(ports))
	for i, p := range ports {
		ps[i] = strconv.Itoa(p)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHelper+"="+name, "EKKA_MCAST_TEST_CLUSTER="+cluster,
		"EKKA_MCAST_TEST_COOKIE="+cookie, "EKKA_MCAST_TEST_PORTS="+strings.Join(ps, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{name: name, cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		h.stdin.Close()
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	line, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s: no ready line: %v", name, err)
	}
	if _, err := fmt.Sscanf(line, "ready %d\n", &h.port); err != nil {
		t.Fatalf("helper %s said %q; want \"ready PORT\"", name, line)
	}
	return h
}

// stop closes the helper's stdin and waits for it to exit cleanly; it
// returns the helper's last line (its Stats).
func (h *helper) stop(t *testing.T) string {
	t.Helper()
	h.stdin.Close()
	rest, _ := io.ReadAll(h.out)
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper %s: %v", h.name, err)
	}
	return strings.TrimSpace(string(rest))
}
