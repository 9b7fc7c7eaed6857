package locker

// Benchmarks: acquire+release per lock type on a 3-node cluster on direct
// loopback links, the same with 16 owners contending for one resource, and
// etcd's clientv3/concurrency Mutex on one embedded etcd as the baseline,
// all in one run:
//
//	go test -run '^$' -bench . -benchtime 2s ./locker/

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/ekka-mesh/ekka-mesh/discovery/etcd/etcdtest"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// benchCluster starts n nodes linked directly (no fault-injection proxy),
// forms a cluster and attaches a locker to each; all stop when b ends.
func benchCluster(b *testing.B, n int) []*Locker {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	addrs := map[string]string{}
	resolve := func(node string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := addrs[node]; ok {
			return a, nil
		}
		return "", fmt.Errorf("bench: no node %s", node)
	}
	nodes := make([]*mesh.Node, n)
	ls := make([]*Locker, n)
	b.Cleanup(func() {
		for _, l := range ls {
			if l != nil {
				l.Close()
			}
		}
		for _, nd := range nodes {
			if nd != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				nd.Stop(sctx)
				cancel()
			}
		}
	})
	for i := range n {
		cfg := mesh.DefaultConfig()
		cfg.Name = fmt.Sprintf("b%d@127.0.0.1", i+1)
		cfg.Cookie = "bench"
		cfg.ListenAddr = "127.0.0.1:0"
		cfg.Resolve = resolve
		nd, err := mesh.Start(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		nodes[i] = nd
		mu.Lock()
		addrs[cfg.Name] = nd.Addr().String()
		mu.Unlock()
	}
	for i := 1; i < n; i++ {
		if err := nodes[i].Join(ctx, nodes[0].Name()); err != nil {
			b.Fatal(err)
		}
	}
	for {
		ok := true
		for _, nd := range nodes {
			ok = ok && len(nd.Info().RunningNodes) == n
		}
		if ok {
			break
		}
		if ctx.Err() != nil {
			b.Fatal("cluster did not form")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, nd := range nodes {
		l, err := New(nd, Config{})
		if err != nil {
			b.Fatal(err)
		}
		ls[i] = l
	}
	return ls
}

// BenchmarkAcquireRelease: one owner on node 1 acquires and releases one
// resource in a loop; ns/op is the latency of the pair.
//
// Where the acquirer sits matters: a leader lock taken on the leader and a
// quorum lock taken on a member of the resource's quorum need one network
// call fewer. from=in runs the acquirer there, from=out on another node.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, typ := range Types {
		for _, from := range []string{"in", "out"} {
			if (typ == Local || typ == All) && from == "out" {
				continue // local is always in, all always asks everyone
			}
			b.Run("type="+typ.String()+"/from="+from, func(b *testing.B) {
				ls := benchCluster(b, 3)
				benchPairs(b, ls, typ, from)
			})
		}
	}
}

func benchPairs(b *testing.B, ls []*Locker, typ Type, from string) {
	ctx := context.Background()
	opts := Options{Type: typ, Owner: "bench"}
	nodes, _, err := ls[0].Targets(typ, "res")
	if err != nil {
		b.Fatal(err)
	}
	var l *Locker
	for _, c := range ls {
		in := false
		for _, n := range nodes {
			in = in || n == c.Node().Name()
		}
		if in == (from == "in") {
			l = c
			break
		}
	}
	if l == nil {
		b.Fatalf("no node %s %v", from, nodes)
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		r, err := l.Acquire(ctx, "res", opts)
		if err != nil || !r.OK {
			b.Fatalf("acquire: %+v, %v", r, err)
		}
		if r, err := l.Release(ctx, "res", opts); err != nil || !r.OK {
			b.Fatalf("release: %+v, %v", r, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "pairs/s")
}

// BenchmarkContended: 16 owners, spread over the 3 nodes, contend for one
// resource; each retries a refused acquire after 100us. An op is one
// granted acquire+release; refused/op counts the refusals per grant.
func BenchmarkContended(b *testing.B) {
	const owners = 16
	for _, typ := range Types {
		b.Run("type="+typ.String(), func(b *testing.B) {
			ls := benchCluster(b, 3)
			if typ == Local {
				ls = []*Locker{ls[0]} // local: one table, all owners on node 1
			}
			ctx := context.Background()
			var next, refused atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			t0 := time.Now()
			for o := range owners {
				l := ls[o%len(ls)]
				opts := Options{Type: typ, Owner: fmt.Sprintf("o%d", o)}
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						for {
							r, err := l.Acquire(ctx, "res", opts)
							if err != nil {
								b.Error(err)
								return
							}
							if r.OK {
								break
							}
							refused.Add(1)
							time.Sleep(100 * time.Microsecond)
						}
						if r, err := l.Release(ctx, "res", opts); err != nil || !r.OK {
							b.Errorf("release: %+v, %v", r, err)
							return
						}
					}
				})
			}
			wg.Wait()
			el := time.Since(t0)
			b.ReportMetric(float64(b.N)/el.Seconds(), "pairs/s")
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
		})
	}
}

