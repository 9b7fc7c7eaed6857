package conn

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// laneWriter combines frames from many senders into few writes.
//
// The hot path is built around goroutine hand-offs, which cost about 15 us
// each on a 2-core machine: a sender that finds the lane idle writes its frame
// itself (no hand-off), and frames queued while a write is in progress ride
// along in the next write of whoever owns the lane. Only asynchronous senders
// (casts) hand the write to the lane's flusher goroutine, and only when the
// lane is idle, so a burst of casts costs one hand-off and a few large writes.
// Nothing waits on a timer: an idle lane adds no latency.
type laneWriter struct {
	w  io.Writer
	nc net.Conn // for writev and write deadlines; nil for the smux stream

	writeTimeout time.Duration
	maxPending   int // Config.LaneBudget: senders wait while this much is queued

	// written counts the bytes the lane has written, for the watchdog's
	// drain rate; only the lane's owner adds to it.
	written atomic.Int64
	// waiters and waitBytes count the senders waiting for room or for the
	// lane to be free, and the bytes of their frames (guarded by mu).
	waiters   int
	waitBytes int
	// onBackup is called when a sender starts to wait (arms the watchdog).
	onBackup func()

	mu      sync.Mutex
	pending []byte // frames queued behind the current write
	spare   []byte // the buffer last written, reused for the next batch
	busy    bool   // a goroutine owns the lane and is writing
	err     error  // sticky write error; the lane is dead
	drained chan struct{}
	idle    chan struct{} // closed when the owner gives up the lane; made by waiters
	iov     net.Buffers   // the owner's vectored write, built on iovArr
	iovArr  [3][]byte
	// deadlineSet is when the owner last moved the write deadline (unix ns).
	deadlineSet int64
	iovHead     [wire.HeaderSize + 64]byte

	meter drainMeter // how fast writes drain, for the compression policy

	kick   chan struct{} // wakes the flusher; capacity 1
	closed chan struct{}

	stats *Stats
}

// Stats counts what a link's lanes did; read it with Conn.Stats.
// Frames are counted per lane (laneCounters, stats.go).
type Stats struct {
	Writes     atomic.Uint64 // write system calls (vectored writes count one)
	Handoffs   atomic.Uint64 // wake-ups of another goroutine: flusher kicks and reply deliveries to parked callers
	Compressed atomic.Uint64 // messages sent compressed
}

// StatsSnapshot is a copy of Stats at one moment.
type StatsSnapshot struct {
	FramesSent, Writes, Handoffs, FramesRecv, Compressed uint64
	// Queued is the bytes waiting on the link's lanes now: frames queued
	// behind a write and the frames of senders waiting for room.
	Queued int64
	// Reassembly is the bytes the link holds now of chunked messages being
	// reassembled and bodies being decompressed (see Config.MaxReassembly).
	Reassembly int64
}

func newLaneWriter(w io.Writer, nc net.Conn, writeTimeout time.Duration, maxPending int, stats *Stats, closed chan struct{}) *laneWriter {
	return &laneWriter{
		w:            w,
		nc:           nc,
		writeTimeout: writeTimeout,
		maxPending:   maxPending,
		kick:         make(chan struct{}, 1),
		closed:       closed,
		stats:        stats,
	}
}

// directThreshold is the body size from which a sender that finds the lane
// idle writes header and payload with one vectored write, without copying the
// payload into the lane buffer.
const directThreshold = 8 << 10

// waitThreshold is the body size from which a sender that finds the lane
// busy waits for it to be free and then writes its frame itself (vectored,
// from its own buffer) rather than copying it into the batch: copying a
// frame this large costs more than the wake-up, and a steady stream of them
// would otherwise be copied whole whenever the flusher owns the lane.
const waitThreshold = 64 << 10

// maxRetainedBuffer caps the batch buffers a lane keeps between bursts.
const maxRetainedBuffer = 1 << 20

