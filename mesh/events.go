package mesh

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	EventNodeUp            EventKind = iota + 1 // a link to a member came up
	EventNodeDown                               // the link to a member went down
	EventNodeJoining                            // a member announced it is joining
	EventNodeLeaving                            // a member announced it is leaving
	EventNodeHealing                            // a member announced it is healing
	EventPartitionOccurred                      // a partition with a member was recorded
	EventPartitionHealed                        // a recorded partition was cleared
	EventTagsChanged                            // a member's tags changed (this node's included)
	EventSuspended                              // this node stopped serving calls (Node.Suspend)
	EventResumed                                // this node serves calls again (Node.Resume)
)

var eventKindNames = [...]string{
	EventNodeUp:            "node-up",
	EventNodeDown:          "node-down",
	EventNodeJoining:       "node-joining",
	EventNodeLeaving:       "node-leaving",
	EventNodeHealing:       "node-healing",
	EventPartitionOccurred: "partition-occurred",
	EventPartitionHealed:   "partition-healed",
	EventTagsChanged:       "tags-changed",
	EventSuspended:         "suspended",
	EventResumed:           "resumed",
}

func (k EventKind) String() string {
	if k >= EventNodeUp && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is one membership event.
type Event struct {
	Kind EventKind
	// Node is the member concerned.
	Node string
	// GUID is the member's GUID as this node knows it.
	GUID GUID
	// Time is when the node observed it.
	Time time.Time
	// Reason says why, for people (e.g. "connection reset", "heartbeat timeout").
	Reason string
	// Seq numbers the events of one node from 1 up, in publish order.
	Seq uint64
}

// eventBus fans events out to subscribers. publish never blocks and never
// drops: every subscriber has its own unbounded FIFO queue drained into its
// channel by its own goroutine, so a slow subscriber only grows its own
// queue. Every subscriber sees the events in the same (publish) order. The
// zero value is ready to use.
type eventBus struct {
	mu     sync.Mutex
	seq    uint64
	subs   map[*Subscription]struct{}
	closed bool
	kinds  [len(eventKindNames)]atomic.Uint64 // events published, by kind (stats.go)
}

// Subscription receives the node's events on C until it is closed.
type Subscription struct {
	bus  *eventBus
	c    chan Event
	wake chan struct{} // capacity 1: "the queue is not empty"
	done chan struct{} // closed by Close
	exit chan struct{} // closed when the drain goroutine returned
	once sync.Once

	mu    sync.Mutex
	queue []Event
	head  int // queue[head:] are pending
}

// subscribe adds a subscriber that sees every event published from now on.
// After close it returns a subscription whose channel is already closed.
func (b *eventBus) subscribe() *Subscription {
	s := &Subscription{
		bus:  b,
		c:    make(chan Event),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.done)
		close(s.c)
		close(s.exit)
		s.once.Do(func() {})
		return s
	}
	if b.subs == nil {
		b.subs = make(map[*Subscription]struct{})
	}
	b.subs[s] = struct{}{}
	go s.drain()
	return s
}

// publish stamps ev with the next sequence number and queues it for every
// subscriber. It never blocks on a subscriber. After close it does nothing.
func (b *eventBus) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.seq++
	ev.Seq = b.seq
	if int(ev.Kind) < len(b.kinds) {
		b.kinds[ev.Kind].Add(1)
	}
	// Queueing under b.mu gives every subscriber the same order.
	for s := range b.subs {
		s.enqueue(ev)
	}
}

// close closes every subscription and waits for their goroutines to return.
func (b *eventBus) close() {
	b.mu.Lock()
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	for s := range subs {
		s.stop()
	}
}

func (b *eventBus) unsubscribe(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// C returns the channel events arrive on. It is closed by Close and when
// the node stops.
func (s *Subscription) C() <-chan Event { return s.c }

// Close stops the subscription: events still queued are discarded, C is
// closed, and the subscription's goroutine has returned when Close does.
// Close may be called more than once and concurrently with a reader.
func (s *Subscription) Close() {
	if s == nil || s.bus == nil {
		return // not made by subscribe: nothing runs
	}
	s.bus.unsubscribe(s)
	s.stop()
}

func (s *Subscription) stop() {
	s.once.Do(func() { close(s.done) })
	<-s.exit
}

func (s *Subscription) enqueue(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest pending event, if any.
func (s *Subscription) next() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == len(s.queue) {
		return Event{}, false
	}
	ev := s.queue[s.head]
	s.queue[s.head] = Event{}
	s.head++
	switch {
	case s.head == len(s.queue):
		s.queue, s.head = s.queue[:0], 0
	case s.head >= 1024 && s.head*2 >= len(s.queue):
		// Drop the consumed prefix so a reader that never quite catches up
		// does not keep it alive.
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	return ev, true
}

func (s *Subscription) drain() {
	defer close(s.exit)
	defer close(s.c)
	for {
		ev, ok := s.next()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		select {
		case s.c <- ev:
		case <-s.done:
			return
		}
	}
}
