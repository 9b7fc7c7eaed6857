//go:build unix

package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery/static"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The benchmarks run nodes in this process. Throughput and latency are
// measured on direct loopback links (no fault-injection proxy, which would
// add a hop); the detection benchmarks that need faults use meshtest.
//
//	go test -run '^$' -bench 'Call|Cast|Multicall' -benchtime 2s ./mesh/
//	go test -run '^$' -bench 'Detect|FormMesh' -benchtime 3x ./mesh/

// runInflight runs b.N calls of call from inflight goroutines at once and
// reports the rate.
func runInflight(b *testing.B, inflight int, unit string, call func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for range inflight {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if !assert.NoError(b, call()) {
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), unit)
}

// BenchmarkCall: 64-byte echo calls between two nodes, with 1, 16 and 64
// calls in flight. ns/op is the latency at inflight=1 and the inverse of
// the throughput above; allocs count both ends.
func BenchmarkCall(b *testing.B) {
	for _, inflight := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			d := meshtest.Formed(b, 2, meshtest.DirectLinks)
			require.NoError(b, d.Node(1).Handle("echo", echo))
			a, peer := d.Node(0), d.Name(1)
			payload := make([]byte, 64)
			ctx := context.Background()
			runInflight(b, inflight, "calls/s", func() error {
				reply, err := a.Call(ctx, peer, "echo", payload)
				if err == nil && len(reply) != len(payload) {
					err = fmt.Errorf("reply of %d bytes, want %d", len(reply), len(payload))
				}
				return err
			})
		})
	}
}

// BenchmarkCast: one-way 64-byte casts from one node to another; the clock
// stops when the receiver has handled them all.
func BenchmarkCast(b *testing.B) {
	d := meshtest.Formed(b, 2, meshtest.DirectLinks)
	var got atomic.Int64
	all := make(chan struct{})
	want := int64(b.N)
	require.NoError(b, d.Node(1).Handle("count", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		if got.Add(1) == want {
			close(all)
		}
		return nil, nil
	}))
	a, peer := d.Node(0), d.Name(1)
	payload := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		require.NoError(b, a.Cast(peer, "count", payload))
	}
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d casts handled after a minute", got.Load(), b.N)
	}
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "casts/s")
}

// BenchmarkMulticall: a 64-byte echo multicall to every node (the caller
// included) of a 3- and a 5-node cluster.
func BenchmarkMulticall(b *testing.B) {
	for _, n := range []int{3, 5} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			d := meshtest.Formed(b, n, meshtest.DirectLinks)
			for i := range n {
				require.NoError(b, d.Node(i).Handle("echo", echo))
			}
			a, nodes := d.Node(0), d.Names()
			payload := make([]byte, 64)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				res := a.Multicall(ctx, nodes, "echo", payload)
				require.Empty(b, res.Failed, "multicall failed on %v: %v", res.Failed, res.Errors)
			}
		})
	}
}

// downAfter waits for the event that says node went down at or after t0
// and returns how long after t0 the observer saw it.
func downAfter(b *testing.B, s *mesh.Subscription, node string, t0 time.Time) time.Duration {
	b.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-s.C():
			require.True(b, ok, "subscription closed")
			if ev.Kind == mesh.EventNodeDown && ev.Node == node && !ev.Time.Before(t0) {
				return ev.Time.Sub(t0)
			}
		case <-timeout:
			b.Fatalf("%s not seen down within 30s", node)
		}
	}
}

// reportDetect reports the mean detection time and hides ns/op, which
// counts the setup of every round as well.
func reportDetect(b *testing.B, total time.Duration, worst time.Duration) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "ms/detect")
	b.ReportMetric(float64(worst.Microseconds())/1e3, "ms-worst")
}

// BenchmarkDetectCrash: the time from a peer going away to the observer's
// node-down event.
//
//   - stop: the peer's node stops (mesh Stop): a clean goodbye. Direct links.
//   - crash-fin: the network closes both ends (as the kernel does for a
//     process that dies): EOF, no goodbye. meshtest Cut.
//   - crash-rst: the connections are reset (RST). meshtest Reset.
func BenchmarkDetectCrash(b *testing.B) {
	b.Run("stop", func(b *testing.B) {
		var total, worst time.Duration
		for range b.N {
			d := meshtest.Formed(b, 2, meshtest.DirectLinks)
			s := d.Node(0).Subscribe()
			t0 := time.Now()
			require.NoError(b, d.Kill(context.Background(), 1))
			dt := downAfter(b, s, d.Name(1), t0)
			total += dt
			worst = max(worst, dt)
			s.Close()
			require.NoError(b, d.Stop(context.Background()))
		}
		reportDetect(b, total, worst)
	})
	for _, how := range []string{"crash-fin", "crash-rst"} {
		b.Run(how, func(b *testing.B) {
			c := meshtest.Formed(b, 2, nil)
			s := c.Node(0).Subscribe()
			defer s.Close()
			var total, worst time.Duration
			for range b.N {
				t0 := time.Now()
				if how == "crash-fin" {
					c.Cut(0, 1)
				} else {
					c.Reset(0, 1)
				}
				dt := downAfter(b, s, c.Name(1), t0)
				total += dt
				worst = max(worst, dt)
				c.HealAll()
				rejoin(b, c)
				quietEvents(s, 50*time.Millisecond)
			}
			reportDetect(b, total, worst)
		})
	}
}

