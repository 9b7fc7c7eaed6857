package attack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The bounds every attack is held to. They are what a user of a node
// under attack must still see; the node's own defaults (byte budgets,
// connection caps) are chosen by the packages, these only say what the
// outcome must be.
const (
	// RSSBound: the victim's resident memory. An idle node holds about
	// 20 MiB; one legitimate 256 MiB message may be in flight at a time,
	// but no attack may push the node past what two such messages cost.
	RSSBound = 512 << 20
	// FDBound: the victim's open descriptors. Three members, a library
	// node, a few hidden clients and the 1,000 idle connections of
	// TestAttackIdleConnections fit; the 20,000 a redial storm or a flood
	// of incomplete lanes reached do not.
	FDBound = 2000
	// PingMedianBound: the median round trip of a good client's ping (a
	// hidden client calling the built-in pong method, every 100 ms).
	PingMedianBound = 100 * time.Millisecond
	// PingTimeout: a ping not answered within it counts as lost, and a
	// lost ping fails the test: the node must keep answering.
	PingTimeout = 2 * time.Second
	// CallTimeout bounds each call the library node keeps in flight on its
	// links (to the victim, to n2, and through the victim to n3); every
	// one must succeed.
	CallTimeout = 5 * time.Second
	// sampleEvery is the watcher's period.
	sampleEvery = 100 * time.Millisecond
	// killRSS: above it the watcher kills the victim at once, so that a
	// node without a bound cannot take the machine the suite runs on
	// with it. The test has failed by then anyway.
	killRSS = 1 << 30
)

// watcher samples the victim while an attack runs: its RSS and descriptors
// from /proc, a good client's ping, the library node's calls and events,
// and the node-down lines in every process's log.
type watcher struct {
	c      *cluster
	victim *proc
	good   *mesh.Client
	lib    *mesh.Node
	sub    *mesh.Subscription
	// breach cancels the attack once a bound is crossed: going on would
	// only load the machine.
	breach context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	start  time.Time
	logAt  map[string]int // each process's log length when the watch began

	mu        sync.Mutex
	samples   int
	maxRSS    int64
	maxFDs    int
	rtts      []time.Duration
	pingErrs  []string
	calls     int
	callErrs  []string
	libDowns  []string
	breaches  []string
	procErrs  []string
	stoppedAt time.Time
}

// watch starts watching; the attack's context is cancelled when a bound
// is crossed. good is a hidden client connected to the victim before the
// attack; lib is the library node.
func (c *cluster) watch(lib *mesh.Node, good *mesh.Client, cancelAttack context.CancelFunc) *watcher {
	w := &watcher{
		c: c, victim: c.procs[victim], good: good, lib: lib, sub: lib.Subscribe(),
		breach: cancelAttack, stop: make(chan struct{}), start: time.Now(), logAt: map[string]int{},
	}
	for name, p := range c.procs {
		w.logAt[name] = p.out.Len()
	}
	w.wg.Add(3)
	go w.sample()
	go w.ping()
	go w.events()
	calls := []struct {
		what string
		do   func(ctx context.Context) error
	}{
		{"lib9 -> n1 pong", func(ctx context.Context) error { _, err := lib.Call(ctx, n1, mesh.MethodPong, nil); return err }},
		{"lib9 -> n2 pong", func(ctx context.Context) error { _, err := lib.Call(ctx, n2, mesh.MethodPong, nil); return err }},
		{"lib9 -> n1 -> n3 pong", func(ctx context.Context) error {
			b, _ := jsonRequest(mesh.AdminRequest{Node: n3, Method: mesh.MethodPong})
			_, err := lib.Call(ctx, n1, mesh.MethodCall, b)
			return err
		}},
	}
	for _, cl := range calls {
		w.wg.Add(1)
		go w.callLoop(cl.what, cl.do)
	}
	c.t.Cleanup(w.finish)
	return w
}

func (w *watcher) every(f func()) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		f()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

func (w *watcher) crossed(format string, a ...any) {
	w.mu.Lock()
	w.breaches = append(w.breaches, fmt.Sprintf("after %v: ", time.Since(w.start).Round(time.Millisecond))+fmt.Sprintf(format, a...))
	w.mu.Unlock()
	w.breach()
}

func (w *watcher) sample() {
	defer w.wg.Done()
	pid := w.victim.pid()
	w.every(func() {
		if w.victim.exited() {
			w.mu.Lock()
			if len(w.procErrs) == 0 {
				w.procErrs = append(w.procErrs, fmt.Sprintf("the victim exited (status %d) %v into the watch", w.victim.code, time.Since(w.start).Round(time.Millisecond)))
			}
			w.mu.Unlock()
			w.breach()
			return
		}
		rss, rerr := readRSS(pid)
		fds, ferr := countFDs(pid)
		if rerr != nil || ferr != nil {
			return // the process is going away; exited() says so next time
		}
		w.mu.Lock()
		w.samples++
		prevRSS, prevFDs := w.maxRSS, w.maxFDs
		w.maxRSS = max(w.maxRSS, rss)
		w.maxFDs = max(w.maxFDs, fds)
		w.mu.Unlock()
		if rss >= RSSBound && prevRSS < RSSBound {
			w.crossed("victim RSS %d MiB, bound %d MiB", rss>>20, RSSBound>>20)
		}
		if fds >= FDBound && prevFDs < FDBound {
			w.crossed("victim holds %d descriptors, bound %d", fds, FDBound)
		}
		if rss >= killRSS {
			w.victim.kill()
		}
	})
}

