package mesh

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCastQueueOrderAndRoom: casts come out in the order they went in, in
// batches; a full queue holds the pusher until the runner takes a batch;
// both ends give up when their context ends.
func TestCastQueueOrderAndRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cq := newCastQueue(4, 1<<30)
	const n = 1000
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range n {
			if !assert.True(t, cq.push(ctx, castMsg{payload: []byte{byte(i), byte(i >> 8)}}), "push gave up while the runner takes") {
				return
			}
		}
	}()
	next := 0
	for next < n {
		batch := cq.take(ctx)
		require.NotNil(t, batch, "take gave up after %d casts", next)
		require.LessOrEqual(t, len(batch), 4, "a batch of %d casts from a queue limited to 4", len(batch))
		for _, m := range batch {
			got := int(m.payload[0]) | int(m.payload[1])<<8
			require.Equal(t, next, got, "cast %d came out as number %d", got, next)
			next++
		}
	}
	<-pushed

	// Full queue, no runner: push waits and gives up with its context.
	for range 4 {
		cq.push(ctx, castMsg{})
	}
	short, cancelShort := context.WithCancel(ctx)
	done := make(chan bool)
	go func() { done <- cq.push(short, castMsg{}) }()
	cancelShort()
	require.False(t, <-done, "push into a full queue reported success after its context ended")
	// An empty queue: take gives up with its context.
	cq.take(ctx)
	empty, cancelEmpty := context.WithCancel(ctx)
	cancelEmpty()
	b := cq.take(empty)
	require.Nil(t, b, "take on an empty queue with a done context returned %d casts", len(b))
}