// BenchmarkDetectBlackhole: the time from a blackhole (the peer's bytes
// vanish, no FIN, no RST) to the observer's node-down event, with
// heartbeats every 100 ms and a 600 ms timeout.
func BenchmarkDetectBlackhole(b *testing.B) {
	const interval, timeout = 100 * time.Millisecond, 600 * time.Millisecond
	c := meshtest.Formed(b, 2, func(i int, cfg *mesh.Config) {
		cfg.HeartbeatInterval = interval
		cfg.HeartbeatTimeout = timeout
	})
	s := c.Node(0).Subscribe()
	defer s.Close()
	var total, worst time.Duration
	for range b.N {
		c.Blackhole(1, 0)
		t0 := time.Now()
		dt := downAfter(b, s, c.Name(1), t0)
		total += dt
		worst = max(worst, dt)
		c.HealAll()
		rejoin(b, c)
		quietEvents(s, 50*time.Millisecond)
	}
	reportDetect(b, total, worst)
	b.ReportMetric(float64(timeout.Milliseconds()), "ms-timeout")
}

// rejoin waits until the cluster runs together again after a fault and
// forgets the partitions it recorded, ready for the next round.
func rejoin(b *testing.B, c *meshtest.Cluster) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(b, c.WaitRunning(ctx))
	for i := range c.Len() {
		for _, p := range c.Node(i).Info().Partitions {
			c.Node(i).ClearPartition(p)
		}
	}
}

// BenchmarkFormMesh: n nodes in this process start at once with a static
// seed list of every name and no Join call; the clock runs from the first
// start until every node sees all n running (a full mesh of n(n-1)/2 links,
// three TCP connections each). Direct links.
func BenchmarkFormMesh(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			// Both ends of three connections per link, plus listeners and
			// links dropped as duplicates on the way.
			raiseFDLimit(b, uint64(n*(n-1)*3*2+4096))
			var names []string
			for i := range n {
				names = append(names, meshtest.Name(i))
			}
			var total, worst time.Duration
			for range b.N {
				d, err := meshtest.Reserve(n, func(i int, cfg *mesh.Config) {
					meshtest.DirectLinks(i, cfg)
					s, err := static.New(names)
					require.NoError(b, err)
					cfg.Discovery = s
					cfg.AutoclusterInterval = 100 * time.Millisecond
					cfg.HeartbeatInterval = time.Second
					cfg.HeartbeatTimeout = 5 * time.Second
					cfg.HandshakeTimeout = 5 * time.Second
				})
				require.NoError(b, err)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				t0 := time.Now()
				for i := range n {
					if err = d.StartNode(ctx, i); err != nil {
						break
					}
				}
				if err == nil {
					err = d.WaitRunning(ctx)
				}
				dt := time.Since(t0)
				cancel()
				require.NoError(b, errors.Join(err, d.Stop(context.Background())))
				total += dt
				worst = max(worst, dt)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/form")
			b.ReportMetric(float64(worst.Milliseconds()), "ms-worst")
			b.ReportMetric(float64(n*(n-1)/2), "links")
		})
	}
}

// raiseFDLimit raises the soft limit on open files to need (at most the
// hard limit) and restores it when b ends.
func raiseFDLimit(b *testing.B, need uint64) {
	b.Helper()
	var lim syscall.Rlimit
	require.NoError(b, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim), "getrlimit")
	if lim.Cur >= need {
		return
	}
	old := lim
	lim.Cur = min(need, lim.Max)
	require.NoError(b, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim), "setrlimit %d", lim.Cur)
	if lim.Cur < need {
		b.Logf("open files limited to %d (hard limit), want %d", lim.Cur, need)
	}
	b.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// BenchmarkServiceRequest: a service message and its answer, on the control
// lane, beside BenchmarkCall's call and reply on the data lane.
func BenchmarkServiceRequest(b *testing.B) {
	d := meshtest.Formed(b, 2, meshtest.DirectLinks)
	require.NoError(b, d.Node(1).HandleMessage(wire.TypeLockRelease, "svc", func(context.Context, string, wire.Type, []byte) (wire.Type, []byte, error) {
		return wire.TypeLockReleased, (&wire.LockReleased{}).Append(nil), nil
	}))
	a, peer := d.Node(0), d.Name(1)
	body := (&wire.LockRelease{Locker: []byte("svc"), Resource: []byte("r"), Owner: []byte("o")}).Append(nil)
	ctx := context.Background()
	runInflight(b, 1, "requests/s", func() error {
		_, _, err := a.Request(ctx, peer, wire.TypeLockRelease, body)
		return err
	})
}
