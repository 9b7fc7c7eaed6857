package conn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Memory bounds. A peer holding the cookie must not be able to make a node
// hold memory without limit: outgoing frames queue on a lane only up to
// LaneBudget (then senders wait, which stops the mesh from reading that
// peer's requests), a lane that stays backed up without draining at
// MinDrainRate for StallTimeout closes the link, and messages being
// reassembled or decompressed are counted against a budget per link and one
// per node, with a deadline for each chunked message.
const (
	// DefaultLaneBudget is Config.LaneBudget's default.
	DefaultLaneBudget = 4 << 20
	// DefaultStallTimeout is Config.StallTimeout's default.
	DefaultStallTimeout = 30 * time.Second
	// DefaultMinDrainRate is Config.MinDrainRate's default (bytes/s).
	DefaultMinDrainRate = 256 << 10
	// DefaultMaxReassembly is Config.MaxReassembly's default: room for one
	// message at the message limit. Compressed chunks are decoded one by
	// one into the message's buffer (PROTOCOL.md 4.2), so a message never
	// needs its compressed and its decoded form held at once.
	DefaultMaxReassembly = DefaultMaxMessage
	// DefaultNodeReassembly is the node-wide budget package mesh gives
	// every connection of a node by default (see Budget): two messages at
	// the largest message limit, on all links together.
	DefaultNodeReassembly = 2 * DefaultMaxMessage
	// DefaultChunkTimeout is Config.ChunkTimeout's default.
	DefaultChunkTimeout = 30 * time.Second
	// goodbyeTimeout bounds the goodbye sent before a link closed for a
	// broken rule or a broken limit.
	goodbyeTimeout = 200 * time.Millisecond
)

// ErrMessageTooLarge matches (errors.Is) a *MessageTooLargeError.
var ErrMessageTooLarge = errors.New("conn: message too large")

// MessageTooLargeError is returned by Send and SendAs for a message above
// the message limit. The message is not sent and the link stays up.
type MessageTooLargeError struct {
	Peer  string
	Type  wire.Type
	Size  int // bytes of the message body
	Limit int // Config.MaxMessage
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("conn: %s of %d bytes to %s exceeds the message limit of %d bytes; not sent", e.Type, e.Size, e.Peer, e.Limit)
}

// Is makes errors.Is(err, ErrMessageTooLarge) and errors.Is(err, wire.ErrTooLarge) true.
func (e *MessageTooLargeError) Is(target error) bool {
	return target == ErrMessageTooLarge || target == wire.ErrTooLarge
}

// LimitError is why a link was closed for breaking one of this node's
// limits: a lane that stalled, a reassembly budget exceeded, a chunked
// message left unfinished. Code is the goodbye code sent to the peer.
type LimitError struct {
	Code   wire.Code
	Reason string
}

func (e *LimitError) Error() string { return "conn: " + e.Reason }

// Budget is a byte budget shared by every connection of a node: the bytes
// of messages being reassembled or decompressed, on all links together.
// Package mesh makes one per node. A nil *Budget has no limit.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes (at least 1).
func NewBudget(limit int64) *Budget { return &Budget{limit: max(limit, 1)} }

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Used is how many bytes are held now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// reserve takes n bytes if they fit; it reports false (taking nothing) when
// they do not.
func (b *Budget) reserve(n int64) bool {
	if b == nil {
		return true
	}
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *Budget) release(n int64) {
	if b != nil {
		b.used.Add(-n)
	}
}

// memory is what one connection holds of messages being reassembled or
// decompressed: its own count against Config.MaxReassembly, and the node's
// Budget.
type memory struct {
	held  atomic.Int64
	limit int64
	node  *Budget
}

// reserve takes n bytes from the link's and the node's budgets, or returns
// a *LimitError saying which one is exhausted. A nil *memory has no limit.
func (m *memory) reserve(n int64) error {
	if n <= 0 || m == nil {
		return nil
	}
	if h := m.held.Add(n); h > m.limit {
		m.held.Add(-n)
		return &LimitError{Code: wire.CodeTooLarge, Reason: fmt.Sprintf(
			"reassembly budget of the link exceeded: %d bytes held, %d more wanted, limit %d (Config.MaxReassembly)", h-n, n, m.limit)}
	}
	if !m.node.reserve(n) {
		m.held.Add(-n)
		return &LimitError{Code: wire.CodeTooLarge, Reason: fmt.Sprintf(
			"reassembly budget of the node exceeded: %d bytes held by all links, %d more wanted, limit %d (Config.Budget)", m.node.Used(), n, m.node.Limit())}
	}
	return nil
}

