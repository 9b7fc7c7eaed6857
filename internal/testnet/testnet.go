// Package testnet is the kit the tests of this module share for running
// things on the loopback network: waiting for a condition until a deadline
// (Eventually, Poll), finding free ports (FreePort, FreePorts, and FreeBase
// for the node-name port rule), naming loopback addresses (Loopback,
// Loopbacks) and collecting the output of a process or logger that a test
// reads while it is written (SyncBuffer).
//
// Ports are picked below the kernel's ephemeral range, so that no outgoing
// connection (a node dialling its peers, a client, another test's link)
// takes one as its source port between the moment it was found free and
// the moment a server listens on it.
package testnet

// TB is the part of testing.TB the kit uses; a *testing.T or *testing.B
// is one. testnet does not import package testing, so that mesh/meshtest,
// which ekka-mesh demo runs, can use it without linking the testing
// package into the binary.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}
