package meshtest

import (
	"context"
	"fmt"
	"sync/atomic"
)

// InFlight is a call that its handler holds until the handler's context
// ends: because the caller went away, the link broke or the serving node
// stopped.
type InFlight struct {
	// Err receives the call's error once the call ends.
	Err <-chan error
	// HandlerDone receives the error of the handler's context once it
	// ends.
	HandlerDone <-chan error
}

var inFlightSeq atomic.Uint64

// CallInFlight calls node to from node from, under ctx, on a method whose
// handler holds the call until its own context ends, and returns once the
// handler runs: the call is then in flight. It fails when the call ends
// first, or ctx does.
func (c *Cluster) CallInFlight(ctx context.Context, from, to int) (*InFlight, error) {
	caller, server := c.Node(from), c.Node(to)
	if caller == nil || server == nil {
		return nil, fmt.Errorf("meshtest: a call in flight from %s to %s: both must be running", c.names[from], c.names[to])
	}
	method := fmt.Sprintf("meshtest.in-flight.%d", inFlightSeq.Add(1))
	started := make(chan struct{})
	handlerDone := make(chan error, 1)
	if err := server.Handle(method, func(hctx context.Context, _ string, _ []byte) ([]byte, error) {
		close(started)
		<-hctx.Done()
		handlerDone <- hctx.Err()
		return nil, hctx.Err()
	}); err != nil {
		return nil, fmt.Errorf("meshtest: a call in flight: %w", err)
	}
	callErr := make(chan error, 1)
	go func() {
		_, err := caller.Call(ctx, c.names[to], method, nil)
		callErr <- err
	}()
	select {
	case <-started:
		return &InFlight{Err: callErr, HandlerDone: handlerDone}, nil
	case err := <-callErr:
		return nil, fmt.Errorf("meshtest: the call from %s to %s ended before its handler ran: %v", c.names[from], c.names[to], err)
	case <-ctx.Done():
		return nil, fmt.Errorf("meshtest: waiting for the call from %s to %s to reach its handler: %w", c.names[from], c.names[to], ctx.Err())
	}
}