func (m *memory) release(n int64) {
	if n > 0 && m != nil {
		m.held.Add(-n)
		m.node.release(n)
	}
}

// stallWindow decides whether a backed-up lane is stalled: it watches the
// lane while frames wait to be written, and says stalled when, over a whole
// StallTimeout of being backed up, the lane drained less than MinDrainRate.
// It does no I/O and reads no clock: the watchdog passes now in.
type stallWindow struct {
	start   time.Time // when the current window began; zero: not backed up
	written int64     // the lane's written count then
}

// check takes the lane's state at now: whether it is backed up and how many
// bytes it has written in all. It reports stalled with the bytes drained and
// the time elapsed in the window that failed.
func (w *stallWindow) check(backed bool, written int64, now time.Time, timeout time.Duration, minRate int64) (stalled bool, drained int64, elapsed time.Duration) {
	if !backed {
		w.start = time.Time{}
		return false, 0, 0
	}
	if w.start.IsZero() {
		w.start, w.written = now, written
		return false, 0, 0
	}
	elapsed = now.Sub(w.start)
	if elapsed < timeout {
		return false, 0, 0
	}
	drained = written - w.written
	if float64(drained) < float64(minRate)*elapsed.Seconds() {
		return true, drained, elapsed
	}
	// Enough progress: a new window starts from here.
	w.start, w.written = now, written
	return false, drained, elapsed
}

// chunkStale reports whether a chunked message whose last chunk came at
// last has gone without progress for longer than timeout at now.
func chunkStale(last, now time.Time, timeout time.Duration) bool {
	return now.Sub(last) >= timeout
}

// watchInterval is how often the watchdog looks while something is to be
// watched: a quarter of the shorter of the two periods, at least 10 ms.
func watchInterval(stall, chunk time.Duration) time.Duration {
	return max(min(stall, chunk)/4, 10*time.Millisecond)
}

var laneNames = [3]string{"control", "data", "large"}

// armWatch starts the watchdog unless it is running. It is called when a
// lane starts to back up and when a chunked message starts; an idle link
// runs no timer.
func (c *Conn) armWatch() {
	if c.watchArmed.CompareAndSwap(false, true) {
		c.watchT.Reset(c.watchEvery)
	}
}

// watchdog runs on a timer while a lane is backed up or a chunked message
// is unfinished: it closes the link when a lane stalled or a chunked message
// made no progress for ChunkTimeout, and re-arms itself while anything is
// left to watch.
func (c *Conn) watchdog() {
	c.watchMu.Lock() // Done waits for a run in progress
	defer c.watchMu.Unlock()
	if c.watchStopped.Load() {
		return
	}
	select {
	case <-c.closed:
		return
	default:
	}
	now := time.Now()
	busy := false
	for i, l := range c.lanes {
		backed, queued, written := l.backlog()
		busy = busy || backed
		stalled, drained, elapsed := c.stall[i].check(backed, written, now, c.cfg.stallTimeout(), int64(c.cfg.minDrainRate()))
		if stalled {
			c.limitFail(&LimitError{Code: wire.CodeTimeout, Reason: fmt.Sprintf(
				"%s lane to %s stalled: %d bytes queued, %d bytes drained in %v (want at least %d bytes/s, Config.MinDrainRate, within Config.StallTimeout %v)",
				laneNames[i], c.peer.Name, queued, drained, elapsed.Round(time.Millisecond), c.cfg.minDrainRate(), c.cfg.stallTimeout())}, laneNames[i])
			return
		}
	}
	for i, rd := range c.msgReaders {
		if rd == nil {
			continue
		}
		n, last := rd.oldest()
		if n == 0 {
			continue
		}
		busy = true
		if chunkStale(last, now, c.cfg.chunkTimeout()) {
			c.limitFail(&LimitError{Code: wire.CodeTimeout, Reason: fmt.Sprintf(
				"%s lane from %s: %d chunked messages unfinished, one without a chunk for %v (Config.ChunkTimeout %v)",
				laneNames[i], c.peer.Name, n, now.Sub(last).Round(time.Millisecond), c.cfg.chunkTimeout())}, laneNames[i])
			return
		}
	}
	c.watchArmed.Store(false)
	if busy {
		c.armWatch()
	}
}

// stopWatch stops the watchdog for good and waits for a run in progress.
func (c *Conn) stopWatch() {
	c.watchStopped.Store(true)
	c.watchT.Stop()
	c.watchMu.Lock()
	c.watchMu.Unlock()
}

