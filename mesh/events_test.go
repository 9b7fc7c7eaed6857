package mesh

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// collect reads n events from s, failing the test after a deadline.
func collect(t *testing.T, s *Subscription, n int) []Event {
	t.Helper()
	out := make([]Event, 0, n)
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-s.C():
			require.True(t, ok, "channel closed after %d of %d events", len(out), n)
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("got %d of %d events before the deadline", len(out), n)
		}
	}
	return out
}

func TestEventOrderAcrossPublishersAndSubscribers(t *testing.T) {
	var bus eventBus
	defer bus.close()
	const publishers, each, subscribers = 4, 2000, 3
	subs := make([]*Subscription, subscribers)
	for i := range subs {
		subs[i] = bus.subscribe()
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				bus.publish(Event{Kind: EventNodeUp, Node: fmt.Sprintf("p%d@h", p), Reason: fmt.Sprint(i)})
			}
		})
	}
	results := make([][]Event, subscribers)
	var readers sync.WaitGroup
	for i, s := range subs {
		readers.Go(func() { results[i] = collect(t, s, publishers*each) })
	}
	wg.Wait()
	readers.Wait()
	if t.Failed() {
		return
	}
	for i, evs := range results {
		next := map[string]int{}
		for j, ev := range evs {
			require.Equal(t, uint64(j+1), ev.Seq, "subscriber %d event %d has Seq %d; want %d", i, j, ev.Seq, j+1)
			want := fmt.Sprint(next[ev.Node])
			require.Equal(t, want, ev.Reason, "subscriber %d: publisher %s event %s arrived where %s was due", i, ev.Node, ev.Reason, want)
			next[ev.Node]++
			require.Equal(t, results[0][j], ev, "subscriber %d event %d = %+v; subscriber 0 has %+v", i, j, ev, results[0][j])
		}
	}
}

func TestStuckSubscriberDoesNotBlockPublish(t *testing.T) {
	var bus eventBus
	stuck := bus.subscribe() // never read
	reader := bus.subscribe()
	const n = 100_000
	ev := Event{Kind: EventNodeDown, Node: "a@h", Reason: "reset"}
	// Publishing returns although one subscriber never reads: it only
	// grows that subscriber's queue. (No bound on how fast: a blocked
	// publish never returns, and the deadline is for that.)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			bus.publish(ev)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("publishing %d events with a stuck subscriber has not returned after 30s: publish blocks", n)
	}
	evs := collect(t, reader, n)
	if len(evs) == n {
		assert.Equal(t, uint64(1), evs[0].Seq, "reader got Seq %d..%d; want 1..%d", evs[0].Seq, evs[n-1].Seq, n)
		assert.Equal(t, uint64(n), evs[n-1].Seq, "reader got Seq %d..%d; want 1..%d", evs[0].Seq, evs[n-1].Seq, n)
	}
	// The stuck subscriber still has everything, in order.
	first := collect(t, stuck, 3)
	assert.Equal(t, uint64(1), first[0].Seq, "stuck subscriber starts with Seq %d..%d; want 1..3", first[0].Seq, first[2].Seq)
	assert.Equal(t, uint64(3), first[2].Seq, "stuck subscriber starts with Seq %d..%d; want 1..3", first[0].Seq, first[2].Seq)
	bus.close()
}

func TestCloseWithEventsPending(t *testing.T) {
	var bus eventBus
	defer bus.close()
	s := bus.subscribe()
	other := bus.subscribe()
	for range 1000 {
		bus.publish(Event{Kind: EventNodeUp, Node: "a@h"})
	}
	s.Close()
	_, ok := <-s.C()
	require.False(t, ok, "C delivered an event after Close returned; want it closed")
	s.Close() // twice is fine
	bus.publish(Event{Kind: EventNodeDown, Node: "a@h"})
	evs := collect(t, other, 1001)
	require.Equal(t, EventNodeDown, evs[1000].Kind, "the other subscriber's last event = %+v", evs[1000])
	require.Equal(t, uint64(1001), evs[1000].Seq, "the other subscriber's last event = %+v", evs[1000])
}

func TestCloseWhileReaderBlocked(t *testing.T) {
	var bus eventBus
	s := bus.subscribe()
	got := make(chan int)
	go func() {
		n := 0
		for range s.C() {
			n++
		}
		got <- n
	}()
	bus.publish(Event{Kind: EventNodeUp})
	bus.close()
	select {
	case n := <-got:
		require.LessOrEqual(t, n, 1, "reader got %d events; want at most 1", n)
	case <-time.After(5 * time.Second):
		t.Fatal("reader still blocked after bus.close")
	}
	s.Close() // after the bus closed: no-op
}

func TestSubscribeAfterClose(t *testing.T) {
	var bus eventBus
	bus.close()
	s := bus.subscribe()
	_, ok := <-s.C()
	require.False(t, ok, "subscription after close delivered an event")
	bus.publish(Event{Kind: EventNodeUp}) // dropped, no panic
	s.Close()
	bus.close()
	var zero Subscription
	zero.Close() // no panic, no block
	var nilSub *Subscription
	nilSub.Close()
}

func TestEventKindString(t *testing.T) {
	want := map[EventKind]string{
		EventNodeUp: "node-up", EventNodeDown: "node-down", EventNodeJoining: "node-joining",
		EventNodeLeaving: "node-leaving", EventNodeHealing: "node-healing",
		EventPartitionOccurred: "partition-occurred", EventPartitionHealed: "partition-healed",
		EventTagsChanged: "tags-changed", EventSuspended: "suspended", EventResumed: "resumed", 0: "event(0)", 99: "event(99)",
	}
	for k, s := range want {
		assert.Equal(t, s, k.String(), "%d String = %q; want %q", k, k.String(), s)
		b, _ := k.MarshalText()
		assert.Equal(t, s, string(b), "%d MarshalText = %q; want %q", k, b, s)
	}
}

func BenchmarkPublish(b *testing.B) {
	var bus eventBus
	defer bus.close()
	s := bus.subscribe()
	go func() {
		for range s.C() {
		}
	}()
	ev := Event{Kind: EventNodeUp, Node: "a@h"}
	b.ReportAllocs()
	for b.Loop() {
		bus.publish(ev)
	}
}