// BenchmarkEtcdMutex: the baseline, etcd's concurrency.Mutex on a single
// embedded etcd (data on this machine's temporary directory): Lock+Unlock
// by one session, and by 16 sessions contending for one key.
func BenchmarkEtcdMutex(b *testing.B) {
	srv := etcdtest.Start(b, etcdtest.Options{})
	newSession := func() *concurrency.Session {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.URL()}, DialTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cli.Close() })
		s, err := concurrency.NewSession(cli, concurrency.WithTTL(15))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	for _, owners := range []int{1, 16} {
		b.Run(fmt.Sprintf("owners=%d", owners), func(b *testing.B) {
			ctx := context.Background()
			mus := make([]*concurrency.Mutex, owners)
			for i := range mus {
				mus[i] = concurrency.NewMutex(newSession(), "/bench-lock/res")
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			t0 := time.Now()
			for _, m := range mus {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if err := m.Lock(ctx); err != nil {
							b.Error(err)
							return
						}
						if err := m.Unlock(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "pairs/s")
		})
	}
}

// BenchmarkLockAcquireUnderBulk: lock latency while bulk data crosses the
// same pair of nodes. Two nodes on loopback TCP; callers goroutines send
// calls of size bytes (random, so compression cannot shrink them) from node
// A to node B in a loop, while the benchmark, on A, acquires and releases a
// leader lock held in B's table. ns/op is one acquire+release pair; p50-ns
// and p99-ns are the acquire's latency, bulk-MiB/s what the calls moved.
//
//	go test -run '^$' -bench LockAcquireUnderBulk -benchtime 10s ./locker/
//
// Sub-benchmarks: bulk=64MiB, one caller of 64 MiB calls, which travel on
// the large lane (conn.LargeThreshold is 64 KiB); bulk=60KiBx8, eight
// callers of 60 KiB calls, just below the threshold, on the data lane where
// application calls travel; bulk=none, no bulk, for reference.
func BenchmarkLockAcquireUnderBulk(b *testing.B) {
	b.Run("bulk=64MiB", func(b *testing.B) { benchLockUnderBulk(b, 64<<20, 1) })
	b.Run("bulk=60KiBx8", func(b *testing.B) { benchLockUnderBulk(b, 60<<10, 8) })
	b.Run("bulk=none", func(b *testing.B) { benchLockUnderBulk(b, 0, 0) })
}

func benchLockUnderBulk(b *testing.B, size, callers int) {
	const bulkMethod = "bench.bulk"
	ls := benchCluster(b, 2)
	leader, _, err := ls[0].Targets(Leader, "res")
	if err != nil {
		b.Fatal(err)
	}
	near, far := ls[0], ls[1] // near asks, far holds the table
	if near.Node().Name() == leader[0] {
		near, far = far, near
	}
	if err := far.Node().Handle(bulkMethod, func(context.Context, string, []byte) ([]byte, error) { return nil, nil }); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(payload)

	ctx, stop := context.WithCancel(context.Background())
	var moved atomic.Int64
	first := make(chan struct{})
	var firstOnce sync.Once
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := near.Node().Call(ctx, far.Node().Name(), bulkMethod, payload); err != nil {
					if ctx.Err() == nil {
						b.Errorf("bulk call: %v", err)
					}
					return
				}
				moved.Add(int64(size))
				firstOnce.Do(func() { close(first) })
			}
		})
	}
	defer func() {
		stop()
		wg.Wait()
	}()
	if callers > 0 {
		select { // the bulk stream is flowing before the clock starts
		case <-first:
		case <-time.After(time.Minute):
			b.Fatal("no bulk call completed in a minute")
		}
	}

	opts := Options{Type: Leader, Owner: "bench"}
	lat := make([]time.Duration, 0, 1024)
	movedAt := moved.Load()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		start := time.Now()
		r, err := near.Acquire(ctx, "res", opts)
		lat = append(lat, time.Since(start))
		if err != nil || !r.OK {
			b.Fatalf("acquire: %+v, %v", r, err)
		}
		if r, err := near.Release(ctx, "res", opts); err != nil || !r.OK {
			b.Fatalf("release: %+v, %v", r, err)
		}
	}
	el := time.Since(t0)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(moved.Load()-movedAt)/(1<<20)/el.Seconds(), "bulk-MiB/s")
}
