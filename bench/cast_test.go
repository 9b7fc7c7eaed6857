package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// castImpls run the one-way workloads (net/rpc and gRPC unary have no
// one-way messages).
var castImpls = []string{implEkka, implRawTCP, implGRPCStream, implErlang}

// BenchmarkCast64: one-way 64-byte messages from one sender.
func BenchmarkCast64(b *testing.B) { benchCasts(b, 64) }

// BenchmarkCast1K: one-way 1 KiB messages from one sender.
func BenchmarkCast1K(b *testing.B) { benchCasts(b, 1<<10) }

// BenchmarkBulkCast64K: one-way 64 KiB messages from one sender.
func BenchmarkBulkCast64K(b *testing.B) { benchCasts(b, 64<<10) }

// BenchmarkBulkCast1M: one-way 1 MiB messages from one sender.
func BenchmarkBulkCast1M(b *testing.B) { benchCasts(b, 1<<20) }

// benchCasts sends b.N one-way messages of size random bytes on every
// implementation. The clock stops when the receiver has counted them all:
// the rate is what the receiver got.
func benchCasts(b *testing.B, size int) {
	impls := castImpls
	if size >= 64<<10 {
		impls = withEkkaOff(impls)
	}
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			if impl == implErlang {
				runErlang(b, erlangPair(b), fmt.Sprintf("cast %d %%d", size), size)
				return
			}
			send, count := casters(b, impl, size)
			// Warm up, and learn the receiver's count so far.
			if err := send(); err != nil {
				b.Fatal(err)
			}
			m0, err := count(1)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			t0 := time.Now()
			for range b.N {
				if err := send(); err != nil {
					b.Fatal(err)
				}
			}
			m1, err := count(m0 + uint64(b.N))
			elapsed := time.Since(t0)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if got := m1 - m0; got != uint64(b.N) {
				b.Fatalf("receiver counted %d messages, want %d", got, b.N)
			}
			report(b, int64(b.N), elapsed, size, nil)
		})
	}
}

// casters connects one sender of impl to a new server child. send sends
// one message; count(want) returns the messages the receiver has counted
// since the connection began, once it has counted want (or, for streams, all
// that were sent: their count is ordered after the messages).
//
// raw TCP: length-prefixed messages through a 64 KiB bufio.Writer (from
// 8 KiB one vectored write each); grpc-stream: one client stream per count,
// whose reply is the count; ekka: Cast of bench.cast, then bench.count
// polled every 100 us until it says want.
func casters(b *testing.B, impl string, size int) (send func() error, count func(want uint64) (uint64, error)) {
	b.Helper()
	ctx := benchContext(b)
	p := randomBytes(size)
	switch impl {
	case implEkka, implEkkaOff:
		node, srv := ekkaPair(b, impl)
		send = func() error { return node.Cast(srv, baseline.MethodCast, p) }
		count = func(want uint64) (uint64, error) { return awaitCount(ctx, node, srv, want, want*uint64(size)) }
		return send, count
	case implRawTCP:
		c := startChild(b, baseline.KindRawTCP)
		rc, err := baseline.DialRaw(ctx, c.Addr, baseline.ModeStream, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rc.Close() })
		send = func() error { return rc.Send(p) }
		count = func(uint64) (uint64, error) {
			m, _, err := rc.Count()
			return m, err
		}
		return send, count
	case implGRPCStream:
		c := startChild(b, baseline.KindGRPC)
		cl, err := baseline.DialGRPC(c.Addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Close() })
		var push *baseline.GRPCPush
		var total uint64
		send = func() error {
			if push == nil {
				if push, err = cl.Push(ctx); err != nil {
					return err
				}
			}
			return push.Send(p)
		}
		count = func(uint64) (uint64, error) {
			if push == nil {
				return total, nil
			}
			m, _, err := push.Count()
			push = nil
			total += m
			return total, err
		}
		return send, count
	}
	b.Fatalf("no casters for %q", impl)
	return nil, nil
}

// awaitCount polls the bench.count of srv until it has counted msgs casts
// of bytes bytes, and returns the casts counted.
func awaitCount(ctx context.Context, node *mesh.Node, srv string, msgs, bytes uint64) (uint64, error) {
	for {
		m, n, err := load.Count(ctx, node, srv)
		if err != nil || (m >= msgs && n >= bytes) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("%s counted %d casts of %d wanted: %w", srv, m, msgs, ctx.Err())
		case <-time.After(100 * time.Microsecond):
		}
	}
}
