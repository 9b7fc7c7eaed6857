package faultnet

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// chunkSize is the read size of a pump: large enough that bulk transfers
	// move at near loopback speed.
	chunkSize = 64 << 10
	// queueLen bounds the delayed chunks in flight per direction (at most
	// queueLen*chunkSize bytes), enough to keep a 1 ms delay at full speed.
	queueLen = 256
)

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize)
	return &b
}}

// proxyConn is one proxied connection: inner is the proxy's end of the socket
// pair whose other end the dialler (from) holds; upstream is connected to
// to's real listener.
type proxyConn struct {
	n               *Network
	from, to        string
	inner, upstream *net.TCPConn
	once            sync.Once
	done            chan struct{} // closed when both sockets are closed
	halfClosed      atomic.Int32  // directions whose FIN was delivered
	forward, back   *direction
}

func newProxyConn(n *Network, from, to string, inner, upstream *net.TCPConn) *proxyConn {
	c := &proxyConn{n: n, from: from, to: to, inner: inner, upstream: upstream, done: make(chan struct{})}
	c.forward = &direction{c: c, from: from, to: to, src: inner, dst: upstream, queue: make(chan chunk, queueLen)}
	c.back = &direction{c: c, from: to, to: from, src: upstream, dst: inner, queue: make(chan chunk, queueLen)}
	return c
}

// start runs the four pumps. The caller holds n.mu and has checked that the
// Network is open, so the WaitGroup in Close covers them.
func (c *proxyConn) start() {
	c.n.wg.Add(4)
	go c.forward.read()
	go c.forward.write()
	go c.back.read()
	go c.back.write()
}

// close closes both sockets, with SO_LINGER 0 (an RST) if reset, and stops
// the pumps. Safe to call more than once and from any goroutine.
func (c *proxyConn) close(reset bool) {
	c.once.Do(func() {
		if reset {
			_ = c.inner.SetLinger(0)
			_ = c.upstream.SetLinger(0)
		}
		_ = c.inner.Close()
		_ = c.upstream.Close()
		close(c.done)
		c.n.untrack(c)
	})
}

// direction pumps one way. The reader waits for the rate (if any) before it
// handles a chunk, then writes straight through while the link has no delay
// and nothing is queued; otherwise chunks go through queue to the writer,
// which delivers each at its due time, so order is preserved.
type direction struct {
	c        *proxyConn
	from, to string
	src, dst *net.TCPConn
	queue    chan chunk
	queued   atomic.Int64 // chunks handed to the writer and not yet delivered
	pacer    pacer        // the Rate rule's token bucket, used by the reader only
}

type chunk struct {
	buf *[]byte
	n   int
	due time.Time
	fin bool // deliver a FIN (CloseWrite) instead of bytes
}

func (d *direction) read() {
	defer d.c.n.wg.Done()
	for {
		buf := chunkPool.Get().(*[]byte)
		k, err := d.src.Read((*buf)[:d.readSize()])
		if k > 0 {
			if !d.forward(buf, k) {
				return
			}
		} else {
			chunkPool.Put(buf)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				d.passFIN()
			} else {
				d.c.close(isReset(err))
			}
			return
		}
	}
}

// forward paces one chunk and passes it on, taking ownership of buf. A
// chunk read before a Rate rule came into force may be larger than the
// rate's chunk: it goes piece by piece, so that the rate holds from the
// rule on. It reports false once the connection is closed.
func (d *direction) forward(buf *[]byte, k int) bool {
	size := d.readSize()
	if k <= size {
		if !d.pace(k) {
			chunkPool.Put(buf)
			return false
		}
		return d.pass(buf, k)
	}
	defer chunkPool.Put(buf)
	for off := 0; off < k; off += size {
		piece := chunkPool.Get().(*[]byte)
		m := copy(*piece, (*buf)[off:min(off+size, k)])
		if !d.pace(m) {
			chunkPool.Put(piece)
			return false
		}
		if !d.pass(piece, m) {
			return false
		}
	}
	return true
}

// readSize is how much the reader takes at once: a whole chunk, or less on
// a rate-limited link so that each read is worth at most its burst.
func (d *direction) readSize() int {
	if rate := d.c.n.rules.Load().get(d.from, d.to).rate; rate > 0 {
		return paceChunk(rate)
	}
	return chunkSize
}

// pass applies the current rule to one chunk and takes ownership of buf. It
// reports false once the connection is closed.
func (d *direction) pass(buf *[]byte, k int) bool {
	r := d.c.n.rules.Load().get(d.from, d.to)
	switch {
	case r.blackhole:
		chunkPool.Put(buf)
		return true
	case r.delay == 0 && d.queued.Load() == 0:
		_, err := d.dst.Write((*buf)[:k])
		chunkPool.Put(buf)
		if err != nil {
			d.c.close(isReset(err))
			return false
		}
		return true
	default:
		return d.enqueue(chunk{buf: buf, n: k, due: time.Now().Add(r.delay)})
	}
}

// passFIN propagates the source's half-close, held back while blackholed.
func (d *direction) passFIN() {
	for {
		rules := d.c.n.rules.Load()
		r := rules.get(d.from, d.to)
		if !r.blackhole {
			if r.delay == 0 && d.queued.Load() == 0 {
				d.closeWrite()
			} else {
				d.enqueue(chunk{fin: true, due: time.Now().Add(r.delay)})
			}
			return
		}
		select {
		case <-rules.changed:
		case <-d.c.done:
			return
		}
	}
}

func (d *direction) enqueue(ch chunk) bool {
	d.queued.Add(1)
	select {
	case d.queue <- ch:
		return true
	case <-d.c.done:
		return false
	}
}

// closeWrite delivers a FIN; once both directions have, the connection is over.
func (d *direction) closeWrite() {
	if err := d.dst.CloseWrite(); err != nil {
		d.c.close(isReset(err))
		return
	}
	if d.c.halfClosed.Add(1) == 2 {
		d.c.close(false)
	}
}

func (d *direction) write() {
	defer d.c.n.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var ch chunk
		select {
		case ch = <-d.queue:
		case <-d.c.done:
			return
		}
		if wait := time.Until(ch.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-d.c.done:
				return
			}
		}
		if ch.fin {
			d.closeWrite()
			d.queued.Add(-1)
			continue
		}
		_, err := d.dst.Write((*ch.buf)[:ch.n])
		chunkPool.Put(ch.buf)
		d.queued.Add(-1)
		if err != nil {
			d.c.close(isReset(err))
			return
		}
	}
}

// isReset reports whether err means the peer reset the connection, which the
// proxy passes on as a reset of the other side.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
