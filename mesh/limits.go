package mesh

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Defaults of the memory bounds a node keeps per peer (Config).
const (
	// DefaultMaxServingCalls is Config.MaxServingCalls's default.
	DefaultMaxServingCalls = 1024
	// DefaultMaxServingBytes is Config.MaxServingBytes's default.
	DefaultMaxServingBytes = 64 << 20
	// DefaultMaxCastQueue is Config.MaxCastQueue's default.
	DefaultMaxCastQueue = 4096
	// DefaultMaxCastQueueBytes is Config.MaxCastQueueBytes's default.
	DefaultMaxCastQueueBytes = 64 << 20
)

// ErrTooLarge matches (errors.Is) a call, cast or reply refused because
// its body is above the message limit (Config.MaxMessage): the message was
// not sent, and the link stays up.
var ErrTooLarge = conn.ErrMessageTooLarge

// limitDefaults fills the zero memory bounds with their defaults.
func (c Config) limitDefaults() Config {
	c.MaxMessage = cmp.Or(c.MaxMessage, conn.DefaultMaxMessage)
	c.LaneBudget = cmp.Or(c.LaneBudget, conn.DefaultLaneBudget)
	c.StallTimeout = cmp.Or(c.StallTimeout, conn.DefaultStallTimeout)
	c.MinDrainRate = cmp.Or(c.MinDrainRate, conn.DefaultMinDrainRate)
	// One message at the limit: compressed chunks are decoded one by one,
	// so a message never holds more than its decoded size.
	c.MaxReassemblyPerLink = cmp.Or(c.MaxReassemblyPerLink, int64(max(c.MaxMessage, 1)))
	c.MaxReassemblyPerNode = cmp.Or(c.MaxReassemblyPerNode, max(conn.DefaultNodeReassembly, c.MaxReassemblyPerLink))
	c.ChunkTimeout = cmp.Or(c.ChunkTimeout, conn.DefaultChunkTimeout)
	c.MaxServingCalls = cmp.Or(c.MaxServingCalls, DefaultMaxServingCalls)
	c.MaxServingBytes = cmp.Or(c.MaxServingBytes, DefaultMaxServingBytes)
	c.MaxCastQueue = cmp.Or(c.MaxCastQueue, DefaultMaxCastQueue)
	c.MaxCastQueueBytes = cmp.Or(c.MaxCastQueueBytes, DefaultMaxCastQueueBytes)
	return c
}

// validateLimits reports the first bad memory bound (after defaults).
func (c Config) validateLimits() error {
	switch {
	case c.MaxMessage < 1 || c.MaxMessage > conn.DefaultMaxMessage:
		return fmt.Errorf("mesh config: MaxMessage %d out of range, want 1..%d bytes", c.MaxMessage, conn.DefaultMaxMessage)
	case c.LaneBudget < 1:
		return fmt.Errorf("mesh config: LaneBudget %d, want a positive byte count (default %d)", c.LaneBudget, conn.DefaultLaneBudget)
	case c.StallTimeout <= 0:
		return fmt.Errorf("mesh config: StallTimeout %v, want a positive duration (default %v)", c.StallTimeout, conn.DefaultStallTimeout)
	case c.MinDrainRate < 1:
		return fmt.Errorf("mesh config: MinDrainRate %d, want a positive rate in bytes per second (default %d)", c.MinDrainRate, conn.DefaultMinDrainRate)
	case c.MaxReassemblyPerLink < int64(c.MaxMessage):
		return fmt.Errorf("mesh config: MaxReassemblyPerLink %d is below MaxMessage %d, want at least that so one message at the limit can arrive", c.MaxReassemblyPerLink, c.MaxMessage)
	case c.MaxReassemblyPerNode < c.MaxReassemblyPerLink:
		return fmt.Errorf("mesh config: MaxReassemblyPerNode %d is below MaxReassemblyPerLink %d, want at least that", c.MaxReassemblyPerNode, c.MaxReassemblyPerLink)
	case c.ChunkTimeout <= 0:
		return fmt.Errorf("mesh config: ChunkTimeout %v, want a positive duration (default %v)", c.ChunkTimeout, conn.DefaultChunkTimeout)
	case c.MaxServingCalls < 1:
		return fmt.Errorf("mesh config: MaxServingCalls %d, want a positive count (default %d)", c.MaxServingCalls, DefaultMaxServingCalls)
	case c.MaxServingBytes < 1:
		return fmt.Errorf("mesh config: MaxServingBytes %d, want a positive byte count (default %d)", c.MaxServingBytes, DefaultMaxServingBytes)
	case c.MaxCastQueue < 1:
		return fmt.Errorf("mesh config: MaxCastQueue %d, want a positive count (default %d)", c.MaxCastQueue, DefaultMaxCastQueue)
	case c.MaxCastQueueBytes < 1:
		return fmt.Errorf("mesh config: MaxCastQueueBytes %d, want a positive byte count (default %d)", c.MaxCastQueueBytes, DefaultMaxCastQueueBytes)
	}
	return nil
}

// applyLimits copies the connection-level bounds into cc, with the budget
// every connection of the node shares.
func (c *Config) applyLimits(cc *conn.Config) {
	cc.MaxMessage = c.MaxMessage
	cc.LaneBudget = c.LaneBudget
	cc.StallTimeout = c.StallTimeout
	cc.MinDrainRate = c.MinDrainRate
	cc.MaxReassembly = c.MaxReassemblyPerLink
	cc.Budget = conn.NewBudget(c.MaxReassemblyPerNode)
	cc.ChunkTimeout = c.ChunkTimeout
}

