package mesh

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCallContext: the handler's context says why it is done in every
// case, including through contexts derived from it (the context package
// panics when a parent is done without an error).
func TestCallContext(t *testing.T) {
	t.Run("released before Done was asked", func(t *testing.T) {
		c := newCallContext(context.Background(), time.Now().Add(time.Hour))
		if c.Err() != nil {
			t.Fatalf("fresh context: Err %v, want nil", c.Err())
		}
		c.release()
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("after release: Err %v, want Canceled", c.Err())
		}
	})
	t.Run("released with a derived context", func(t *testing.T) {
		c := newCallContext(context.Background(), time.Now().Add(time.Hour))
		child, cancel := context.WithCancel(c)
		defer cancel()
		c.release()
		<-child.Done()
		if !errors.Is(child.Err(), context.Canceled) {
			t.Fatalf("child after release: Err %v, want Canceled", child.Err())
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c := newCallContext(context.Background(), time.Now().Add(20*time.Millisecond))
		child, cancel := context.WithCancel(c)
		defer cancel()
		<-child.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Fatalf("past the deadline: Err %v, child %v, want DeadlineExceeded", c.Err(), child.Err())
		}
		if dl, ok := c.Deadline(); !ok || dl.IsZero() {
			t.Fatal("Deadline not reported")
		}
		c.release()
	})
	t.Run("parent cancelled", func(t *testing.T) {
		parent, cancelParent := context.WithCancel(context.Background())
		c := newCallContext(parent, time.Now().Add(time.Hour))
		done := c.Done()
		cancelParent()
		<-done
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("parent cancelled: Err %v, want Canceled", c.Err())
		}
		c.release()
	})
	t.Run("value", func(t *testing.T) {
		type key struct{}
		c := newCallContext(context.WithValue(context.Background(), key{}, 7), time.Now().Add(time.Hour))
		if c.Value(key{}) != 7 {
			t.Fatal("Value does not reach the parent")
		}
		c.release()
	})
}