// send queues one frame. When async is false, or the payload is large, and
// the lane is idle, the caller writes it (and anything queued meanwhile)
// itself. When async is true and the lane is idle, the flusher goroutine is
// woken. When the lane is busy the frame joins the next batch. The payload is
// not retained after send returns.
func (l *laneWriter) send(ctx context.Context, t wire.Type, flags uint8, id uint64, head, payload []byte, async bool) error {
	size := len(head) + len(payload)
	// A busy lane holds a large frame until it is free (the frame is then
	// written from the caller's buffer), and any other frame while the
	// batch is full.
	waitFree := l.nc != nil && size >= waitThreshold
	l.mu.Lock()
	if l.err == nil && l.busy && (waitFree || len(l.pending) >= l.maxPending) {
		if err := l.waitRoom(ctx, size, waitFree); err != nil {
			return err
		}
	}
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return err
	}
	if !l.busy && size >= directThreshold && l.nc != nil {
		// Vectored write straight from the caller's buffers.
		l.busy = true
		batch := l.takeBatchLocked()
		hdr := l.iovHead[:0]
		hdr, s := wire.BeginFrame(hdr, t, flags, id)
		hdr = append(hdr, head...)
		wire.PutHeader(hdr[s:], wire.Header{Length: uint32(size), Version: wire.Version, Type: t, Flags: flags, ID: id})
		l.mu.Unlock()
		l.iov = l.iovArr[:0]
		if len(batch) > 0 {
			l.iov = append(l.iov, batch)
		}
		l.iov = append(l.iov, hdr, payload)
		err := l.writeVec()
		return l.afterWrite(batch[:0], err)
	}
	l.pending, _ = appendFrame(l.pending, t, flags, id, head, payload)
	if l.busy {
		l.mu.Unlock()
		return nil
	}
	l.busy = true
	if async {
		l.mu.Unlock()
		l.stats.Handoffs.Add(1)
		select {
		case l.kick <- struct{}{}:
		default:
		}
		return nil
	}
	batch := l.takeBatchLocked()
	l.mu.Unlock()
	return l.afterWrite(batch[:0], l.write(batch))
}

// waitRoom waits, with l.mu held, until the lane is free (waitFree) or has
// room, counting the sender as waiting meanwhile so the watchdog sees the
// lane backed up. It returns with l.mu held, or unlocked with ctx's error.
func (l *laneWriter) waitRoom(ctx context.Context, size int, waitFree bool) error {
	l.waiters++
	l.waitBytes += size
	if l.waiters == 1 && l.onBackup != nil {
		l.onBackup()
	}
	for l.err == nil && l.busy && (waitFree || len(l.pending) >= l.maxPending) {
		wait := l.waitDrained
		if waitFree {
			wait = l.waitIdle
		}
		if err := wait(ctx); err != nil {
			l.mu.Lock()
			l.waiters--
			l.waitBytes -= size
			l.mu.Unlock()
			return err
		}
	}
	l.waiters--
	l.waitBytes -= size
	return nil
}

// backlog reports whether senders are waiting on the lane (it is backed
// up), how many bytes wait to be written, and how many it wrote in all.
func (l *laneWriter) backlog() (backed bool, queued int, written int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiters > 0, len(l.pending) + l.waitBytes, l.written.Load()
}

// takeBatchLocked hands the queued frames to the lane's owner for writing
// and queues new frames in the spare buffer meanwhile.
func (l *laneWriter) takeBatchLocked() []byte {
	batch := l.pending
	l.pending = l.spare[:0]
	l.spare = nil
	return batch
}

func appendFrame(dst []byte, t wire.Type, flags uint8, id uint64, head, payload []byte) ([]byte, int) {
	dst, s := wire.BeginFrame(dst, t, flags, id)
	dst = append(dst, head...)
	dst = append(dst, payload...)
	return wire.FinishFrame(dst, s), s
}