// servingGate bounds the calls of one peer a node serves at once, by count
// and by bytes (payloads, and replies until they are sent). The link's
// reader waits at the gate, so a peer that sends calls faster than they are
// served, or that does not read the replies, is no longer read: TCP pushes
// back on it, and memory stays bounded.
type servingGate struct {
	// Every call takes and gives back room here, so the counts are atomic
	// rather than under a mutex the link's reader and its 64 (or 1024)
	// handler goroutines would contend for: with a mutex, 64 calls in
	// flight between two processes ran 6% slower.
	calls    atomic.Int64
	bytes    atomic.Int64
	maxCalls int
	maxBytes int64
	// A reader that finds no room counts itself in waiters, checks again,
	// then sleeps on wake; a release that sees a waiter leaves a token in
	// wake (capacity 1). Both sides write their own word before they read
	// the other's (sequentially consistent atomics), so a release cannot
	// miss a waiter that would otherwise sleep past the room it made.
	waiters  atomic.Int32
	wakeOnce sync.Once
	wake     chan struct{}
}

// admitCall is the gate's rule: a call of n bytes is admitted when fewer
// than maxCalls are served and the bytes stay within maxBytes, or when none
// is served (so that one message up to the message limit always gets in).
func admitCall(calls int, bytes, n int64, maxCalls int, maxBytes int64) bool {
	return calls == 0 || (calls < maxCalls && bytes+n <= maxBytes)
}

func (g *servingGate) admits(n int64) bool {
	return admitCall(int(g.calls.Load()), g.bytes.Load(), n, g.maxCalls, g.maxBytes)
}

// acquire waits until a call of n bytes is admitted; it reports false when
// ctx ends first. Calls are admitted by the link's readers (one per lane
// that carries calls), and only they add calls, so room seen stays room
// except for the other reader: the bound may be passed by one call.
func (g *servingGate) acquire(ctx context.Context, n int64) bool {
	for !g.admits(n) {
		g.wakeOnce.Do(func() { g.wake = make(chan struct{}, 1) })
		g.waiters.Add(1)
		if g.admits(n) {
			g.waiters.Add(-1)
			break
		}
		select {
		case <-g.wake:
			g.waiters.Add(-1)
		case <-ctx.Done():
			g.waiters.Add(-1)
			return false
		}
	}
	g.calls.Add(1)
	g.bytes.Add(n)
	return true
}

// tryAcquire admits a message of n bytes if the gate has room now, without
// waiting: for the control lane, whose reader must never wait (heartbeats
// come behind it).
func (g *servingGate) tryAcquire(n int64) bool {
	if !g.admits(n) {
		return false
	}
	g.calls.Add(1)
	g.bytes.Add(n)
	return true
}

// grow counts n more bytes (a reply) against a call already admitted.
func (g *servingGate) grow(n int64) { g.bytes.Add(n) }

// release ends a call that held n bytes.
func (g *servingGate) release(n int64) {
	g.bytes.Add(-n)
	g.calls.Add(-1)
	if g.waiters.Load() > 0 {
		select {
		case g.wake <- struct{}{}:
		default: // a token is there already
		}
	}
}

// load reports the calls served and the bytes they hold.
func (g *servingGate) load() (calls int, bytes int64) {
	return int(g.calls.Load()), g.bytes.Load()
}

// sendReply sends a served call's reply (or error reply); a reply above the
// message limit is answered with an ErrorReply "too large" instead, so the
// caller learns why rather than waiting for its deadline.
func (lk *link) sendReply(id uint64, method string, reply []byte, code wire.Code, msg string) {
	if code == 0 {
		err := lk.c.SendAs(lk.ctx, method, wire.TypeReply, id, nil, reply)
		if err == nil {
			return // the hot path: errors.As would cost an allocation per call
		}
		var tl *conn.MessageTooLargeError
		if !errors.As(err, &tl) {
			return
		}
		lk.n.log.Warn("reply above the message limit not sent", "method", method, "to", lk.peer, "size", tl.Size, "limit", tl.Limit)
		code, msg = wire.CodeTooLarge, fmt.Sprintf("reply of %d bytes for %s exceeds the message limit of %d bytes", tl.Size, method, tl.Limit)
	}
	lk.sendError(id, code, msg)
}

// sendError answers the call or service request id with an ErrorReply.
func (lk *link) sendError(id uint64, code wire.Code, msg string) {
	e := wire.ErrorReply{Code: code, Message: []byte(msg)}
	lk.c.Send(lk.ctx, wire.TypeErrorReply, id, e.Append(nil), nil)
}

// frameCode is the protocol error code of err: its *wire.FrameError's code,
// or malformed.
func frameCode(err error) wire.Code {
	if fe := (*wire.FrameError)(nil); errors.As(err, &fe) {
		return fe.Code
	}
	return wire.CodeMalformed
}

// castQueueMax is the bounds of a link's cast queue.
func (c *Config) castQueueMax() (int, int64) { return c.MaxCastQueue, c.MaxCastQueueBytes }

// servingMax is the bounds of a link's serving gate.
func (c *Config) servingMax() (int, int64) { return c.MaxServingCalls, c.MaxServingBytes }
