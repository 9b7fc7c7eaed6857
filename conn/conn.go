package conn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xtaci/smux"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// ErrClosed is returned by Send and friends once the connection is closed.
var ErrClosed = errors.New("conn: connection closed")

// Handler receives every complete message of a connection, on the reader
// goroutine of the lane it arrived on. body is reassembled and decompressed.
// When owned is true, body is a buffer of its own that the handler may keep
// (large calls, replies and casts are read straight into one, so they are
// copied once, from the socket); otherwise it is valid only until the
// handler returns. Handlers must not block for long: a blocked handler
// stalls its lane (hand long work to a goroutine).
type Handler func(c *Conn, h wire.Header, body []byte, owned bool)

// Lane sizing. Control traffic rides an smux stream; ordinary calls, replies
// and all casts ride the data lane; calls and replies of LargeThreshold bytes
// or more ride the large lane, chunked, so that they never delay small calls.
const (
	// LargeThreshold is the body size from which calls and replies use the large lane.
	LargeThreshold = 64 << 10
	// chunkSize is the largest frame payload a sender puts in one chunk on
	// the data lane, so that small frames interleave with a large cast. The
	// large lane carries nothing small: there a message is chunked only
	// above the peer's frame limit.
	chunkSize = 256 << 10
	// ownedThreshold is the body size from which calls, replies and casts
	// are read straight into a buffer the handler keeps.
	ownedThreshold = 8 << 10
	// DefaultMaxMessage bounds a reassembled (or decompressed) message; it
	// is Config.MaxMessage's default and largest value.
	DefaultMaxMessage = 256 << 20
	// Read buffers: every lane starts with a small one for the handshake;
	// the data lane, which carries many small frames, grows to 64 KiB so a
	// burst arrives in few reads; the large lane grows with its frames
	// (wire.Reader does that on its own). A link that carries little costs
	// little memory: 50 nodes in one process hold 2450 link ends.
	handshakeReadBuffer = 4 << 10
	dataReadBuffer      = 64 << 10
)

// smuxConfig sizes the control lane's session on purpose: control frames are
// small, so a 4 MiB session buffer and 1 MiB per stream leave room for on-demand
// byte streams without letting one of them starve the control stream; smux's
// own keepalive is off because the mesh heartbeats on the control stream.
func smuxConfig() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = 2
	c.KeepAliveDisabled = true
	c.MaxFrameSize = 32 << 10
	c.MaxReceiveBuffer = 4 << 20
	c.MaxStreamBuffer = 1 << 20
	return c
}

// Conn is one authenticated link to a peer: an smux session (control stream
// and byte streams) and two framed TCP lanes (data and large).
type Conn struct {
	cfg    *Config
	peer   Peer
	linkID uint64
	dialer bool

	tcp     [3]net.Conn
	readers [3]*wire.Reader
	sess    *smux.Session
	ctrl    *smux.Stream
	lanes   [3]*laneWriter

	streams chan *smux.Stream

	chunkID atomic.Uint64 // ids for chunked casts
	zip     *compressor   // nil when the link does not compress

	stats     Stats
	laneCount [3]laneCounters // per-lane counts (stats.go)
	// mem counts the bytes of messages being reassembled or decompressed
	// against Config.MaxReassembly and the node's Config.Budget.
	mem        memory
	msgReaders [3]*messageReader
	// The watchdog (limits.go) runs on watchT while a lane is backed up or
	// a chunked message is unfinished.
	stall        [3]stallWindow // used by the watchdog only
	watchT       *time.Timer
	watchEvery   time.Duration
	watchArmed   atomic.Bool
	watchMu      sync.Mutex
	watchStopped atomic.Bool
	// lastRead is when a lane last read bytes from the peer (unix ns).
	lastRead atomic.Int64
	closing  atomic.Bool                     // Close or Abort has sent the goodbyes
	goodbye  atomic.Pointer[PeerClosedError] // the first goodbye the peer sent on a data or large lane
	lifeMu   sync.Mutex                      // orders Start against fail
	started  bool

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
	errMu     sync.Mutex
	err       error
	wg        sync.WaitGroup
}

