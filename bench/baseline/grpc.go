package baseline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
)

// grpcMaxMessage lets messages up to 64 MiB through (gRPC's default is 4 MiB).
const grpcMaxMessage = 64 << 20

// rawCodec carries []byte messages as they are: no protobuf, no protoc.
// Messages are *[]byte when received and []byte or *[]byte when sent.
type rawCodec struct{}

func (rawCodec) Name() string { return "ekkabench-raw" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case []byte:
		return mem.BufferSlice{mem.SliceBuffer(m)}, nil
	case *[]byte:
		return mem.BufferSlice{mem.SliceBuffer(*m)}, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T, want []byte or *[]byte", v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T, want *[]byte", v)
	}
	*m = data.Materialize() // data is freed when we return: one copy
	return nil
}

// benchService is the (empty) interface the service descriptor names.
type benchService interface{}

type grpcServer struct{}

func unary(reply func([]byte) []byte) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var req []byte
		if err := dec(&req); err != nil {
			return nil, err
		}
		return reply(req), nil
	}
}

func bidi(reply func([]byte) []byte) grpc.StreamHandler {
	return func(_ any, s grpc.ServerStream) error {
		for {
			var req []byte
			if err := s.RecvMsg(&req); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := s.SendMsg(reply(req)); err != nil {
				return err
			}
		}
	}
}

func push(_ any, s grpc.ServerStream) error {
	var msgs, total uint64
	for {
		var req []byte
		if err := s.RecvMsg(&req); err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			out := make([]byte, 16)
			binary.BigEndian.PutUint64(out, msgs)
			binary.BigEndian.PutUint64(out[8:], total)
			return s.SendMsg(out)
		}
		msgs++
		total += uint64(len(req))
	}
}

func echoReply(p []byte) []byte { return p }
func sinkReply([]byte) []byte   { return []byte{} }

// The gRPC service "ekkabench.Bench", written by hand instead of by protoc.
var grpcService = grpc.ServiceDesc{
	ServiceName: "ekkabench.Bench",
	HandlerType: (*benchService)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Echo", Handler: unary(echoReply)},
		{MethodName: "Sink", Handler: unary(sinkReply)},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "EchoStream", Handler: bidi(echoReply), ServerStreams: true, ClientStreams: true},
		{StreamName: "AckStream", Handler: bidi(sinkReply), ServerStreams: true, ClientStreams: true},
		{StreamName: "Push", Handler: push, ClientStreams: true},
	},
}

// ServeGRPC serves ekkabench.Bench with gRPC-go's defaults (and 64 MiB
// messages) on ln until ctx ends.
func ServeGRPC(ctx context.Context, ln net.Listener) error {
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}), grpc.MaxRecvMsgSize(grpcMaxMessage), grpc.MaxSendMsgSize(grpcMaxMessage))
	srv.RegisterService(&grpcService, grpcServer{})
	stop := context.AfterFunc(ctx, srv.Stop)
	defer stop()
	err := srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// GRPCClient is a gRPC client of ekkabench.Bench, safe for concurrent use
// (its calls share one HTTP/2 connection, as gRPC's own clients do).
type GRPCClient struct {
	cc *grpc.ClientConn
}

// DialGRPC makes a gRPC client for the server at addr (plain text, defaults).
func DialGRPC(addr string) (*GRPCClient, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(grpcMaxMessage), grpc.MaxCallSendMsgSize(grpcMaxMessage)))
	if err != nil {
		return nil, err
	}
	return &GRPCClient{cc: cc}, nil
}

// Close closes the client's connection.
func (c *GRPCClient) Close() error { return c.cc.Close() }

// Call makes a unary call of Echo (echo true) or Sink.
func (c *GRPCClient) Call(ctx context.Context, echo bool, p []byte) ([]byte, error) {
	method := "/ekkabench.Bench/Sink"
	if echo {
		method = "/ekkabench.Bench/Echo"
	}
	var reply []byte
	err := c.cc.Invoke(ctx, method, p, &reply)
	return reply, err
}

// GRPCStream is one bidirectional stream: every Call sends a message and
// waits for the answer. Not safe for concurrent use: open one per goroutine.
type GRPCStream struct {
	s grpc.ClientStream
}

// Stream opens an EchoStream (echo true) or an AckStream; it ends with ctx
// or Close.
func (c *GRPCClient) Stream(ctx context.Context, echo bool) (*GRPCStream, error) {
	desc, method := &grpcService.Streams[1], "/ekkabench.Bench/AckStream"
	if echo {
		desc, method = &grpcService.Streams[0], "/ekkabench.Bench/EchoStream"
	}
	s, err := c.cc.NewStream(ctx, desc, method)
	if err != nil {
		return nil, err
	}
	return &GRPCStream{s: s}, nil
}

// Call sends p and returns the answer.
func (s *GRPCStream) Call(p []byte) ([]byte, error) {
	if err := s.s.SendMsg(p); err != nil {
		return nil, err
	}
	var reply []byte
	err := s.s.RecvMsg(&reply)
	return reply, err
}

// Close ends the stream and waits for the server's end of it.
func (s *GRPCStream) Close() error {
	if err := s.s.CloseSend(); err != nil {
		return err
	}
	var reply []byte
	if err := s.s.RecvMsg(&reply); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// GRPCPush is one client stream of one-way messages.
type GRPCPush struct {
	s grpc.ClientStream
}

// Push opens a Push stream; it ends with ctx or Count.
func (c *GRPCClient) Push(ctx context.Context) (*GRPCPush, error) {
	s, err := c.cc.NewStream(ctx, &grpcService.Streams[2], "/ekkabench.Bench/Push")
	if err != nil {
		return nil, err
	}
	return &GRPCPush{s: s}, nil
}

// Send sends one message.
func (p *GRPCPush) Send(m []byte) error { return p.s.SendMsg(m) }

// Count closes the stream and returns how many messages and bytes the
// server received on it.
func (p *GRPCPush) Count() (msgs, bytes uint64, err error) {
	if err := p.s.CloseSend(); err != nil {
		return 0, 0, err
	}
	var reply []byte
	if err := p.s.RecvMsg(&reply); err != nil {
		return 0, 0, err
	}
	if len(reply) != 16 {
		return 0, 0, fmt.Errorf("grpc push count of %d bytes, want 16", len(reply))
	}
	return binary.BigEndian.Uint64(reply), binary.BigEndian.Uint64(reply[8:]), nil
}
