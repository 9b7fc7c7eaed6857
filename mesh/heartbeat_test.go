package mesh

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPingDue(t *testing.T) {
	const s = time.Second
	const first, second = "a@127.0.0.1", "b@127.0.0.1"
	for _, tc := range []struct {
		name                           string
		self, peer                     string
		sinceHeard, sinceBeat, timeout time.Duration
		want                           bool
	}{
		// Defaults (1 s / 5 s): the first end pings every other beat of an
		// idle link, the second only when the first has gone quiet.
		{"first end, pong of the previous beat's ping", first, second, s - 20*time.Millisecond, s, 5 * s, false},
		{"first end, this beat late, the pong was not", first, second, s + 15*time.Millisecond, s + 20*time.Millisecond, 5 * s, false},
		{"first end, nothing since the previous beat", first, second, 2*s - 20*time.Millisecond, s, 5 * s, true},
		{"first end, busy link", first, second, time.Millisecond, s, 5 * s, false},
		{"first end, first beat of a new link", first, second, s / 2, 2 * s, 5 * s, false},
		{"second end hears the first end's pings", second, first, 2*s - 20*time.Millisecond, s, 5 * s, false},
		{"second end after 2.5 quiet intervals", second, first, 2*s + s/2, s, 5 * s, true},
		// A timeout of 2 to 4 intervals: the first end pings every beat.
		{"first end, tighter timeout", first, second, time.Millisecond, s, 3 * s, true},
		{"second end, tighter timeout, fresh", second, first, s - 20*time.Millisecond, s, 3 * s, false},
		{"second end, tighter timeout, 1.5 quiet intervals", second, first, s + s/2, s, 3 * s, true},
		// Under two intervals there is no room to skip: both ends, every beat.
		{"first end, tight timeout", first, second, 0, s, s + s/2, true},
		{"second end, tight timeout", second, first, 0, s, s + s/2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, pingDue(tc.self, tc.peer, tc.sinceHeard, tc.sinceBeat, s, tc.timeout),
				"pingDue(%s, %s, heard %v ago, beat %v ago, interval 1s, timeout %v)",
				tc.self, tc.peer, tc.sinceHeard, tc.sinceBeat, tc.timeout)
		})
	}
}

// heartbeatEnd is one end of a simulated link.
type heartbeatEnd struct {
	name     string
	arrivals []time.Duration // when frames from the other end arrived
	lastBeat time.Duration   // -1 before the first beat
}

// lastHeard is the latest arrival at or before t (0: the link came up).
func (e *heartbeatEnd) lastHeard(t time.Duration) time.Duration {
	var last time.Duration
	for _, a := range e.arrivals {
		if a <= t {
			last = max(last, a)
		}
	}
	return last
}

// longestSilence is the longest time, over [0, until], between frames
// arriving at e.
func (e *heartbeatEnd) longestSilence(until time.Duration) time.Duration {
	arr := append(slices.Clone(e.arrivals), until)
	slices.Sort(arr)
	var prev, longest time.Duration
	for _, a := range arr {
		if a > until {
			break
		}
		longest = max(longest, a-prev)
		prev = a
	}
	return longest
}

// TestPingDueKeepsEveryEndHeard plays an idle link beat by beat under the
// rules of pingDue, each end's beat a little late by a random amount, for
// several timeouts, and checks that neither end ever goes a timeout without
// hearing the other, and how many pings it took.
func TestPingDueKeepsEveryEndHeard(t *testing.T) {
	const interval = time.Second
	const beats = 100
	for _, tc := range []struct {
		timeout    time.Duration
		rtt        time.Duration
		wantPings  int
		maxSilence time.Duration
	}{
		{5 * time.Second, 30 * time.Millisecond, 50, 2*interval + 200*time.Millisecond},
		{5 * time.Second, time.Millisecond, 50, 2*interval + 200*time.Millisecond},
		{3 * time.Second, 30 * time.Millisecond, 100, interval + 200*time.Millisecond},
		{1500 * time.Millisecond, 30 * time.Millisecond, 200, interval + 200*time.Millisecond},
	} {
		t.Run(fmt.Sprintf("timeout=%v/rtt=%v", tc.timeout, tc.rtt), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			a, b := &heartbeatEnd{name: "a@h", lastBeat: -1}, &heartbeatEnd{name: "b@h", lastBeat: -1}
			pings := 0
			for k := 1; k <= beats; k++ {
				beat := time.Duration(k) * interval
				// Each end's pass comes up to 100 ms late, in either order.
				ends := []*heartbeatEnd{a, b}
				at := map[*heartbeatEnd]time.Duration{
					a: beat + time.Duration(rng.Int64N(int64(100*time.Millisecond))),
					b: beat + time.Duration(rng.Int64N(int64(100*time.Millisecond))),
				}
				slices.SortFunc(ends, func(x, y *heartbeatEnd) int { return cmp.Compare(at[x], at[y]) })
				for _, e := range ends {
					other := a
					if e == a {
						other = b
					}
					now := at[e]
					sinceBeat := 2 * interval
					if e.lastBeat >= 0 {
						sinceBeat = min(now-e.lastBeat, sinceBeat)
					}
					e.lastBeat = now
					if pingDue(e.name, other.name, now-e.lastHeard(now), sinceBeat, interval, tc.timeout) {
						pings++
						other.arrivals = append(other.arrivals, now+tc.rtt/2) // the ping
						e.arrivals = append(e.arrivals, now+tc.rtt)           // its pong
					}
				}
			}
			end := time.Duration(beats) * interval
			for _, e := range []*heartbeatEnd{a, b} {
				s := e.longestSilence(end)
				assert.False(t, s >= tc.timeout || s > tc.maxSilence,
					"%s went %v without hearing the other end; want under %v (the timeout is %v)",
					e.name, s, tc.maxSilence, tc.timeout)
			}
			assert.Equal(t, tc.wantPings, pings, "%d pings in %d beats, want %d", pings, beats, tc.wantPings)
		})
	}
}

