package conn

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The benchmarks in this file compare a link with raw TCP on loopback in the
// same run. Run them with:
//
//	go test -run '^$' -bench . -benchtime 2s ./conn/
//
// Figures and their reading are in bench/README.md.

// rawPair returns two ends of a loopback TCP connection.
func rawPair(b *testing.B) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(b, err)
	s := <-ch
	b.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// rpcClient is the minimal call table a user of conn writes: call ids,
// a waiting slot per call, replies matched by id on the reader goroutine.
type rpcClient struct {
	c       *Conn
	next    atomic.Uint64
	mu      sync.Mutex
	waiting map[uint64]chan []byte
	handoff atomic.Uint64
	pool    sync.Pool
}

func newRPCClient() *rpcClient {
	r := &rpcClient{waiting: make(map[uint64]chan []byte)}
	r.pool.New = func() any { return make(chan []byte, 1) }
	return r
}

func (r *rpcClient) handle(c *Conn, h wire.Header, body []byte, _ bool) {
	if h.Type != wire.TypeReply {
		return
	}
	r.mu.Lock()
	ch := r.waiting[h.ID]
	delete(r.waiting, h.ID)
	r.mu.Unlock()
	if ch != nil {
		r.handoff.Add(1)
		ch <- body[:0] // the body is only valid during the handler; a benchmark only needs the signal
	}
}

func (r *rpcClient) call(ctx context.Context, payload []byte) error {
	id := r.next.Add(1)
	ch := r.pool.Get().(chan []byte)
	r.mu.Lock()
	r.waiting[id] = ch
	r.mu.Unlock()
	if err := r.c.Send(ctx, wire.TypeCall, id, nil, payload); err != nil {
		return err
	}
	select {
	case <-ch:
		r.pool.Put(ch)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// echoServer answers every call on the reader goroutine, with no hand-off.
func echoServer(c *Conn, h wire.Header, body []byte, _ bool) {
	if h.Type == wire.TypeCall {
		c.Send(context.Background(), wire.TypeReply, h.ID, nil, body)
	}
}

// benchLink links a client a and a server s over loopback, compression off,
// starts them with the given handlers and closes both when b ends.
func benchLink(b *testing.B, client, server Handler) (a, s *Conn) {
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Compression, cb.Compression = CompressOff, CompressOff
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := Listen(ctx, cb, "127.0.0.1:0")
	require.NoError(b, err)
	defer l.Close()
	ch := make(chan *Conn, 1)
	go func() { c, _ := l.Accept(ctx); ch <- c }()
	a, err = Dial(ctx, ca, cb.Name, l.Addr().String())
	require.NoError(b, err)
	s = <-ch
	require.NotNil(b, s, "the listener accepted no link")
	a.Start(client)
	s.Start(server)
	b.Cleanup(func() {
		a.Close(0, "")
		s.Close(0, "")
		<-a.Done()
		<-s.Done()
	})
	return a, s
}

// rpcPair links a client and an echo server.
func rpcPair(b *testing.B) *rpcClient {
	r := newRPCClient()
	r.c, _ = benchLink(b, r.handle, echoServer)
	return r
}

// BenchmarkPingPong64 is the sequential 64-byte request/response: one
// outstanding request at a time over one link. Target: ekka >= 0.6x raw.
func BenchmarkPingPong64(b *testing.B) {
	b.Run("raw-tcp", func(b *testing.B) {
		c, s := rawPair(b)
		go func() {
			buf := make([]byte, 64)
			for {
				if _, err := io.ReadFull(s, buf); err != nil {
					return
				}
				if _, err := s.Write(buf); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 64)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.Write(buf)
			_, err := io.ReadFull(c, buf)
			require.NoError(b, err)
		}
	})
	b.Run("ekka-conn", func(b *testing.B) {
		r := rpcPair(b)
		payload := make([]byte, 64)
		ctx := context.Background()
		b.ReportAllocs()
		before := r.c.Stats().Handoffs
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			require.NoError(b, r.call(ctx, payload))
		}
		b.StopTimer()
		h := r.c.Stats().Handoffs - before + r.handoff.Load()
		b.ReportMetric(float64(h)/float64(b.N), "handoffs/op")
	})
}

// BenchmarkInFlight64 keeps 64 requests in flight over one link.
func BenchmarkInFlight64(b *testing.B) {
	r := rpcPair(b)
	payload := make([]byte, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32) // 32 x GOMAXPROCS(2) = 64 callers
	before := r.c.Stats()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !assert.NoError(b, r.call(ctx, payload)) {
				return
			}
		}
	})
	b.StopTimer()
	after := r.c.Stats()
	b.ReportMetric(float64(after.FramesSent-before.FramesSent)/float64(max(after.Writes-before.Writes, 1)), "frames/write")
}

