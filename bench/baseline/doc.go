// Package baseline holds the servers and clients that package bench's
// benchmarks run beside ekka-mesh: raw TCP (the physical limit), net/rpc,
// gRPC-go (unary and streaming, raw bytes through a codec of its own, no
// protoc), an ekka-mesh node with the bench handlers, and a driver for two
// Erlang nodes that run the same workloads over Erlang distribution.
//
// Every server runs in a child process so that each figure is measured
// between two processes. A test binary serves when its TestMain finds
// ServeEnv set:
//
//	func TestMain(m *testing.M) {
//		if kind := os.Getenv(baseline.ServeEnv); kind != "" {
//			os.Exit(baseline.ServeChild(kind))
//		}
//		os.Exit(m.Run())
//	}
//
// and the benchmark process starts that child with StartChild, which reads
// the address the child prints and stops the child (by closing its standard
// input, then killing it) when asked.
//
// The protocols, byte by byte:
//
//   - raw TCP: the client's first byte picks the mode. ModeEcho ('e') is
//     followed by a big-endian uint32 size; then every size bytes the client
//     writes come back (a ping-pong with no framing at all). ModeStream ('s')
//     carries messages, each a big-endian uint32 length and that many bytes;
//     a length of 0 asks for the count so far, answered with 16 bytes:
//     big-endian uint64 messages and uint64 bytes received on the
//     connection. ModeAck ('a') carries the same messages and answers each
//     with one byte.
//   - net/rpc: service "Bench", methods Echo and Sink over []byte (gob).
//   - gRPC: service "ekkabench.Bench": unary Echo and Sink; bidirectional
//     streams EchoStream (every message echoed) and AckStream (every
//     message answered with an empty one); client stream Push (the reply is
//     16 bytes, messages and bytes received, as raw TCP's count).
//   - ekka-mesh: a node with mesh's defaults serving package load's bench
//     methods (load.Serve, as ekka-mesh bench serve): bench.echo (reply =
//     payload), bench.sink (empty reply), bench.cast (a cast: counted) and
//     bench.count (reply: big-endian uint64 casts and uint64 cast bytes
//     received).
package baseline
