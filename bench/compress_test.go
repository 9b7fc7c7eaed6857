package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/faultnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// compressLinks are the links of BenchmarkCompression: plain loopback, and
// faultnet's pacing both ways between the two nodes (bytes per second).
var compressLinks = []struct {
	name string
	rate int64 // 0: direct loopback, no proxy
}{
	{"loopback", 0},
	{"1Gbit", 1e9 / 8},
	{"100Mbit", 100e6 / 8},
}

var compressModes = []struct {
	name string
	mode mesh.Compression
}{
	{"off", mesh.CompressionOff},
	{"on", mesh.CompressionOn},
	{"auto", mesh.CompressionAuto},
}

// compressSize is the payload of one cast.
const compressSize = 64 << 10

// BenchmarkCompression/<link>/<payload>/<mode>: one-way 64 KiB casts
// (bench.cast) from one node to another for the benchmark's duration, with
// compression off, on or auto on both nodes, over loopback or a link that
// faultnet paces to 1 Gbit/s or 100 Mbit/s both ways. payload is text
// (JSON-like records, which S2 shrinks to about a twelfth) or random bytes.
//
// Unlike the rest of the suite, both nodes run in this process: where the
// link is paced, the paced proxy is the bottleneck, not the CPU; on
// loopback the two nodes share the machine's two cores, so the loopback
// rows compare the modes with each other (auto must never cost more than
// 5% against off), not with the cross-process figures (BulkCast64K's ekka
// and ekka-off are that check between processes). Each run starts a new
// pair, so auto's figure includes its learning: it sends casts as they are
// until the lane's socket buffers have filled and its drain meter has seen
// the link (a few MB here), then compresses.
//
// It reports MB/s, 10^6 payload bytes per second counted by the receiver
// (the clock stops when it has counted every cast); wire-%, the bytes that
// crossed the link from sender to receiver as a share of the payload; and
// compressed-%, the share of casts sent compressed. Link statistics are not
// reachable through mesh, so compressed-% is worked out from the wire
// bytes: every text cast weighs either its size or its S2 size, so the
// bytes saved tell how many went compressed (frame headers and heartbeats
// make it exact to within 0.1%). Random bytes never shrink, and a link
// never sends a message compressed that did not shrink: their compressed-%
// is 0 by construction, and wire-% shows it. The wire bytes are counted as
// the receiver reads them from the connections it dialed (it dials the
// sender, and a pair keeps the link dialed by the smaller name, the
// receiver's).
func BenchmarkCompression(b *testing.B) {
	payloads := []struct {
		name string
		p    []byte
	}{
		{"text", jsonRecords(compressSize)},
		{"random", randomBytes(compressSize)},
	}
	for _, link := range compressLinks {
		b.Run(link.name, func(b *testing.B) {
			for _, pl := range payloads {
				b.Run(pl.name, func(b *testing.B) {
					for _, m := range compressModes {
						b.Run(m.name, func(b *testing.B) { benchCompression(b, link.rate, m.mode, pl.p) })
					}
				})
			}
		})
	}
}

// jsonRecords returns size bytes of JSON-like records, as a service
// relaying sensor readings would send.
func jsonRecords(size int) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < size; i++ {
		fmt.Fprintf(&buf, `{"id":%d,"topic":"sensors/room-%d/temperature","qos":1,"retain":false,"payload":"%d.%d"},`, i, i%40, 15+i%10, i%7)
	}
	return buf.Bytes()[:size]
}

func benchCompression(b *testing.B, rate int64, mode mesh.Compression, p []byte) {
	pair := compressionPair(b, rate, mode)
	send := func() error { return pair.sender.Cast(pair.receiver.Name(), load.MethodCast, p) }
	// Warm up (the link is up and carries casts), and learn the counts so far.
	if err := send(); err != nil {
		b.Fatal(err)
	}
	ctx := benchContext(b)
	if err := pair.await(ctx, 1); err != nil {
		b.Fatal(err)
	}
	wire0 := pair.wire.Load()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if err := send(); err != nil {
			b.Fatal(err)
		}
	}
	err := pair.await(ctx, uint64(1+b.N))
	elapsed := time.Since(t0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if got := pair.server.Stats().CastBytes; got != uint64(1+b.N)*uint64(len(p)) {
		b.Fatalf("receiver counted %d bytes, want %d", got, (1+b.N)*len(p))
	}
	report(b, int64(b.N), elapsed, len(p), nil)
	payload := float64(b.N) * float64(len(p))
	wire := float64(pair.wire.Load() - wire0)
	if wire == 0 {
		b.Fatal("no bytes counted on the receiver's links: the pair kept a link the sender dialed")
	}
	b.ReportMetric(100*wire/payload, "wire-%")
	b.ReportMetric(100*compressedShare(p, b.N, wire), "compressed-%")
}

