package mesh

import (
	"context"
	"sync"
	"time"
)

// callContext is the context of a handler serving a call with a deadline:
// the link's context, done at the caller's deadline. context.WithTimeout
// costs a timer and three allocations per call, although most handlers
// return long before the deadline without ever asking for Done; this
// context starts its timer only when Done is first called. Err and
// Deadline work without it.
type callContext struct {
	parent   context.Context
	deadline time.Time

	once   sync.Once
	timed  context.Context // WithDeadline(parent, deadline), made by Done
	cancel context.CancelFunc
}

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
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *callContext) Value(key any) any { return c.parent.Value(key) }

// release stops the timer, if Done started one.
func (c *callContext) release() {
	c.once.Do(func() {}) // no timer from now on
	if c.cancel != nil {
		c.cancel()
	}
}
