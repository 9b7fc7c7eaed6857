//go:build linux

package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// The cost of an idle cluster: what heartbeats and housekeeping cost when
// nothing else happens, and how long a blackholed peer takes to be noticed
// with the default heartbeat settings (lowering the first must not raise
// the second).
//
//	go test -run '^$' -bench 'IdleCluster40' ./bench/                       # 10 s window
//	go test -run '^$' -bench 'IdleCluster40' -benchtime 1x ./bench/          # 1 s window
//	go test -run '^$' -bench 'IdleCluster40' ./bench/ -idle.window 30s       # any window
//	go test -run '^$' -bench 'IdleCluster40' ./bench/ -idle.set cluster.autoheal=off
//	go test -run '^$' -bench 'DetectBlackholeDefaults' -benchtime 3x ./bench/

// idleWindow overrides the CPU sampling window of BenchmarkIdleCluster40.
var idleWindow = flag.Duration("idle.window", 0,
	"CPU sampling window of BenchmarkIdleCluster40 (default 10s, or 1s with -benchtime=1x)")

// idleSets are extra `--set KEY=VALUE` settings for every node of
// BenchmarkIdleCluster40, to see what a setting costs, for example
// -idle.set cluster.autoheal=off -idle.set node.heartbeat_interval=2s.
var idleSets settingsFlag

func init() {
	flag.Var(&idleSets, "idle.set", "a KEY=VALUE setting passed with --set to every node of BenchmarkIdleCluster40 (repeatable)")
}

// settingsFlag collects the values of a repeated flag.
type settingsFlag []string

func (f *settingsFlag) String() string { return strings.Join(*f, " ") }

func (f *settingsFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*f = append(*f, v)
	return nil
}

const (
	idleNodes  = 40
	idleCookie = "idle-bench-cookie"
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
	// 100 on every Linux architecture Go supports.
	clockTicks = 100
)

