// Package faultnet injects network faults into tests of distributed systems
// that talk real TCP on loopback: cut links, one-way blackholes, resets,
// delays, isolated nodes and partitions, switched on and off while the
// connections are live. It does for real sockets what etcd raft's simulated
// test network does for messages, and needs no kernel support (no netem).
//
// Each endpoint is a name (a node name such as "n1@127.0.0.1") registered
// with the address of its real listener. Instead of dialling that address,
// an endpoint dials through the Network, with Dial(ctx, from, to) or with the
// function from Dialer(from), which plugs into a Config.Dial field. The
// Network connects to the destination's listener and relays the bytes
// through a per-connection proxy; the listener sees an ordinary TCP
// connection, and the dialler gets an ordinary *net.TCPConn.
//
// Faults are rules on directed links. Bytes written by A's end of a
// connection and read by B's end obey the rule for A -> B; the reply obeys
// B -> A, whichever side dialled. Rules apply at once, chunk by chunk, to
// connections already open as well as to new ones:
//
//   - Cut(a, b) closes the connections between a and b and refuses new dials
//     (syscall.ECONNREFUSED) both ways. Isolate and Partition are cuts in bulk.
//   - Reset(a, b) aborts the connections between a and b with an RST; new
//     dials succeed.
//   - Blackhole(from, to) discards from's bytes silently, and a new dial
//     from -> to hangs like a SYN to a dead host. The bytes are lost for
//     good: see Blackhole for why that is what a heartbeat-driven protocol
//     wants to be tested against.
//   - Delay(from, to, d) delivers each chunk d late, in order, at full speed.
//   - Rate(from, to, bytesPerSec) paces from's bytes to a bandwidth, with a
//     token bucket that lets RateBurst(bytesPerSec) through at once after a
//     quiet spell; the writer feels TCP's push-back, as behind a slow link.
//   - Heal(a, b) and HealAll remove rules.
//
// Half-closes pass through (a CloseWrite on one end is a FIN at the other),
// a reset on one end resets the other, and a full close on one end is seen by
// the other. Close the Network at the end of a test: it closes every proxied
// connection and waits for every goroutine it started.
//
// A typical partition test:
//
//	fn := faultnet.New()
//	defer fn.Close()
//	fn.Register("n1@127.0.0.1", ln1.Addr().String())
//	fn.Register("n2@127.0.0.1", ln2.Addr().String())
//	fn.Register("n3@127.0.0.1", ln3.Addr().String())
//	// start each node with Dial: fn.Dialer(itsName)
//	fn.Partition([]string{"n1@127.0.0.1", "n2@127.0.0.1"}, []string{"n3@127.0.0.1"})
//	// assert what the nodes see, then
//	fn.HealAll()
//
// A link of 100 Mbit/s with 5 ms of latency each way, to see how a protocol
// behaves when the network, not the CPU, is the bottleneck:
//
//	for _, p := range [][2]string{{"n1@127.0.0.1", "n2@127.0.0.1"}, {"n2@127.0.0.1", "n1@127.0.0.1"}} {
//		fn.Rate(p[0], p[1], 100e6/8)
//		fn.Delay(p[0], p[1], 5*time.Millisecond)
//	}
package faultnet
