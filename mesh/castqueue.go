package mesh

import (
	"context"
	"sync"
)

// castQueue holds a link's casts between its reader, which pushes them in
// arrival order, and the goroutine that runs their handlers, which takes
// them in batches. A channel per cast cost two select statements per
// message, a third of the receiving process's time with small casts; here
// the runner takes everything queued at once, and a wake-up is sent only
// to a runner that is waiting for work.
type castQueue struct {
	mu    sync.Mutex
	q     []castMsg
	spare []castMsg
	limit int
	idle  bool          // the runner is waiting for work
	full  bool          // the reader is waiting for room
	wake  chan struct{} // to the runner; capacity 1
	room  chan struct{} // to the reader; capacity 1
}

func newCastQueue(limit int) *castQueue {
	return &castQueue{limit: limit, wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// push queues m, waiting while the queue holds limit casts (TCP then pushes
// back on the sender); it reports false when ctx ended first.
func (cq *castQueue) push(ctx context.Context, m castMsg) bool {
	cq.mu.Lock()
	for len(cq.q) >= cq.limit {
		cq.full = true
		cq.mu.Unlock()
		select {
		case <-cq.room:
		case <-ctx.Done():
			return false
		}
		cq.mu.Lock()
	}
	cq.q = append(cq.q, m)
	wake := cq.idle
	cq.idle = false
	cq.mu.Unlock()
	if wake {
		select {
		case cq.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns every queued cast, waiting for one when none is; it returns
// nil when ctx ends. The slice is the caller's until its next take.
func (cq *castQueue) take(ctx context.Context) []castMsg {
	cq.mu.Lock()
	for len(cq.q) == 0 {
		cq.idle = true
		cq.mu.Unlock()
		select {
		case <-cq.wake:
		case <-ctx.Done():
			return nil
		}
		cq.mu.Lock()
	}
	batch := cq.q
	clear(cq.spare) // drop the previous batch's references
	cq.q = cq.spare[:0]
	cq.spare = batch
	full := cq.full
	cq.full = false
	cq.mu.Unlock()
	if full {
		select {
		case cq.room <- struct{}{}:
		default:
		}
	}
	return batch
}
