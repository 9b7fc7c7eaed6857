// Package bench is ekka-mesh's benchmark suite: each workload runs with
// ekka-mesh beside its baselines in the same run, and every figure but the
// in-process ones (said below) is measured between two processes on
// loopback: the server runs in a child process (this test binary started
// again as a server, or erl), the client in the benchmark process.
//
//	go test -run '^$' -bench . ./bench/                      # everything, about a second per figure
//	go test -run '^$' -bench . -benchtime 1x ./bench/        # every benchmark once (what CI runs)
//	go test -run '^$' -bench 'CallInFlight64' -count 6 ./bench/
//
// Benchmarks are named Benchmark<Workload>/<impl>, impl one of
//
//	ekka         an ekka-mesh node with mesh.DefaultConfig in the child
//	             (package load's bench methods, as ekka-mesh bench serve),
//	             a node in this process joined to it
//	ekka-off     the same with compression off on both nodes (bulk
//	             workloads only: the default must never be slower)
//	rawtcp       raw TCP, the physical limit (package baseline's protocol)
//	netrpc       net/rpc over one connection (gob)
//	grpc-unary   gRPC-go unary calls over one connection, raw bytes codec
//	grpc-stream  gRPC-go streams: one bidirectional stream per caller, or
//	             one client stream for one-way messages
//	erlang       Erlang distribution between two erl nodes
//	             (bench/erlang/ekka_bench.erl; skipped when erl is missing:
//	             apt-get install erlang-base)
//
// and report, beside ns/op, ops/s and where they apply MB/s (10^6 payload
// bytes per second one way), p50-us and p99-us (latency of one call).
// Payloads are random bytes, so compression cannot shrink them.
//
// The workloads:
//
//	CallSeq64         sequential 64-byte request/response (raw TCP: a
//	                  64-byte ping-pong on one connection)
//	CallInFlight16    16, 64 and 256 callers, each with one 64-byte echo
//	CallInFlight64    call in flight (raw TCP: one connection per caller;
//	CallInFlight256   grpc-stream: one stream per caller)
//	Cast64, Cast1K    one-way messages of 64 bytes and 1 KiB from one
//	                  sender; the rate counts what the receiver got (the
//	                  clock stops when the receiver's count, asked for
//	                  afterwards, reaches what was sent). raw TCP:
//	                  length-prefixed writes through a 64 KiB bufio.Writer;
//	                  erlang: Pid ! Bin
//	BulkCast64K       one-way 64 KiB and 1 MiB messages, as casts (ekka: Cast
//	BulkCast1M        of bench.cast; raw TCP: one vectored write each)
//	BulkCall64K       the same as calls with an empty reply (ekka: Call of
//	BulkCall1M        bench.sink; raw TCP: a write and a 1-byte ack;
//	                  erlang: erpc:call of a function that drops the binary)
//	HeadOfLine/ekka   p99 of 64-byte calls on an idle pair (p99-idle-us),
//	                  then while 64 MiB calls cross the same pair back to
//	                  back (p99-loaded-us), and their ratio
//	Multicall3/ekka   a 64-byte echo multicall to every node of a 3- and a
//	Multicall5/ekka   5-node cluster, the caller included: in this process
//	                  (nodes on direct loopback links)
//	LockLeader/ekka   acquire + release of a leader and of a quorum lock
//	LockQuorum/ekka   (package locker) on a 3-node cluster in this process,
//	                  from a node that is not the leader, or not in the
//	                  resource's quorum: every pair needs the network
//	MemoryIdleLink    heap bytes per idle link (both ends, in this process)
//	MemoryIdleNode    and per idle node that has no links (bytes/link,
//	                  bytes/node; goroutines too)
//	AllocsCall/ekka   allocations per 64-byte call round trip and per
//	AllocsCast/ekka   64-byte cast on a pair in this process, counting
//	                  both ends (allocs/call, allocs/cast)
//	Compression       one-way 64 KiB casts of text and of random bytes with
//	                  compression off, on and auto, over loopback and over
//	                  links paced by faultnet to 1 Gbit/s and 100 Mbit/s
//	                  (two nodes in this process: the paced link, not the
//	                  CPU, is the limit); MB/s received, compressed-%
//	IdleCluster40     the CPU of 40 idle ekka-mesh run processes, from
//	                  /proc (cpu-%-of-one-core); idle_test.go
//	DetectBlackhole   how long a node with the default heartbeat settings
//	Defaults          takes to see a blackholed peer down
//
// The ekka server's bench methods borrow their payloads
// (mesh.Node.HandleBorrowed), as a sink that streams data on would; a
// handler registered with Handle owns its payload, and the node allocates
// one per large message.
//
// Child processes (and erl nodes) stop at the end of the benchmark that
// started them.
package bench_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The implementations a workload can run on.
const (
	implEkka       = "ekka"
	implEkkaOff    = "ekka-off" // ekka with compression off on both nodes
	implRawTCP     = "rawtcp"
	implNetRPC     = "netrpc"
	implGRPCUnary  = "grpc-unary"
	implGRPCStream = "grpc-stream"
	implErlang     = "erlang"
)