func TestNextBeatAfter(t *testing.T) {
	base := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now      time.Duration // after base
		interval time.Duration
		want     time.Duration // after base
	}{
		{0, time.Second, time.Second},
		{300 * time.Millisecond, time.Second, time.Second},
		{999 * time.Millisecond, time.Second, 2 * time.Second}, // woke a hair before a multiple
		{1000 * time.Millisecond, time.Second, 2 * time.Second},
		{1001 * time.Millisecond, time.Second, 2 * time.Second},
		{1040 * time.Millisecond, 100 * time.Millisecond, 1100 * time.Millisecond},
		{1080 * time.Millisecond, 100 * time.Millisecond, 1100 * time.Millisecond}, // a late wake keeps the next beat
		{1095 * time.Millisecond, 100 * time.Millisecond, 1200 * time.Millisecond},
	} {
		now := base.Add(tc.now)
		got := nextBeatAfter(now, tc.interval)
		assert.True(t, got.Equal(base.Add(tc.want)), "nextBeatAfter(base+%v, %v) = base+%v, want base+%v", tc.now, tc.interval, got.Sub(base), tc.want)
	}
	// Two nodes' clocks that agree give the same beats, whenever each asks.
	a := nextBeatAfter(base.Add(1234*time.Millisecond), time.Second)
	b := nextBeatAfter(base.Add(1456*time.Millisecond), time.Second)
	assert.True(t, a.Equal(b), "beats differ: %v and %v", a, b)
}

// TestEachEndSeesABlackholeWhicheverPings blackholes each direction of a
// link in turn: the end that stops hearing must see its peer down through
// the heartbeat timeout, whether it is the end that pings or the one that
// answers.
func TestEachEndSeesABlackholeWhicheverPings(t *testing.T) {
	fn := faultnet.New()
	defer fn.Close()
	const first, second = "hb1@127.0.0.1", "hb2@127.0.0.1" // first pings, second answers
	var mu sync.Mutex
	addrs := map[string]string{}
	resolve := func(node string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := addrs[node]; ok {
			return a, nil
		}
		return "", fmt.Errorf("no node %s in this test", node)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := map[string]*Node{}
	for _, name := range []string{first, second} {
		cfg := DefaultConfig()
		cfg.Name, cfg.Cookie, cfg.ListenAddr = name, "hb-cookie", "127.0.0.1:0"
		cfg.HeartbeatInterval, cfg.HeartbeatTimeout = 50*time.Millisecond, 300*time.Millisecond
		cfg.HandshakeTimeout = time.Second
		cfg.Redial = Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond, Factor: 2, Jitter: 0.3}
		cfg.Resolve, cfg.Dial = resolve, fn.Dialer(name)
		nd, err := Start(ctx, cfg)
		require.NoError(t, err)
		defer nd.Stop(context.Background())
		nodes[name] = nd
		mu.Lock()
		addrs[name] = nd.Addr().String()
		mu.Unlock()
		fn.Register(name, nd.Addr().String())
	}
	require.NoError(t, nodes[first].Join(ctx, second))
	for _, dir := range []struct{ silent, observer string }{{first, second}, {second, first}} {
		waitLinked(t, ctx, nodes[first], second)
		waitLinked(t, ctx, nodes[second], first)
		sub := nodes[dir.observer].Subscribe()
		fn.Blackhole(dir.silent, dir.observer)
		ev := waitDown(t, sub, dir.silent, 10*time.Second)
		sub.Close()
		assert.Contains(t, ev.Reason, "heartbeat", "%s saw %s down for %q, want the heartbeat timeout", dir.observer, dir.silent, ev.Reason)
		fn.HealAll()
	}
}

// waitLinked waits until nd sees peer running.
func waitLinked(t *testing.T, ctx context.Context, nd *Node, peer string) {
	t.Helper()
	for {
		for _, r := range nd.Info().RunningNodes {
			if r == peer {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never saw %s running: %v", nd.Name(), peer, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitDown returns the next node-down event of node on s.
func waitDown(t *testing.T, s *Subscription, node string, bound time.Duration) Event {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		select {
		case ev := <-s.C():
			if ev.Kind == EventNodeDown && ev.Node == node {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no node-down event for %s within %v", node, bound)
		}
	}
}
