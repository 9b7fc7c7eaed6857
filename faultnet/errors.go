package faultnet

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// ErrClosed is returned by every dial on a Network after Close.
var ErrClosed = errors.New("faultnet: network is closed")

// ErrUnknownEndpoint is returned by Dial when the destination name was never
// registered (or was unregistered). The returned error names the endpoint.
var ErrUnknownEndpoint = errors.New("faultnet: unknown endpoint")

// refusedError is the cause of a dial across a cut link. It unwraps to
// syscall.ECONNREFUSED so callers treat it exactly like a refused connection.
type refusedError struct{ from, to string }

func (e *refusedError) Error() string {
	return fmt.Sprintf("faultnet: link %s -> %s is cut: %v", e.from, e.to, syscall.ECONNREFUSED)
}

func (e *refusedError) Unwrap() error { return syscall.ECONNREFUSED }

// blackholedError is the cause of a dial that waited on a blackholed link
// until its context ended. It unwraps to the context's error.
type blackholedError struct {
	from, to string
	cause    error
}

func (e *blackholedError) Error() string {
	return fmt.Sprintf("faultnet: link %s -> %s is blackholed, no answer before the context ended: %v",
		e.from, e.to, e.cause)
}

func (e *blackholedError) Unwrap() error { return e.cause }

// Timeout reports whether the dial gave up because of a deadline, so that
// (*net.OpError).Timeout answers as it would for a SYN to a dead host.
func (e *blackholedError) Timeout() bool { return errors.Is(e.cause, context.DeadlineExceeded) }

// endpointAddr is the net.Addr reported in dial errors: the destination's
// registered address, without any name resolution.
type endpointAddr string

func (a endpointAddr) Network() string { return "tcp" }
func (a endpointAddr) String() string  { return string(a) }
