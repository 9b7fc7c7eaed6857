package wire

import "fmt"

// Type identifies a message. Types below 0x80 are critical: a receiver that
// does not know one must close the connection with CodeUnknownType. Types
// from 0x80 up are optional: a receiver that does not know one skips the
// frame (its length is in the header) and counts it. New optional messages can
// therefore be added without a version bump; new critical ones need one.
type Type uint8

// Message types. See PROTOCOL.md for the body of each.
const (
	// Handshake (see PROTOCOL.md, "Handshake").
	TypeHello     Type = 0x01 // dialer -> acceptor: identity, capabilities, nonce
	TypeChallenge Type = 0x02 // acceptor -> dialer: identity, capabilities, nonce
	TypeAuth      Type = 0x03 // dialer -> acceptor: dialer's proof of the cookie
	TypeWelcome   Type = 0x04 // acceptor -> dialer: acceptor's proof of the cookie
	TypeReject    Type = 0x05 // either way: refusal with an error code and reason
	TypeGoodbye   Type = 0x06 // either way: orderly close with a reason

	// RPC.
	TypeCall       Type = 0x10 // request; header ID is the call id
	TypeReply      Type = 0x11 // successful reply to the call with the same ID
	TypeErrorReply Type = 0x12 // failed reply: error code and message
	TypeCast       Type = 0x13 // one-way message; ID 0

	// Failure detection.
	TypePing Type = 0x18 // heartbeat; ID is a sequence number echoed in Pong
	TypePong Type = 0x19

	// Membership.
	TypeMemberTable  Type = 0x20 // full member table exchange
	TypeJoin         Type = 0x21 // a node joins the cluster
	TypeLeave        Type = 0x22 // a node leaves the cluster
	TypeForceLeave   Type = 0x23 // remove a (possibly dead) member everywhere
	TypeMemberStatus Type = 0x24 // one member's status changed

	// Partitions and autoheal.
	TypePartitionReport Type = 0x30 // a node reports a partition to the leader
	TypeViewRequest     Type = 0x31 // leader asks a node for its view
	TypeViewReply       Type = 0x32 // a node's view: running and down nodes
	TypeHealOrder       Type = 0x33 // coordinator orders a node to heal

	// Locks.
	TypeLockAcquire Type = 0x40
	TypeLockRelease Type = 0x41
	TypeLockGrant   Type = 0x42
	TypeLockRefuse  Type = 0x43
	TypeLockRenew   Type = 0x44

	// Optional membership messages (a receiver that does not know one skips it).
	TypeMemberServices Type = 0x80 // the services a member runs, e.g. "autoheal"
	TypeMemberVersion  Type = 0x81 // the software version a member runs
)

// Critical reports whether a receiver that does not know t must fail the
// connection (true) or may skip the frame (false).
func (t Type) Critical() bool { return t < 0x80 }

var typeNames = map[Type]string{
	TypeHello: "hello", TypeChallenge: "challenge", TypeAuth: "auth", TypeWelcome: "welcome",
	TypeReject: "reject", TypeGoodbye: "goodbye",
	TypeCall: "call", TypeReply: "reply", TypeErrorReply: "error-reply", TypeCast: "cast",
	TypePing: "ping", TypePong: "pong",
	TypeMemberTable: "member-table", TypeJoin: "join", TypeLeave: "leave",
	TypeForceLeave: "force-leave", TypeMemberStatus: "member-status",
	TypePartitionReport: "partition-report", TypeViewRequest: "view-request",
	TypeViewReply: "view-reply", TypeHealOrder: "heal-order",
	TypeLockAcquire: "lock-acquire", TypeLockRelease: "lock-release", TypeLockGrant: "lock-grant",
	TypeLockRefuse: "lock-refuse", TypeLockRenew: "lock-renew",
	TypeMemberServices: "member-services", TypeMemberVersion: "member-version",
}

// Known reports whether this version of the protocol defines t.
func (t Type) Known() bool { _, ok := typeNames[t]; return ok }

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%#02x)", uint8(t))
}