func newConn(cfg *Config, peer Peer, linkID uint64, dialer bool, tcp [3]net.Conn, readers [3]*wire.Reader, sess *smux.Session, ctrl *smux.Stream) *Conn {
	c := &Conn{
		cfg: cfg, peer: peer, linkID: linkID, dialer: dialer,
		tcp: tcp, readers: readers, sess: sess, ctrl: ctrl,
		streams: make(chan *smux.Stream, 16),
		closed:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.readers[wire.LaneControl] = wire.NewReader(ctrl, cfg.maxPayload(), handshakeReadBuffer)
	budget, stall := cfg.laneBudget(), cfg.stallTimeout()
	c.lanes[wire.LaneControl] = newLaneWriter(ctrl, nil, 0, budget, &c.stats, c.closed)
	c.lanes[wire.LaneData] = newLaneWriter(tcp[wire.LaneData], tcp[wire.LaneData], stall, budget, &c.stats, c.closed)
	c.lanes[wire.LaneLarge] = newLaneWriter(tcp[wire.LaneLarge], tcp[wire.LaneLarge], stall, budget, &c.stats, c.closed)
	c.mem = memory{limit: cfg.maxReassembly(), node: cfg.Budget}
	for i, l := range c.lanes {
		l.onBackup = c.armWatch
		c.msgReaders[i] = &messageReader{r: c.readers[i], maxMsg: cfg.maxMessage(), maxFrame: int(cfg.maxPayload()), sized: peer.ChunkSize, mem: &c.mem, onChunk: c.armWatch, count: &c.laneCount[i]}
	}
	c.watchEvery = watchInterval(stall, cfg.chunkTimeout())
	c.watchT = time.AfterFunc(time.Hour, c.watchdog)
	c.watchT.Stop()
	if peer.Compress && cfg.Compression != CompressOff {
		c.zip = newCompressor(cfg.Compression, cfg.CompressThreshold)
	}
	return c
}

// Peer returns what the handshake established about the other side.
func (c *Conn) Peer() Peer { return c.peer }

// LinkID is the random id the dialer chose for this link.
func (c *Conn) LinkID() uint64 { return c.linkID }

// Dialed reports whether this side dialed the link.
func (c *Conn) Dialed() bool { return c.dialer }

// RemoteAddr is the peer's address on the data lane.
func (c *Conn) RemoteAddr() net.Addr { return c.tcp[wire.LaneData].RemoteAddr() }

// Stats returns counters of frames, writes and hand-offs so far.
func (c *Conn) Stats() StatsSnapshot {
	return StatsSnapshot{
		FramesSent: c.laneCount[0].framesSent.Load() + c.laneCount[1].framesSent.Load() + c.laneCount[2].framesSent.Load(),
		Writes:     c.stats.Writes.Load(),
		Handoffs:   c.stats.Handoffs.Load(),
		FramesRecv: c.laneCount[0].framesRecv.Load() + c.laneCount[1].framesRecv.Load() + c.laneCount[2].framesRecv.Load(),
		Compressed: c.stats.Compressed.Load(),
		Queued:     c.queued(),
		Reassembly: c.mem.held.Load(),
	}
}

// queued is the bytes waiting on the link's lanes: queued frames and the
// frames of senders waiting for room.
func (c *Conn) queued() int64 {
	var n int64
	for _, l := range c.lanes {
		_, q, _ := l.backlog()
		n += int64(q)
	}
	return n
}

// Start begins reading: h receives every message from now on. Nothing is
// read before Start, so the owner can register the connection first.
// Start may be called once.
func (c *Conn) Start(h Handler) {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.started {
		return
	}
	c.started = true
	select {
	case <-c.closed:
		close(c.done)
		return
	default:
	}
	for lane := range c.readers {
		c.wg.Add(1)
		go c.readLoop(uint8(lane), h)
	}
	for _, l := range c.lanes {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); l.run() }()
	}
	c.wg.Add(1)
	go c.acceptStreams()
	go func() { c.wg.Wait(); c.stopWatch(); close(c.done) }()
}