// readFail is limitFail called by the reader of lane, which stopped at a
// frame it will not read further. Bytes of the peer left unread in the
// socket would make the close a reset, and a reset can discard the goodbye
// before the peer reads it; so on the data and large lanes it half-closes
// after the goodbye and drains what the peer still sends, for at most
// goodbyeTimeout, before closing.
func (c *Conn) readFail(err error, lane uint8) {
	var drain net.Conn
	if lane != wire.LaneControl {
		drain = c.tcp[lane]
	}
	c.limitFailDrain(err, laneNames[lane], drain)
}

// limitFail closes the link for a broken limit or rule: it logs why, naming
// the peer and the lane, sends a goodbye with the code (best effort, with a
// short deadline: the peer may not be reading) and closes.
func (c *Conn) limitFail(err error, lane string) { c.limitFailDrain(err, lane, nil) }

func (c *Conn) limitFailDrain(err error, lane string, drain net.Conn) {
	code := wire.CodeRefused
	var le *LimitError
	var fe *wire.FrameError
	switch {
	case errors.As(err, &le):
		code = le.Code
	case errors.As(err, &fe):
		code = fe.Code
	}
	select {
	case <-c.closed:
		return
	default:
	}
	c.cfg.logger().Warn("closing link", "peer", c.peer.Name, "lane", lane, "code", code.String(), "reason", err.Error())
	dl := time.Now().Add(goodbyeTimeout)
	for _, t := range c.tcp[wire.LaneData:] {
		t.SetWriteDeadline(dl)
	}
	reason := err.Error()
	if len(reason) > 200 {
		reason = reason[:200]
	}
	if c.sayGoodbye(code, reason) && drain != nil {
		if cw, ok := drain.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		drain.SetReadDeadline(time.Now().Add(goodbyeTimeout))
		io.Copy(io.Discard, io.LimitReader(drain, maxDrain))
	}
	c.fail(err)
}

// maxDrain bounds what readFail discards from a peer before closing.
const maxDrain = 4 << 20

// validateLimits checks the memory bounds; zero means the default.
func (c *Config) validateLimits() error {
	switch {
	case c.MaxMessage < 0 || c.MaxMessage > DefaultMaxMessage:
		return fmt.Errorf("conn config: MaxMessage %d out of range, want 0 (default) or 1..%d", c.MaxMessage, DefaultMaxMessage)
	case c.LaneBudget < 0:
		return fmt.Errorf("conn config: LaneBudget %d is negative, want 0 (default %d) or a byte count", c.LaneBudget, DefaultLaneBudget)
	case c.StallTimeout < 0:
		return fmt.Errorf("conn config: StallTimeout %v is negative, want 0 (default %v) or a duration", c.StallTimeout, DefaultStallTimeout)
	case c.MinDrainRate < 0:
		return fmt.Errorf("conn config: MinDrainRate %d is negative, want 0 (default %d) or bytes per second", c.MinDrainRate, DefaultMinDrainRate)
	case c.MaxReassembly < 0:
		return fmt.Errorf("conn config: MaxReassembly %d is negative, want 0 (default %d) or a byte count", c.MaxReassembly, DefaultMaxReassembly)
	case c.MaxReassembly > 0 && c.MaxReassembly < int64(c.maxMessage()):
		return fmt.Errorf("conn config: MaxReassembly %d is below the message limit %d, want at least that so that one message at the limit can arrive", c.MaxReassembly, c.maxMessage())
	case c.ChunkTimeout < 0:
		return fmt.Errorf("conn config: ChunkTimeout %v is negative, want 0 (default %v) or a duration", c.ChunkTimeout, DefaultChunkTimeout)
	}
	return nil
}

// The memory bounds in effect: a field left at zero (or, had Validate not
// refused it, below zero) means its default.
func (c *Config) maxMessage() int             { return orDefault(c.MaxMessage, DefaultMaxMessage) }
func (c *Config) laneBudget() int             { return orDefault(c.LaneBudget, DefaultLaneBudget) }
func (c *Config) stallTimeout() time.Duration { return orDefault(c.StallTimeout, DefaultStallTimeout) }
func (c *Config) minDrainRate() int           { return orDefault(c.MinDrainRate, DefaultMinDrainRate) }
func (c *Config) maxReassembly() int64        { return orDefault(c.MaxReassembly, DefaultMaxReassembly) }
func (c *Config) chunkTimeout() time.Duration { return orDefault(c.ChunkTimeout, DefaultChunkTimeout) }

// orDefault is v when it is positive, else def.
func orDefault[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