// BenchmarkIdleCluster40 starts 40 `ekka-mesh run` processes of the real
// binary on 127.0.0.1 (static discovery, every node a seed, default
// heartbeats), waits until every node sees 40 running members, then sums
// the CPU time (utime+stime from /proc/<pid>/stat) every process spends
// over a window in which nothing happens but the mesh's own upkeep.
//
// Metrics: cpu-%-of-one-core is the total over the 40 processes (100 is one
// core busy all the time), cpu-%-per-node the same divided by 40,
// s-to-form the time from the first start until every node saw all 40
// running, window-s the sampling window: 10 s, or 1 s with -benchtime=1x
// (a smoke run: /proc counts in 10 ms ticks, so a 1 s window is coarse),
// or what -idle.window says. Sampling starts 3 s after formation (1 s for
// a window under 3 s). Each b.N iteration samples one window on the same
// cluster; ns/op is about the window.
//
// It skips when 40 consecutive ports of 127.0.0.1 below the ephemeral range
// cannot be found free.
func BenchmarkIdleCluster40(b *testing.B) {
	window := idleSampleWindow()
	names := make([]string, idleNodes)
	for i := range names {
		names[i] = fmt.Sprintf("idle%d@127.0.0.1", i+1) // port base+i+1
	}
	base, err := testnet.FindFreeBase(names...)
	if err != nil {
		b.Skipf("the benchmark needs %d free ports of 127.0.0.1 below the ephemeral range: %v", idleNodes, err)
	}
	bin := buildEkkaMesh(b)
	logDir := b.TempDir()
	t0 := time.Now()
	procs := make([]*idleProc, 0, idleNodes)
	b.Cleanup(func() { stopIdleProcs(b, procs) })
	for _, name := range names {
		p, err := startIdleProc(bin, logDir, name, base, names)
		if err != nil {
			b.Fatal(err)
		}
		procs = append(procs, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := waitAllRunning(ctx, procs, base); err != nil {
		b.Fatal(err)
	}
	formed := time.Since(t0)
	// Formation leaves work behind (the last handshakes' garbage, the
	// autocluster loops' final passes): let it pass before sampling.
	settle := time.NewTimer(idleSettle(window))
	<-settle.C

	b.ResetTimer()
	var ticks int64
	var elapsed time.Duration
	for range b.N {
		before, err := cpuTicks(procs)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		timer := time.NewTimer(window)
		<-timer.C
		after, err := cpuTicks(procs)
		if err != nil {
			b.Fatal(err)
		}
		if p := firstExited(procs); p != nil {
			b.Fatalf("%s exited during the idle window; its log:\n%s", p.name, p.logTail())
		}
		elapsed += time.Since(start)
		ticks += after - before
	}
	b.StopTimer()

	// The cluster must still be whole: an idle window spent flapping links
	// would measure something else.
	if err := waitAllRunning(ctx, procs, base); err != nil {
		b.Fatalf("after the idle window: %v", err)
	}
	cpuPct := float64(ticks) / clockTicks / elapsed.Seconds() * 100
	b.ReportMetric(cpuPct, "cpu-%-of-one-core")
	b.ReportMetric(cpuPct/idleNodes, "cpu-%-per-node")
	b.ReportMetric(formed.Seconds(), "s-to-form")
	b.ReportMetric(window.Seconds(), "window-s")
}

// BenchmarkDetectBlackholeDefaults: the time from a blackhole (the peer's
// bytes vanish: no FIN, no RST) to the observer's node-down event, with the
// default heartbeat settings (mesh.DefaultConfig: a 1 s interval, a 5 s
// timeout). Two nodes in this process on meshtest's fault-injection
// network. The sub-benchmarks blackhole each direction in turn, because a
// link's two ends need not ping alike: each observer must still notice
// within about the timeout. Metrics: s-mean and s-worst per detection.
func BenchmarkDetectBlackholeDefaults(b *testing.B) {
	def := mesh.DefaultConfig()
	for _, dir := range []struct {
		name           string
		peer, observer int
	}{
		{"observer=n1", 1, 0},
		{"observer=n2", 0, 1},
	} {
		b.Run(dir.name, func(b *testing.B) {
			c := meshtest.Formed(b, 2, func(_ int, cfg *mesh.Config) {
				cfg.HeartbeatInterval = def.HeartbeatInterval
				cfg.HeartbeatTimeout = def.HeartbeatTimeout
			})
			s := c.Node(dir.observer).Subscribe()
			defer s.Close()
			var total, worst time.Duration
			b.ResetTimer()
			for range b.N {
				c.Blackhole(dir.peer, dir.observer)
				t0 := time.Now()
				dt, err := nodeDownAfter(s, c.Name(dir.peer), t0, 3*def.HeartbeatTimeout)
				if err != nil {
					b.Fatal(err)
				}
				total += dt
				worst = max(worst, dt)
				b.StopTimer()
				c.HealAll()
				if err := rejoinAll(c); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(0, "ns/op") // it counts the heal and rejoin of every round
			b.ReportMetric(total.Seconds()/float64(b.N), "s-mean")
			b.ReportMetric(worst.Seconds(), "s-worst")
			b.ReportMetric(def.HeartbeatTimeout.Seconds(), "s-timeout")
		})
	}
}

// nodeDownAfter waits for the node-down event of node and returns how long
// after t0 it came.
func nodeDownAfter(s *mesh.Subscription, node string, t0 time.Time, bound time.Duration) (time.Duration, error) {
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.C():
			if !ok {
				return 0, errors.New("the subscription closed before the node-down event")
			}
			if ev.Kind == mesh.EventNodeDown && ev.Node == node && !ev.Time.Before(t0) {
				return ev.Time.Sub(t0), nil
			}
		case <-timer.C:
			return 0, fmt.Errorf("no node-down event for the blackholed %s within %v", node, bound)
		}
	}
}

// rejoinAll waits until the cluster runs together again after a heal and
// clears the partitions it recorded, ready for the next round.
func rejoinAll(c *meshtest.Cluster) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := make([]int, c.Len())
	for i := range all {
		all[i] = i
	}
	if err := c.WaitRunning(ctx, all...); err != nil {
		return err
	}
	for _, i := range all {
		for _, p := range c.Node(i).Info().Partitions {
			c.Node(i).ClearPartition(p)
		}
	}
	return nil
}

// idleSampleWindow is -idle.window if given, else 1 s under -benchtime=1x
// and 10 s otherwise.
func idleSampleWindow() time.Duration {
	if *idleWindow > 0 {
		return *idleWindow
	}
	if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() == "1x" {
		return time.Second
	}
	return 10 * time.Second
}

// idleSettle is how long the cluster rests between formation and the first
// window: 3 s, or 1 s for windows under 3 s (a smoke run).
func idleSettle(window time.Duration) time.Duration {
	if window < 3*time.Second {
		return time.Second
	}
	return 3 * time.Second
}