// BenchmarkOneWay64 sends 64-byte frames one way through one link from one
// goroutine. Target: >= 2,000,000 frames/s. The raw baseline writes the
// same 80-byte framed messages through a 64 KiB bufio.Writer.
func BenchmarkOneWay64(b *testing.B) {
	b.Run("raw-tcp-bufio", func(b *testing.B) {
		c, s := rawPair(b)
		done := make(chan struct{})
		total := int64(0)
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := s.Read(buf)
				total += int64(n)
				if err != nil || total >= int64(b.N)*80 {
					close(done)
					return
				}
			}
		}()
		w := bufio.NewWriterSize(c, 64<<10)
		frame := make([]byte, 80)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			binary.BigEndian.PutUint32(frame, 64)
			w.Write(frame)
		}
		w.Flush()
		<-done
	})
	b.Run("ekka-conn", func(b *testing.B) {
		oneWay(b, 64)
	})
}

// BenchmarkOneWay64K moves 64 KiB frames one way. Target: >= 0.9x raw TCP.
func BenchmarkOneWay64K(b *testing.B) {
	const size = 64 << 10
	b.Run("raw-tcp", func(b *testing.B) {
		c, s := rawPair(b)
		done := make(chan struct{})
		go func() {
			buf := make([]byte, 256<<10)
			total := int64(0)
			for total < int64(b.N)*size {
				n, err := s.Read(buf)
				total += int64(n)
				if err != nil {
					break
				}
			}
			close(done)
		}()
		buf := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, err := c.Write(buf)
			require.NoError(b, err)
		}
		<-done
	})
	b.Run("ekka-conn", func(b *testing.B) {
		b.SetBytes(size)
		oneWay(b, size)
	})
}

func oneWay(b *testing.B, size int) {
	var got atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	a, _ := benchLink(b, func(*Conn, wire.Header, []byte, bool) {}, func(c *Conn, h wire.Header, body []byte, _ bool) {
		if got.Add(1) == want {
			close(done)
		}
	})
	payload := make([]byte, size)
	bg := context.Background()
	before := a.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		require.NoError(b, a.Send(bg, wire.TypeCast, 0, nil, payload))
	}
	<-done
	b.StopTimer()
	after := a.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(after.FramesSent-before.FramesSent)/float64(max(after.Writes-before.Writes, 1)), "frames/write")
}

// BenchmarkHeadOfLine measures the p99 latency of small calls, first on an
// idle link, then while 64 MiB payloads cross the same link back to back.
// Target: loaded p99 <= 3x idle p99.
func BenchmarkHeadOfLine(b *testing.B) {
	r := rpcPair(b)
	ctx := context.Background()
	small := make([]byte, 64)
	n := max(b.N, 2000)
	measure := func() time.Duration {
		lat := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			t0 := time.Now()
			require.NoError(b, r.call(ctx, small))
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		return lat[len(lat)*99/100]
	}
	measure() // warm up
	idle := measure()

	big := make([]byte, 64<<20)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var crossed atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := r.c.Send(ctx, wire.Type(0xc3), 0, nil, nil); err != nil { // an optional type no version defines: skipped by the peer
				return
			}
			if err := r.c.Send(ctx, wire.TypeReply, 1<<62, nil, big); err != nil {
				return
			}
			crossed.Add(1)
		}
	}()
	time.Sleep(5 * time.Millisecond)
	loaded := measure()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(idle.Microseconds()), "idle-p99-us")
	b.ReportMetric(float64(loaded.Microseconds()), "loaded-p99-us")
	b.ReportMetric(float64(loaded)/float64(idle), "loaded/idle")
	b.ReportMetric(float64(crossed.Load()), "64MiB-crossed")
}