func (w *watcher) ping() {
	defer w.wg.Done()
	w.every(func() {
		ctx, cancel := context.WithTimeout(context.Background(), PingTimeout)
		defer cancel()
		t0 := time.Now()
		_, err := w.good.Call(ctx, mesh.MethodPong, nil)
		rtt := time.Since(t0)
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if len(w.pingErrs) < 5 {
				w.pingErrs = append(w.pingErrs, fmt.Sprintf("after %v: %v", t0.Sub(w.start).Round(time.Millisecond), err))
			} else {
				w.pingErrs = append(w.pingErrs, "")
			}
			rtt = PingTimeout
		}
		w.rtts = append(w.rtts, rtt)
	})
}

func (w *watcher) callLoop(what string, do func(ctx context.Context) error) {
	defer w.wg.Done()
	w.every(func() {
		ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
		defer cancel()
		t0 := time.Now()
		err := do(ctx)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.calls++
		if err != nil {
			w.callErrs = append(w.callErrs, fmt.Sprintf("%s after %v: %v", what, t0.Sub(w.start).Round(time.Millisecond), err))
		}
	})
}

func (w *watcher) events() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case ev := <-w.sub.C():
			if ev.Kind == mesh.EventNodeDown && slices.Contains([]string{n1, n2, n3}, ev.Node) {
				w.mu.Lock()
				w.libDowns = append(w.libDowns, fmt.Sprintf("lib9 saw %s go down after %v: %s", ev.Node, ev.Time.Sub(w.start).Round(time.Millisecond), ev.Reason))
				w.mu.Unlock()
			}
		}
	}
}

// finish stops the watch (idempotent).
func (w *watcher) finish() {
	w.mu.Lock()
	if !w.stoppedAt.IsZero() {
		w.mu.Unlock()
		return
	}
	w.stoppedAt = time.Now()
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
	w.sub.Close()
}

// pingStats returns the median and the largest round trip and how many
// pings were lost.
func (w *watcher) pingStats() (median, worst time.Duration, n, lost int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := slices.Clone(w.rtts)
	slices.Sort(r)
	if len(r) == 0 {
		return 0, 0, 0, 0
	}
	return r[len(r)/2], r[len(r)-1], len(r), len(w.pingErrs)
}

// check stops the watch and asserts every bound: RSS, descriptors, the
// good client's ping, the library node's calls and events, and no member
// (n1, n2, n3, lib9) seen going down in any process's log.
func (w *watcher) check(t *testing.T) {
	t.Helper()
	w.finish()
	median, worst, n, lost := w.pingStats()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("watched %v: victim RSS max %.1f MiB (bound %d MiB), descriptors max %d (bound %d), %d samples; "+
		"good client's ping: %d sent, median %v (bound %v), max %v, %d lost; library node: %d calls, %d failed",
		w.stoppedAt.Sub(w.start).Round(time.Millisecond), float64(w.maxRSS)/(1<<20), RSSBound>>20, w.maxFDs, FDBound, w.samples,
		n, median.Round(10*time.Microsecond), PingMedianBound, worst.Round(10*time.Microsecond), lost, w.calls, len(w.callErrs))
	for _, e := range w.procErrs {
		t.Error(e)
	}
	for _, b := range w.breaches {
		t.Errorf("bound crossed, attack stopped: %s", b)
	}
	if w.maxRSS >= RSSBound {
		t.Errorf("victim RSS reached %d MiB, want < %d MiB", w.maxRSS>>20, RSSBound>>20)
	}
	if w.maxFDs >= FDBound {
		t.Errorf("victim held %d descriptors, want < %d", w.maxFDs, FDBound)
	}
	if w.samples == 0 {
		t.Errorf("no sample of the victim's RSS and descriptors was taken")
	}
	if n == 0 {
		t.Errorf("the good client sent no ping")
	} else if median >= PingMedianBound {
		t.Errorf("good client's ping median %v, want < %v", median, PingMedianBound)
	}
	if lost > 0 {
		shown := slices.DeleteFunc(slices.Clone(w.pingErrs), func(s string) bool { return s == "" })
		t.Errorf("%d of %d pings lost (no pong within %v); first: %s", lost, n, PingTimeout, strings.Join(shown, "; "))
	}
	if w.calls == 0 {
		t.Errorf("the library node made no call")
	}
	if len(w.callErrs) > 0 {
		t.Errorf("%d of the library node's %d calls failed; first: %s", len(w.callErrs), w.calls, strings.Join(w.callErrs[:min(5, len(w.callErrs))], "; "))
	}
	for _, d := range w.libDowns {
		t.Error(d)
	}
	for name, p := range w.c.procs {
		if d := downEvents(p.out.String(), w.logAt[name], n1, n2, n3, libName); len(d) > 0 {
			t.Errorf("%s logged a member going down during the attack: %s", name, strings.Join(d[:min(3, len(d))], "\n"))
		}
	}
}

// readRSS returns VmRSS of pid in bytes.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// countFDs counts pid's open descriptors.
func countFDs(pid int) (int, error) {
	d, err := os.Open("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err
}