// LastRead returns when the connection last read bytes from the peer, on
// any lane; before the first read it is the zero time.
func (c *Conn) LastRead() time.Time {
	if ns := c.lastRead.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Done is closed once the connection is closed and every goroutine it
// started has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Closed is closed as soon as the connection starts closing.
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// controlType reports whether t travels on the control lane.
func controlType(t wire.Type) bool {
	switch t {
	case wire.TypeCall, wire.TypeReply, wire.TypeErrorReply, wire.TypeCast:
		return false
	}
	return true
}

// Send sends one message whose body is head followed by payload. The lane
// follows from the type and size (see LargeThreshold); casts are queued and
// written by the lane's flusher when the lane is idle (batched, FIFO per
// link), everything else is written by the caller when the lane is idle.
// Bodies above the frame limit are chunked. Bodies of
// Config.CompressThreshold bytes or more are S2-compressed when both sides
// agreed and Config.Compression says it pays, one frame's worth at a time:
// each frame's payload (each chunk's piece) is a block of its own that
// decodes to at most the peer's payload limit. head and payload are not
// retained. ctx bounds the wait for room in a congested lane. A body above
// Config.MaxMessage is refused with a *MessageTooLargeError
// (errors.Is(err, ErrMessageTooLarge)): it is not sent and the link stays up.
func (c *Conn) Send(ctx context.Context, t wire.Type, id uint64, head, payload []byte) error {
	return c.SendAs(ctx, "", t, id, head, payload)
}

// SendAs is Send for a message of a named kind (the method, for calls and
// casts): with CompressAuto, what the compressor learns about how well
// messages shrink is kept per kind.
func (c *Conn) SendAs(ctx context.Context, kind string, t wire.Type, id uint64, head, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := len(head) + len(payload)
	if size > c.cfg.maxMessage() {
		return &MessageTooLargeError{Peer: c.peer.Name, Type: t, Size: size, Limit: c.cfg.maxMessage()}
	}
	var lane uint8
	async := false
	limit := chunkSize
	switch {
	case controlType(t):
		lane = wire.LaneControl
	case t == wire.TypeCast:
		lane = wire.LaneData
		async = true
	case size >= LargeThreshold:
		lane = wire.LaneLarge
		limit = wire.DefaultMaxPayload
	default:
		lane = wire.LaneData
	}
	if c.peer.MaxPayload != 0 {
		limit = min(limit, int(c.peer.MaxPayload))
	}
	l := c.lanes[lane]
	// Compression (PROTOCOL.md 4.1) is decided per message, and applied per
	// frame: every compressed frame is an S2 block of its own that decodes
	// to at most limit bytes (never above the peer's payload limit), so a
	// receiver never decodes more than one frame's worth at a time.
	var zip, sample bool
	var drain float64
	if c.zip != nil && size >= c.zip.threshold {
		zip, sample, drain = c.zipPlan(l, kind, size)
	}
	if size <= limit {
		var flags uint8
		if zip || sample {
			if enc, _ := c.zipPiece(kind, head, payload, sample, drain); enc != nil {
				defer putBuf(enc)
				head, payload = nil, *enc
				flags = wire.FlagCompressed
				c.stats.Compressed.Add(1)
			}
		}
		err := l.send(ctx, t, flags, id, head, payload, async)
		if err == nil {
			c.laneCount[lane].framesSent.Add(1)
		}
		return c.sendErr(lane, err)
	}
	if id == 0 {
		// Chunks are reassembled by (type, id): a message without an id of
		// its own gets a fresh one so that two chunked messages of the same
		// type never mix.
		id = c.chunkID.Add(1)
	}
	// Chunk: the body (head and payload) is cut into pieces of at most
	// limit bytes, the first one shorter by the size announcement; chunks
	// go in order on one lane. head and payload are never joined: a large
	// payload is not copied. Where the peer reads it, the first chunk opens
	// with the body's size, so the peer reassembles into one buffer of the
	// right size. Each piece is compressed on its own when the message is,
	// and goes as it is when it does not shrink; the announcement is never
	// compressed.
	var pre []byte
	var ab [wire.ChunkSizeLen]byte
	if c.peer.ChunkSize {
		pre = binary.BigEndian.AppendUint64(ab[:0], uint64(size))
	}
	if len(pre)+len(head) >= limit/2 {
		// A head too long to share a chunk with the payload (a method name
		// near its 64 KiB limit, to a peer with a small frame limit): join
		// them, and cut the whole.
		payload = append(append(make([]byte, 0, len(head)+len(payload)), head...), payload...)
		head = nil
	}
	compressed := false
	for off, isFirst := 0, true; off < len(payload) || isFirst; isFirst = false {
		var p0, h []byte
		if isFirst {
			p0, h = pre, head
		}
		end := min(off+limit-len(p0)-len(h), len(payload))
		piece := payload[off:end]
		f := uint8(0)
		if end < len(payload) {
			f = wire.FlagMore
		}
		var enc *[]byte
		if zip || sample {
			enc, zip = c.zipPiece(kind, h, piece, sample, drain)
			sample = false
		}
		var err error
		switch {
		case enc != nil:
			compressed = true
			err = l.send(ctx, t, f|wire.FlagCompressed, id, p0, *enc, async)
			putBuf(enc)
		case len(p0) > 0 && len(h) > 0:
			var hb [wire.ChunkSizeLen + 64]byte
			err = l.send(ctx, t, f, id, append(append(hb[:0], p0...), h...), piece, async)
		case len(p0) > 0:
			err = l.send(ctx, t, f, id, p0, piece, async)
		default:
			err = l.send(ctx, t, f, id, h, piece, async)
		}
		if err != nil {
			return c.sendErr(lane, err)
		}
		c.laneCount[lane].framesSent.Add(1)
		off = end
	}
	if compressed {
		c.stats.Compressed.Add(1)
	}
	return nil
}

// zipPlan says whether a message of size bytes of kind goes compressed
// (use), or is compressed to learn its kind's figures, the decision then
// following from them (sample), on lane l draining drain bytes/s.
func (c *Conn) zipPlan(l *laneWriter, kind string, size int) (use, sample bool, drain float64) {
	drain = l.meter.drain()
	if c.zip.mode == CompressAuto && !slowEnough(drain) {
		return false, false, drain // the common case on a fast link: no clock, no lock
	}
	use, sample = c.zip.plan(kind, size, drain, time.Now())
	return use, sample, drain
}

// zipPiece compresses head+payload, one frame's worth of a message, into
// an S2 block of its own and learns from it. With sample, whether the
// message goes compressed (use) is decided from what is known of its kind
// now; otherwise it does. enc is the block (a pooled buffer, for putBuf)
// when use and the piece shrank, else nil.
func (c *Conn) zipPiece(kind string, head, payload []byte, sample bool, drain float64) (enc *[]byte, use bool) {
	size := len(head) + len(payload)
	now := time.Now()
	enc = encode(head, payload)
	c.zip.learn(kind, size, len(*enc), time.Since(now), now)
	use = !sample || c.zip.worth(kind, drain)
	if !use || len(*enc) >= size {
		putBuf(enc)
		return nil, use
	}
	return enc, true
}

func (c *Conn) sendErr(lane uint8, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A write that made no progress for StallTimeout: the peer does
		// not read. Closed like a lane the watchdog finds stalled.
		_, queued, _ := c.lanes[lane].backlog()
		c.limitFail(&LimitError{Code: wire.CodeTimeout, Reason: fmt.Sprintf(
			"%s lane to %s stalled: a write did not finish within %v (Config.StallTimeout), %d bytes queued",
			laneNames[lane], c.peer.Name, c.cfg.stallTimeout(), queued)}, laneNames[lane])
	}
	c.fail(err)
	if cause := c.Err(); cause != nil && !errors.Is(cause, ErrClosed) {
		return fmt.Errorf("%w: %v", ErrClosed, cause)
	}
	return ErrClosed
}