// setupTimeout bounds starting a child and connecting to it.
const setupTimeout = 30 * time.Second

// startChild starts a server child of kind and stops it when b ends.
func startChild(b *testing.B, kind string, env ...string) *baseline.Child {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := baseline.StartChild(ctx, kind, env...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.StopWithin(10 * time.Second); err != nil {
			b.Error(err)
		}
	})
	return c
}

// ekkaPair starts an ekka-mesh node in a child process and a node in this
// process joined to it (both with mesh.DefaultConfig, and compression off
// on both for implEkkaOff); both stop when b ends. It returns the local
// node and the child's node name.
func ekkaPair(b *testing.B, impl string) (*mesh.Node, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	cookie := rand.Text()
	var book addrBook // the child's address, once it is known
	cfg := mesh.DefaultConfig()
	cfg.Name = "bcli1@127.0.0.1"
	cfg.Cookie = cookie
	cfg.ListenAddr = "127.0.0.1:0"
	compression := "default"
	if impl == implEkkaOff {
		cfg.Compression = mesh.CompressionOff
		compression = "off"
	}
	cfg.Resolve = book.resolve
	node, err := mesh.Start(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := node.Stop(sctx); err != nil {
			b.Error(err)
		}
	})
	c := startChild(b, baseline.KindEkka,
		baseline.EnvNodeName+"=bsrv1@127.0.0.1",
		baseline.EnvCookie+"="+cookie,
		baseline.EnvPeer+"="+cfg.Name+"="+node.Addr().String(),
		baseline.EnvCompression+"="+compression)
	book.add(c.Name, c.Addr)
	if err := node.Join(ctx, c.Name); err != nil {
		b.Fatal(err)
	}
	return node, c.Name
}

// randomBytes returns n random bytes: payloads no compressor can shrink.
func randomBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}

// report reports ops operations in elapsed: ops/s, MB/s when size (payload
// bytes one way per operation) is not 0, and the p50 and p99 of lat when
// there are latencies.
func report(b *testing.B, ops int64, elapsed time.Duration, size int, lat []time.Duration) {
	if ops == 0 || elapsed <= 0 {
		b.Fatalf("nothing measured: %d ops in %v", ops, elapsed)
	}
	b.ReportMetric(float64(ops)/elapsed.Seconds(), "ops/s")
	if size > 0 {
		b.ReportMetric(float64(ops)*float64(size)/elapsed.Seconds()/1e6, "MB/s")
	}
	if len(lat) > 0 {
		b.ReportMetric(baseline.Micros(baseline.Percentile(lat, 50)), "p50-us")
		b.ReportMetric(baseline.Micros(baseline.Percentile(lat, 99)), "p99-us")
	}
}

// runCallers makes b.N calls spread over the callers, each caller one
// goroutine with one call in flight, and reports the rate and the
// latencies. size is the payload of one call (for MB/s), 0 for none.
func runCallers(b *testing.B, callers []func() error, size int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	lats := make([][]time.Duration, len(callers))
	per := b.N/len(callers) + 1
	for i := range lats {
		lats[i] = make([]time.Duration, 0, per)
	}
	b.ResetTimer()
	t0 := time.Now()
	for i, call := range callers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				c0 := time.Now()
				if err := call(); err != nil {
					b.Error(err)
					return
				}
				lats[i] = append(lats[i], time.Since(c0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	report(b, int64(len(all)), elapsed, size, all)
}
