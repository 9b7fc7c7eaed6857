package mesh

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// callContext is the context of a handler serving a call with a deadline:
// the link's context, done at the caller's deadline, and cancelled once the
// handler has returned. context.WithTimeout costs a timer and three
// allocations per call, although most handlers return long before the
// deadline without ever asking for Done; this context starts its timer only
// when Done is first called. Err and Deadline work without it, and Err
// always names why Done is closed: the parent's error, Canceled after
// release, DeadlineExceeded past the deadline.
type callContext struct {
	parent   context.Context
	deadline time.Time
	released atomic.Bool

	once   sync.Once
	timed  context.Context // what Done returns the channel of
	cancel context.CancelFunc
}

// canceledContext is done from the start: Done after release returns its channel.
var canceledContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func newCallContext(parent context.Context, deadline time.Time) *callContext {
	return &callContext{parent: parent, deadline: deadline}
}

func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *callContext) Done() <-chan struct{} {
	c.once.Do(func() { c.timed, c.cancel = context.WithDeadline(c.parent, c.deadline) })
	return c.timed.Done()
}

func (c *callContext) Err() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if c.released.Load() {
		return context.Canceled
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *callContext) Value(key any) any { return c.parent.Value(key) }

// release cancels the context once the handler has returned, and stops the
// timer if Done started one.
func (c *callContext) release() {
	c.released.Store(true) // before Done can close for it: Err must say Canceled
	c.once.Do(func() { c.timed = canceledContext })
	if c.cancel != nil {
		c.cancel()
	}
}
