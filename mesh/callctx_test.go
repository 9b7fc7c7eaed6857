package mesh

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCallContext: the handler's context says why it is done in every
// case, including through contexts derived from it (the context package
// panics when a parent is done without an error).
func TestCallContext(t *testing.T) {
	t.Run("released before Done was asked", func(t *testing.T) {
		c := newCallContext(context.Background(), time.Now().Add(time.Hour))
		require.NoError(t, c.Err(), "fresh context: Err %v, want nil", c.Err())
		c.release()
		<-c.Done()
		require.ErrorIs(t, c.Err(), context.Canceled, "after release: Err %v, want Canceled", c.Err())
	})
	t.Run("released with a derived context", func(t *testing.T) {
		c := newCallContext(context.Background(), time.Now().Add(time.Hour))
		child, cancel := context.WithCancel(c)
		defer cancel()
		c.release()
		<-child.Done()
		require.ErrorIs(t, child.Err(), context.Canceled, "child after release: Err %v, want Canceled", child.Err())
	})
	t.Run("deadline", func(t *testing.T) {
		c := newCallContext(context.Background(), time.Now().Add(20*time.Millisecond))
		child, cancel := context.WithCancel(c)
		defer cancel()
		<-child.Done()
		require.ErrorIs(t, c.Err(), context.DeadlineExceeded, "past the deadline: Err %v, child %v, want DeadlineExceeded", c.Err(), child.Err())
		require.ErrorIs(t, child.Err(), context.DeadlineExceeded, "past the deadline: Err %v, child %v, want DeadlineExceeded", c.Err(), child.Err())
		dl, ok := c.Deadline()
		require.True(t, ok, "Deadline not reported")
		require.False(t, dl.IsZero(), "Deadline not reported")
		c.release()
	})
	t.Run("parent cancelled", func(t *testing.T) {
		parent, cancelParent := context.WithCancel(context.Background())
		c := newCallContext(parent, time.Now().Add(time.Hour))
		done := c.Done()
		cancelParent()
		<-done
		require.ErrorIs(t, c.Err(), context.Canceled, "parent cancelled: Err %v, want Canceled", c.Err())
		c.release()
	})
	t.Run("value", func(t *testing.T) {
		type key struct{}
		c := newCallContext(context.WithValue(context.Background(), key{}, 7), time.Now().Add(time.Hour))
		require.Equal(t, 7, c.Value(key{}), "Value does not reach the parent")
		c.release()
	})
}
