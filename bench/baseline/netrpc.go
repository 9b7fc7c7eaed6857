package baseline

import (
	"context"
	"net"
	"net/rpc"
)

// Bench is the net/rpc service.
type Bench struct{}

// Echo replies with the request.
func (Bench) Echo(req []byte, reply *[]byte) error {
	*reply = req
	return nil
}

// Sink replies with nothing.
func (Bench) Sink(req []byte, reply *[]byte) error {
	*reply = nil
	return nil
}

// ServeNetRPC serves the Bench service with net/rpc on ln until ctx ends.
func ServeNetRPC(ctx context.Context, ln net.Listener) error {
	srv := rpc.NewServer()
	if err := srv.Register(Bench{}); err != nil {
		return err
	}
	return serveConns(ctx, ln, func(c net.Conn) error {
		srv.ServeConn(c)
		return nil
	})
}

// RPCClient is a net/rpc client of the Bench service; it is safe for
// concurrent use (net/rpc multiplexes calls on one connection).
type RPCClient struct {
	c    *rpc.Client
	stop func() bool
}

// DialNetRPC connects to a net/rpc server; the client closes when ctx ends.
func DialNetRPC(ctx context.Context, addr string) (*RPCClient, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cl := rpc.NewClient(c)
	return &RPCClient{c: cl, stop: context.AfterFunc(ctx, func() { cl.Close() })}, nil
}

// Call calls Bench.Echo (echo true) or Bench.Sink with p.
func (c *RPCClient) Call(ctx context.Context, echo bool, p []byte) ([]byte, error) {
	method := "Bench.Sink"
	if echo {
		method = "Bench.Echo"
	}
	var reply []byte
	call := c.c.Go(method, p, &reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		return reply, call.Error
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close closes the client.
func (c *RPCClient) Close() error {
	c.stop()
	return c.c.Close()
}
