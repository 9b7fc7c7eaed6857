package load

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The methods a bench server handles. Other benchmark drivers rely on these
// names and on what each does; they do not change.
const (
	// MethodEcho is a call whose reply is the request payload.
	MethodEcho = "bench.echo"
	// MethodSink is a call whose reply is empty; the server counts the
	// payload bytes.
	MethodSink = "bench.sink"
	// MethodCast is a cast; the server counts the casts and their payload bytes.
	MethodCast = "bench.cast"
	// MethodCount is a call whose reply is CountSize bytes: the casts of
	// MethodCast received, then their payload bytes, as big-endian uint64,
	// since the node started serving.
	MethodCount = "bench.count"
)

// CountSize is the size of MethodCount's reply.
const CountSize = 16

// ErrNotServing means the target answered but has no bench handlers: it
// does not run Serve (ekka-mesh bench serve).
var ErrNotServing = errors.New("the target does not serve the bench methods (run ekka-mesh bench serve there, or call load.Serve on it)")

// Stats are what a Server has counted since it started serving.
type Stats struct {
	EchoCalls uint64 // calls of MethodEcho
	EchoBytes uint64 // their payload bytes
	SinkCalls uint64 // calls of MethodSink
	SinkBytes uint64 // their payload bytes
	Casts     uint64 // casts of MethodCast
	CastBytes uint64 // their payload bytes
}

// Server holds the counters of the bench methods on one node.
type Server struct {
	echoCalls, echoBytes atomic.Uint64
	sinkCalls, sinkBytes atomic.Uint64
	casts, castBytes     atomic.Uint64
}

// Serve registers the bench methods on n (see MethodEcho and the others).
// Registering them again, on the same node, starts the counts from zero.
func Serve(n *mesh.Node) error {
	_, err := NewServer(n)
	return err
}

// NewServer is Serve, returning the Server so that its counts can be read
// (ekka-mesh bench serve logs them when it stops).
func NewServer(n *mesh.Node) (*Server, error) {
	s := &Server{}
	// echo, sink and cast use their payload in place and never keep it, as
	// a service that streams data to a file or a socket would: they borrow
	// it (mesh.Node.HandleBorrowed), so the node reads later messages into
	// the same memory instead of allocating for each.
	handlers := []struct {
		method string
		h      mesh.Handler
		handle func(string, mesh.Handler) error
	}{
		{MethodEcho, s.echo, n.HandleBorrowed},
		{MethodSink, s.sink, n.HandleBorrowed},
		{MethodCast, s.cast, n.HandleBorrowed},
		{MethodCount, s.count, n.Handle},
	}
	for _, m := range handlers {
		if err := m.handle(m.method, m.h); err != nil {
			return nil, fmt.Errorf("load: serve %s: %w", m.method, err)
		}
	}
	return s, nil
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{
		EchoCalls: s.echoCalls.Load(), EchoBytes: s.echoBytes.Load(),
		SinkCalls: s.sinkCalls.Load(), SinkBytes: s.sinkBytes.Load(),
		Casts: s.casts.Load(), CastBytes: s.castBytes.Load(),
	}
}

func (s *Server) echo(_ context.Context, _ string, p []byte) ([]byte, error) {
	s.echoCalls.Add(1)
	s.echoBytes.Add(uint64(len(p)))
	return p, nil // a borrowed payload may be the reply: it is sent before the node reuses it
}

func (s *Server) sink(_ context.Context, _ string, p []byte) ([]byte, error) {
	s.sinkCalls.Add(1)
	s.sinkBytes.Add(uint64(len(p)))
	return nil, nil
}

func (s *Server) cast(_ context.Context, _ string, p []byte) ([]byte, error) {
	s.casts.Add(1)
	s.castBytes.Add(uint64(len(p)))
	return nil, nil
}

func (s *Server) count(context.Context, string, []byte) ([]byte, error) {
	// The two counters are read one after the other, not as one snapshot:
	// while casts arrive, the bytes may already include a cast the count
	// does not. Drivers wait until both equal what they sent.
	var b [CountSize]byte
	binary.BigEndian.PutUint64(b[:8], s.casts.Load())
	binary.BigEndian.PutUint64(b[8:], s.castBytes.Load())
	return b[:], nil
}

// Count asks target (linked to n, serving the bench methods) how many casts
// of MethodCast it has received, and how many payload bytes they carried.
func Count(ctx context.Context, n *mesh.Node, target string) (casts, bytes uint64, err error) {
	reply, err := n.Call(ctx, target, MethodCount, nil)
	if errors.Is(err, mesh.ErrNoHandler) {
		return 0, 0, fmt.Errorf("load: %s: %w", target, ErrNotServing)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("load: call %s on %s: %w", MethodCount, target, err)
	}
	if len(reply) != CountSize {
		return 0, 0, fmt.Errorf("load: %s on %s replied %d bytes, want %d (two big-endian uint64)", MethodCount, target, len(reply), CountSize)
	}
	return binary.BigEndian.Uint64(reply[:8]), binary.BigEndian.Uint64(reply[8:]), nil
}
