package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
)

// callImpls run the call workloads.
var callImpls = []string{implEkka, implRawTCP, implNetRPC, implGRPCUnary, implGRPCStream, implErlang}

// BenchmarkCallSeq64: one caller, sequential 64-byte echo calls.
func BenchmarkCallSeq64(b *testing.B) { benchCalls(b, 1, 64, true) }

// BenchmarkCallInFlight16: 16 callers, each with one 64-byte echo call in flight.
func BenchmarkCallInFlight16(b *testing.B) { benchCalls(b, 16, 64, true) }

// BenchmarkCallInFlight64: 64 callers, each with one 64-byte echo call in flight.
func BenchmarkCallInFlight64(b *testing.B) { benchCalls(b, 64, 64, true) }

// BenchmarkCallInFlight256: 256 callers, each with one 64-byte echo call in flight.
func BenchmarkCallInFlight256(b *testing.B) { benchCalls(b, 256, 64, true) }

// BenchmarkBulkCall64K: sequential 64 KiB calls with an empty reply.
func BenchmarkBulkCall64K(b *testing.B) { benchCalls(b, 1, 64<<10, false) }

// BenchmarkBulkCall1M: sequential 1 MiB calls with an empty reply.
func BenchmarkBulkCall1M(b *testing.B) { benchCalls(b, 1, 1<<20, false) }

// benchCalls runs k callers of size-byte calls on every implementation:
// echo calls (the reply is the request) or, for bulk, sink calls (empty
// reply, MB/s reported).
func benchCalls(b *testing.B, k, size int, echo bool) {
	mb := size
	if echo {
		mb = 0
	}
	impls := callImpls
	if !echo {
		impls = withEkkaOff(impls)
	}
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			if impl == implErlang {
				e := erlangPair(b)
				cmd := fmt.Sprintf("bulkcall %d %%d", size)
				if echo && k == 1 {
					cmd = fmt.Sprintf("call %d %%d", size)
				} else if echo {
					cmd = fmt.Sprintf("inflight %d %d %%d", k, size)
				}
				runErlang(b, e, cmd, mb)
				return
			}
			cs := callers(b, impl, k, size, echo)
			for _, call := range cs { // connect and warm up
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
			runCallers(b, cs, mb)
		})
	}
}

// withEkkaOff returns impls with implEkkaOff after implEkka: the bulk
// workloads, where compression could apply, run with it off as well.
func withEkkaOff(impls []string) []string {
	out := []string{}
	for _, impl := range impls {
		out = append(out, impl)
		if impl == implEkka {
			out = append(out, implEkkaOff)
		}
	}
	return out
}

// benchContext is the context of a benchmark's calls; it ends with b.
func benchContext(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// callers connects k callers of impl to a new server child. Each caller
// makes one call of size random bytes: echo (the reply must be the
// request) or sink (the reply must be empty).
//
// raw TCP opens one connection per caller (echo: a size-byte ping-pong;
// sink: a length-prefixed write and a 1-byte ack); net/rpc and gRPC unary
// share one client connection, as their users do; grpc-stream opens one
// bidirectional stream per caller on one client connection.
func callers(b *testing.B, impl string, k, size int, echo bool) []func() error {
	b.Helper()
	ctx := benchContext(b)
	p := randomBytes(size)
	check := func(reply []byte, err error) error {
		if err != nil {
			return err
		}
		if echo && !bytes.Equal(reply, p) {
			return fmt.Errorf("%s: echo of %d bytes, want the %d sent", impl, len(reply), len(p))
		}
		if !echo && len(reply) != 0 {
			return fmt.Errorf("%s: sink replied %d bytes, want none", impl, len(reply))
		}
		return nil
	}
	cs := make([]func() error, k)
	switch impl {
	case implEkka, implEkkaOff:
		node, srv := ekkaPair(b, impl)
		method := baseline.MethodSink
		if echo {
			method = baseline.MethodEcho
		}
		for i := range cs {
			cs[i] = func() error { return check(node.Call(ctx, srv, method, p)) }
		}
	case implRawTCP:
		c := startChild(b, baseline.KindRawTCP)
		for i := range cs {
			mode := baseline.ModeAck
			if echo {
				mode = baseline.ModeEcho
			}
			rc, err := baseline.DialRaw(ctx, c.Addr, mode, size)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { rc.Close() })
			if echo {
				buf := bytes.Clone(p)
				cs[i] = func() error {
					if err := rc.PingPong(buf); err != nil {
						return err
					}
					return check(buf, nil)
				}
			} else {
				cs[i] = func() error { return rc.Call(p) }
			}
		}
	case implNetRPC:
		c := startChild(b, baseline.KindNetRPC)
		cl, err := baseline.DialNetRPC(ctx, c.Addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Close() })
		for i := range cs {
			cs[i] = func() error { return check(cl.Call(ctx, echo, p)) }
		}
	case implGRPCUnary, implGRPCStream:
		c := startChild(b, baseline.KindGRPC)
		cl, err := baseline.DialGRPC(c.Addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Close() })
		for i := range cs {
			if impl == implGRPCUnary {
				cs[i] = func() error { return check(cl.Call(ctx, echo, p)) }
				continue
			}
			s, err := cl.Stream(ctx, echo)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			cs[i] = func() error { return check(s.Call(p)) }
		}
	default:
		b.Fatalf("no callers for %q", impl)
	}
	return cs
}