// compressedShare works out which share of n casts of p went compressed
// from the bytes that crossed the link: each weighs len(p) as it is, or
// its S2 size compressed. 0 when p does not shrink.
func compressedShare(p []byte, n int, wire float64) float64 {
	enc := len(s2.Encode(nil, p))
	if enc >= len(p) {
		return 0
	}
	saved := float64(n)*float64(len(p)) - wire
	return min(max(saved/(float64(n)*float64(len(p)-enc)), 0), 1)
}

// compressPair is a sender and a receiver node in this process.
type compressPair struct {
	sender, receiver *mesh.Node
	server           *load.Server  // the receiver's bench methods
	wire             *atomic.Int64 // bytes the receiver read from its dialed connections
}

// await waits until the receiver has counted casts casts.
func (p *compressPair) await(ctx context.Context, casts uint64) error {
	for p.server.Stats().Casts < casts {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the receiver counted %d casts of %d: %w", p.server.Stats().Casts, casts, ctx.Err())
		case <-time.After(100 * time.Microsecond):
		}
	}
	return nil
}

// compressionPair starts a receiver (bz1@127.0.0.1, serving the bench
// methods) and a sender (bz2@127.0.0.1) in this process, both with
// compression mode, on direct loopback links when rate is 0 or through a
// faultnet network that paces each direction to rate bytes/s. The receiver
// joins the sender, so the link is the receiver's dial, and counts the
// bytes it reads. Both stop when b ends.
func compressionPair(b *testing.B, rate int64, mode mesh.Compression) *compressPair {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var fn *faultnet.Network
	if rate > 0 {
		fn = faultnet.New()
		b.Cleanup(func() { fn.Close() }) // after the nodes stop: cleanups run last first
	}
	var book addrBook
	wire := new(atomic.Int64)
	var nodes []*mesh.Node
	b.Cleanup(func() { stopLocalNodes(b, nodes) })
	for _, name := range []string{"bz2@127.0.0.1", "bz1@127.0.0.1"} {
		cfg := mesh.DefaultConfig()
		cfg.Name = name
		cfg.Cookie = "bench-compression"
		cfg.ListenAddr = "127.0.0.1:0"
		cfg.Resolve = book.resolve
		cfg.Compression = mode
		var dial func(ctx context.Context, network, addr string) (net.Conn, error)
		if fn != nil {
			dial = fn.Dialer(name)
		} else {
			var d net.Dialer
			dial = d.DialContext
		}
		if name == "bz1@127.0.0.1" {
			dial = countReads(dial, wire)
		}
		cfg.Dial = dial
		nd, err := mesh.Start(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, nd)
		book.add(name, nd.Addr().String())
		if fn != nil {
			fn.Register(name, nd.Addr().String())
		}
	}
	if fn != nil {
		fn.Rate(nodes[0].Name(), nodes[1].Name(), rate)
		fn.Rate(nodes[1].Name(), nodes[0].Name(), rate)
	}
	srv, err := load.NewServer(nodes[1])
	if err != nil {
		b.Fatal(err)
	}
	if err := joinAll(ctx, nodes); err != nil { // the receiver joins the sender
		b.Fatal(err)
	}
	return &compressPair{sender: nodes[0], receiver: nodes[1], server: srv, wire: wire}
}

// countReads wraps dial so that every byte read from the connections it
// opens is added to n. Only reads are wrapped: the receiver's reads are the
// sender's bytes, and its writes (heartbeats) keep their own path.
func countReads(dial func(ctx context.Context, network, addr string) (net.Conn, error), n *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &readCounter{Conn: c, n: n}, nil
	}
}

type readCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}
