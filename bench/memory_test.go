package bench_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
)

// memNodes is how many nodes the memory benchmarks start: 16 nodes, and
// 120 links between them once they form a full mesh.
const memNodes = 16

// memSample is what this process holds after two garbage collections.
type memSample struct {
	heap, stack uint64
	goroutines  int
}

func sampleMem() memSample {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// settledMem samples until the number of goroutines holds still over a
// quarter of a second (duplicate links that lost the dial race retire in
// the first second of a mesh), at most 5 s, and returns the last sample.
func settledMem() memSample {
	prev := sampleMem()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		s := sampleMem()
		if s.goroutines == prev.goroutines {
			return s
		}
		prev = s
	}
	return prev
}

// reportMem reports the growth from before to after, per count things:
// bytes/<unit> (live heap), stack-bytes/<unit> and goroutines/<unit>.
func reportMem(b *testing.B, unit string, heap, stack, goroutines float64, count int) {
	n := float64(count * b.N)
	b.ReportMetric(heap/n, "bytes/"+unit)
	b.ReportMetric(stack/n, "stack-bytes/"+unit)
	b.ReportMetric(goroutines/n, "goroutines/"+unit)
}

// BenchmarkMemoryIdleNode/ekka: the live heap (bytes/node), goroutine
// stacks and goroutines one idle node holds: 16 nodes with mesh's defaults
// start in this process, unlinked, and the growth over what the process held
// before, after two garbage collections, is divided by 16. ns/op is one
// round: start, measure, stop.
func BenchmarkMemoryIdleNode(b *testing.B) {
	b.Run(implEkka, func(b *testing.B) {
		var heap, stack, gs float64
		for range b.N {
			before := sampleMem()
			nodes := startLocalNodes(b, memNodes)
			after := sampleMem()
			stopLocalNodes(b, nodes)
			heap += float64(int64(after.heap) - int64(before.heap))
			stack += float64(int64(after.stack) - int64(before.stack))
			gs += float64(after.goroutines - before.goroutines)
		}
		reportMem(b, "node", heap, stack, gs, memNodes)
	})
}

// BenchmarkMemoryIdleLink/ekka: what one idle link costs: 16 nodes start in
// this process, then form a full mesh (120 links); the growth from the
// unlinked nodes to the formed mesh, once every node sees all 16 running
// and the number of goroutines holds still, is divided by 120. Both ends of every link are in this process, so
// bytes/link counts both ends.
func BenchmarkMemoryIdleLink(b *testing.B) {
	b.Run(implEkka, func(b *testing.B) {
		links := memNodes * (memNodes - 1) / 2
		var heap, stack, gs float64
		for range b.N {
			nodes := startLocalNodes(b, memNodes)
			before := sampleMem()
			ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
			err := joinAll(ctx, nodes)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			after := settledMem()
			stopLocalNodes(b, nodes)
			heap += float64(int64(after.heap) - int64(before.heap))
			stack += float64(int64(after.stack) - int64(before.stack))
			gs += float64(after.goroutines - before.goroutines)
		}
		reportMem(b, "link", heap, stack, gs, links)
	})
}

// allocsWarmUp is how many operations run before allocations are counted.
const allocsWarmUp = 100

// mallocs returns the allocations this process has made so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// BenchmarkAllocsCall/ekka: allocations per 64-byte echo call round trip
// (allocs/call) between two nodes in this process (direct links), counting
// both ends: the caller's send and receive and the callee's handling.
func BenchmarkAllocsCall(b *testing.B) {
	b.Run(implEkka, func(b *testing.B) {
		nodes := localCluster(b, 2)
		ctx := benchContext(b)
		srv := nodes[1].Name()
		p := randomBytes(64)
		call := func() {
			reply, err := nodes[0].Call(ctx, srv, baseline.MethodEcho, p)
			if err != nil {
				b.Fatal(err)
			}
			if len(reply) != len(p) {
				b.Fatalf("echo of %d bytes, want %d", len(reply), len(p))
			}
		}
		for range allocsWarmUp {
			call()
		}
		lat := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		m0 := mallocs()
		b.ResetTimer()
		t0 := time.Now()
		for range b.N {
			c0 := time.Now()
			call()
			lat = append(lat, time.Since(c0))
		}
		elapsed := time.Since(t0)
		b.StopTimer()
		m1 := mallocs()
		report(b, int64(b.N), elapsed, 0, lat)
		b.ReportMetric(float64(m1-m0)/float64(b.N), "allocs/call")
	})
}

// BenchmarkAllocsCast/ekka: allocations per 64-byte cast (allocs/cast)
// between two nodes in this process (direct links), counting both ends,
// until the receiver's handler has run for every cast.
func BenchmarkAllocsCast(b *testing.B) {
	b.Run(implEkka, func(b *testing.B) {
		nodes := localCluster(b, 2)
		ctx := benchContext(b)
		srv := nodes[1].Name()
		var got atomic.Int64
		want := int64(allocsWarmUp)
		warm, all := make(chan struct{}), make(chan struct{})
		// The bench methods (load.Serve) hold bench.cast: this counting
		// handler takes its place (Handle refuses a method that is taken).
		if err := nodes[1].Handle(baseline.MethodCast, nil); err != nil {
			b.Fatal(err)
		}
		if err := nodes[1].Handle(baseline.MethodCast, func(context.Context, string, []byte) ([]byte, error) {
			switch got.Add(1) {
			case want:
				close(warm)
			case want + int64(b.N):
				close(all)
			}
			return nil, nil
		}); err != nil {
			b.Fatal(err)
		}
		p := randomBytes(64)
		cast := func() {
			if err := nodes[0].Cast(srv, baseline.MethodCast, p); err != nil {
				b.Fatal(err)
			}
		}
		wait := func(ch chan struct{}) {
			select {
			case <-ch:
			case <-ctx.Done():
				b.Fatalf("%d casts handled, want %d: %v", got.Load(), want+int64(b.N), ctx.Err())
			}
		}
		for range allocsWarmUp {
			cast()
		}
		wait(warm)
		b.ReportAllocs()
		m0 := mallocs()
		b.ResetTimer()
		t0 := time.Now()
		for range b.N {
			cast()
		}
		wait(all)
		elapsed := time.Since(t0)
		b.StopTimer()
		m1 := mallocs()
		report(b, int64(b.N), elapsed, 0, nil)
		b.ReportMetric(float64(m1-m0)/float64(b.N), "allocs/cast")
	})
}