// buildEkkaMesh builds the node binary once per benchmark into a temporary
// directory.
func buildEkkaMesh(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "ekka-mesh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ekka-mesh/ekka-mesh/cmd/ekka-mesh").CombinedOutput()
	if err != nil {
		b.Fatalf("go build ./cmd/ekka-mesh: %v\n%s", err, out)
	}
	return bin
}

// idleProc is one `ekka-mesh run` process of the idle cluster.
type idleProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited and been reaped
}

func startIdleProc(bin, logDir, name string, base int, seeds []string) (*idleProc, error) {
	short, _, _ := strings.Cut(name, "@")
	logPath := filepath.Join(logDir, short+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	args := []string{"run",
		"--name", name, "--cookie", idleCookie, "--base-port", strconv.Itoa(base),
		"--log-level", "warn",
		"--set", "cluster.discovery=static",
		"--set", "cluster.static.seeds=" + strings.Join(seeds, ",")}
	for _, kv := range idleSets {
		args = append(args, "--set", kv)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &idleProc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status matters less than the log, read on failure
		close(p.done)
	}()
	return p, nil
}

// logTail is the end of the process's log, for failure messages.
func (p *idleProc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// firstExited returns a process of procs that has exited, or nil.
func firstExited(procs []*idleProc) *idleProc {
	for _, p := range procs {
		select {
		case <-p.done:
			return p
		default:
		}
	}
	return nil
}

// stopIdleProcs sends SIGTERM to every process, waits up to 10 s for them
// all, then sends SIGKILL to the ones left and waits for those.
func stopIdleProcs(b *testing.B, procs []*idleProc) {
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	var killed []string
	for _, p := range procs {
		select {
		case <-p.done:
			continue
		case <-deadline.C:
		}
		// The deadline passed: kill every process still running.
		for _, q := range procs {
			select {
			case <-q.done:
			default:
				_ = q.cmd.Process.Kill()
				killed = append(killed, q.name)
			}
		}
		break
	}
	for _, p := range procs {
		<-p.done
	}
	if len(killed) > 0 {
		b.Errorf("%d nodes ignored SIGTERM for 10 s and were killed: %s", len(killed), strings.Join(killed, ", "))
	}
}

// waitAllRunning asks every node, through a hidden client, until each
// reports all nodes running, or ctx ends. The clients are closed before it
// returns so that they cost nothing during the idle window.
func waitAllRunning(ctx context.Context, procs []*idleProc, base int) error {
	want := len(procs)
	pending := make(map[string]string, want) // node -> what it last said
	for _, p := range procs {
		pending[p.name] = "not asked yet"
	}
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	for {
		if p := firstExited(procs); p != nil {
			return fmt.Errorf("%s exited; its log:\n%s", p.name, p.logTail())
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for node := range pending {
			wg.Go(func() {
				why := askRunning(ctx, node, base, want)
				mu.Lock()
				defer mu.Unlock()
				if why == "" {
					delete(pending, node)
				} else {
					pending[node] = why
				}
			})
		}
		wg.Wait()
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-poll.C:
		case <-ctx.Done():
			var buf bytes.Buffer
			for node, why := range pending {
				fmt.Fprintf(&buf, "\n  %s: %s", node, why)
			}
			return fmt.Errorf("%d of %d nodes did not see all %d running before %v:%s",
				len(pending), want, want, ctx.Err(), buf.String())
		}
	}
}

// askRunning returns "" when node sees want nodes running, else what it saw.
func askRunning(ctx context.Context, node string, base, want int) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: idleCookie, BasePort: base}, node)
	if err != nil {
		return err.Error()
	}
	defer cl.Close()
	info, err := cl.Info(ctx)
	if err != nil {
		return err.Error()
	}
	if len(info.RunningNodes) != want {
		return fmt.Sprintf("%d running", len(info.RunningNodes))
	}
	return ""
}

// cpuTicks sums utime+stime of every process, in clock ticks.
func cpuTicks(procs []*idleProc) (int64, error) {
	var sum int64
	for _, p := range procs {
		t, err := procCPUTicks(p.cmd.Process.Pid)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p.name, err)
		}
		sum += t
	}
	return sum, nil
}

// procCPUTicks reads utime+stime (fields 14 and 15) of /proc/<pid>/stat: the
// CPU time of all the process's threads. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func procCPUTicks(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no ')' after the command name in %q", path, b)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name, want at least 13", path, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%s: utime/stime: %w", path, err)
	}
	return utime + stime, nil
}
