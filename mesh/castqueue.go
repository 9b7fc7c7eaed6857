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
//
// The queue is bounded by count (Config.MaxCastQueue) and by payload bytes
// (Config.MaxCastQueueBytes, counting the batch being handled too, whose
// payloads are still in memory): past either the reader waits, so TCP
// pushes back on the sender.
type castQueue struct {
	mu       sync.Mutex
	q        []castMsg
	spare    []castMsg
	limit    int
	maxBytes int64
	queued   int64         // payload bytes in q
	running  int64         // payload bytes of the batch the runner handles
	idle     bool          // the runner is waiting for work
	full     bool          // the reader is waiting for room
	wake     chan struct{} // to the runner; capacity 1
	room     chan struct{} // to the reader; capacity 1
}

func newCastQueue(limit int, maxBytes int64) *castQueue {
	return &castQueue{limit: limit, maxBytes: maxBytes, wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// castRoom is the queue's rule: a cast of n bytes may join count casts
// holding held bytes when both stay within their limits, or when nothing
// is held at all (so that one cast up to the message limit gets through).
func castRoom(count int, held, n int64, limit int, maxBytes int64) bool {
	if count == 0 && held == 0 {
		return true
	}
	return count < limit && held+n <= maxBytes
}

// push queues m, waiting while the queue is full (TCP then pushes back on
// the sender); it reports false when ctx ended first.
func (cq *castQueue) push(ctx context.Context, m castMsg) bool {
	n := int64(len(m.payload))
	cq.mu.Lock()
	for !castRoom(len(cq.q), cq.queued+cq.running, n, cq.limit, cq.maxBytes) {
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
	cq.queued += n
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
// nil when ctx ends. The slice is the caller's until its next take, which
// also tells the queue that the batch's handlers are done.
func (cq *castQueue) take(ctx context.Context) []castMsg {
	cq.mu.Lock()
	cq.running = 0 // the previous batch is done
	cq.signalRoomLocked()
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
	cq.running, cq.queued = cq.queued, 0
	cq.signalRoomLocked()
	cq.mu.Unlock()
	return batch
}

// signalRoomLocked wakes a reader waiting for room.
func (cq *castQueue) signalRoomLocked() {
	if cq.full {
		cq.full = false
		select {
		case cq.room <- struct{}{}:
		default:
		}
	}
}