// waitDrained waits, with l.mu held on entry, until the pending buffer has
// been taken by the writer. It returns with l.mu held, or unlocked with an
// error when ctx is done.
func (l *laneWriter) waitDrained(ctx context.Context) error { return l.waitOn(ctx, &l.drained) }

// waitIdle waits, with l.mu held on entry, until the lane's owner gives it
// up. It returns with l.mu held, or unlocked with an error when ctx is done.
func (l *laneWriter) waitIdle(ctx context.Context) error { return l.waitOn(ctx, &l.idle) }

// waitOn waits for the channel *ch (made here if no one waits on it yet) to
// be closed by the lane's owner, for the lane to close, or for ctx.
func (l *laneWriter) waitOn(ctx context.Context, ch *chan struct{}) error {
	if *ch == nil {
		*ch = make(chan struct{})
	}
	c := *ch
	l.mu.Unlock()
	select {
	case <-c:
		l.mu.Lock()
		return nil
	case <-l.closed:
		l.mu.Lock()
		if l.err == nil {
			l.err = ErrClosed
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// afterWrite is called by the lane owner after a write: it keeps writing
// whatever queued up meanwhile, then gives up ownership.
func (l *laneWriter) afterWrite(free []byte, err error) error {
	for {
		l.mu.Lock()
		if err != nil && l.err == nil {
			l.err = err
		}
		if l.drained != nil {
			close(l.drained)
			l.drained = nil
		}
		if l.err != nil || len(l.pending) == 0 {
			if l.spare == nil && cap(free) <= maxRetainedBuffer {
				l.spare = free
			}
			l.busy = false
			if l.idle != nil {
				close(l.idle)
				l.idle = nil
			}
			e := l.err
			l.mu.Unlock()
			return e
		}
		batch := l.pending
		if cap(free) > maxRetainedBuffer {
			free = nil // do not keep a buffer a burst of large frames grew
		}
		l.pending = free
		l.mu.Unlock()
		err = l.write(batch)
		free = batch[:0]
	}
}

// armDeadline keeps a write deadline writeTimeout (Config.StallTimeout)
// ahead, but moves it only when it is a second (or an eighth of the
// timeout, if shorter) old: setting it costs a timer update, which showed
// in the profile of the 64-byte ping-pong when done on every write.
func (l *laneWriter) armDeadline() {
	if l.nc == nil || l.writeTimeout <= 0 {
		return
	}
	now := time.Now()
	if now.UnixNano()-l.deadlineSet < int64(min(time.Second, l.writeTimeout/8)) {
		return
	}
	l.deadlineSet = now.UnixNano()
	l.nc.SetWriteDeadline(now.Add(l.writeTimeout))
}

func (l *laneWriter) write(b []byte) error {
	l.armDeadline()
	if len(b) < meterMinWrite {
		n, err := l.w.Write(b)
		l.written.Add(int64(n))
		l.stats.Writes.Add(1)
		return err
	}
	t0 := time.Now()
	n, err := l.w.Write(b)
	l.written.Add(int64(n))
	l.meter.observe(n, time.Since(t0))
	l.stats.Writes.Add(1)
	return err
}

func (l *laneWriter) writeVec() error {
	l.armDeadline()
	t0 := time.Now()
	n, err := l.iov.WriteTo(l.nc) // consumes l.iov; it is rebuilt from iovArr each time
	l.written.Add(n)
	l.meter.observe(int(n), time.Since(t0))
	l.iov = nil
	l.stats.Writes.Add(1)
	return err
}

// run is the flusher goroutine: it writes batches handed to it by async senders.
func (l *laneWriter) run() {
	for {
		select {
		case <-l.kick:
		case <-l.closed:
			return
		}
		l.mu.Lock()
		batch := l.takeBatchLocked()
		l.mu.Unlock()
		l.afterWrite(batch[:0], l.write(batch))
	}
}

// fail makes every later send fail with err.
func (l *laneWriter) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	if l.drained != nil {
		close(l.drained)
		l.drained = nil
	}
	if l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
	l.mu.Unlock()
}