// readLoop reads one lane until it fails. It only sequences the steps:
// the message reader reassembles chunks and decompresses (read.go),
// readErrorStep and messageStep decide (readpolicy.go), and the loop acts.
func (c *Conn) readLoop(lane uint8, h Handler) {
	defer c.wg.Done()
	rd := c.msgReaders[lane]
	defer rd.releaseAll()
	var reads uint64
	for {
		// The message handed over last is the handler's now: what it
		// held of the budgets is released.
		rd.handed()
		hdr, body, owned, err := rd.next()
		if n := rd.r.Reads(); n != reads {
			// The clock is read once per read from the socket, not per
			// frame: a read may bring hundreds of small frames.
			reads = n
			c.lastRead.Store(time.Now().UnixNano())
		}
		var step readStep
		switch {
		case err != nil:
			step, err = readErrorStep(err, lane, c.closing.Load(), c.goodbye.Load())
		case body == nil:
			continue // a chunk of a message not complete yet
		default:
			step, err = messageStep(hdr.Type, body, lane, c.closing.Load())
		}
		switch step {
		case stepDeliver:
			h(c, hdr, body, owned)
			continue
		case stepSkip:
			continue
		case stepBroken:
			c.readFail(err, lane)
		case stepLaneGoodbye:
			c.goodbye.CompareAndSwap(nil, err.(*PeerClosedError))
			c.laneEnded(err)
		case stepLaneEnded:
			c.laneEnded(err)
		case stepFail:
			c.fail(err)
		}
		return
	}
}

// laneEndGrace is how long a data or large lane that ended waits for the
// control lane to end too before it fails the connection itself.
const laneEndGrace = time.Second

// laneEnded handles the end of a data or large lane. The control
// lane carries membership messages the peer sent just before it closed (a
// leave, say), so the connection fails only when the control lane ends, or
// after a grace period if it does not.
func (c *Conn) laneEnded(err error) {
	t := time.NewTimer(laneEndGrace)
	defer t.Stop()
	select {
	case <-c.closed:
	case <-t.C:
		c.fail(err)
	}
}

// acceptStreams accepts on-demand byte streams the peer opens.
func (c *Conn) acceptStreams() {
	defer c.wg.Done()
	for {
		s, err := c.sess.AcceptStream()
		if err != nil {
			return
		}
		select {
		case c.streams <- s:
		case <-c.closed:
			s.Close()
			return
		}
	}
}

// OpenStream opens an on-demand byte stream to the peer, multiplexed with
// the control stream on the smux session (per-stream flow control).
func (c *Conn) OpenStream(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case <-c.closed:
		return nil, ErrClosed
	default:
	}
	s, err := c.sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("conn: open stream to %s: %w", c.peer.Name, err)
	}
	return s, nil
}

// AcceptStream returns the next byte stream the peer opened.
func (c *Conn) AcceptStream(ctx context.Context) (net.Conn, error) {
	select {
	case s := <-c.streams:
		return s, nil
	case <-c.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// closeGrace bounds how long Close waits for the peer to close its end
// after the goodbye.
const closeGrace = 2 * time.Second

// Close closes the link in order: it sends a goodbye with code and reason on
// every lane (so whichever lane the peer reads first tells it why), stops
// sending, and closes the sockets once the peer has closed its end in answer,
// or after a grace period. Waiting for the peer keeps the goodbye, and any
// message sent just before it, from being lost to a reset. Close does not
// block; Closed and Done tell when it is over, and Err is ErrClosed.
func (c *Conn) Close(code wire.Code, reason string) error {
	if !c.sayGoodbye(code, reason) {
		return nil
	}
	c.lifeMu.Lock()
	started := c.started
	c.lifeMu.Unlock()
	if !started {
		c.fail(ErrClosed)
		return nil
	}
	t := time.AfterFunc(closeGrace, func() { c.fail(ErrClosed) })
	go func() {
		<-c.closed
		t.Stop()
	}()
	return nil
}

// Abort sends a goodbye (best effort) and closes the sockets at once, for a
// peer that is not expected to answer (a silent one, say).
func (c *Conn) Abort(code wire.Code, reason string) error {
	c.sayGoodbye(code, reason)
	c.fail(ErrClosed)
	return nil
}

// sayGoodbye sends the goodbyes and stops every lane for senders. It
// reports false when the connection was already closing.
func (c *Conn) sayGoodbye(code wire.Code, reason string) bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	select {
	case <-c.closed:
		return false
	default:
	}
	if code == 0 {
		code = wire.CodeShutdown
	}
	var b [256]byte
	g := wire.Reject{T: wire.TypeGoodbye, Code: code, Reason: []byte(reason)}
	body := g.Append(b[:0])
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	c.ctrl.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	for _, l := range c.lanes {
		l.send(ctx, wire.TypeGoodbye, 0, 0, body, nil, false)
		l.fail(ErrClosed)
	}
	cancel()
	return true
}

// fail closes the connection with err as its cause (the first cause wins).
func (c *Conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.lifeMu.Lock()
		defer c.lifeMu.Unlock()
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.closed)
		c.watchT.Stop()
		for _, l := range c.lanes {
			l.fail(ErrClosed)
		}
		c.sess.Close()
		for _, t := range c.tcp {
			t.Close()
		}
		if !c.started {
			c.started = true // a later Start does nothing
			close(c.done)
		}
	})
}
