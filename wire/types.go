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
	// Requests keep the codes that nodes from before these messages were
	// sent already knew and ignored; answers go only to a requester.
	TypePartitionReport Type = 0x30 // request: a node reports its partitions to the leader
	TypeViewRequest     Type = 0x31 // request: a node's view in a round
	TypeViewReply       Type = 0x32 // answers ViewRequest: the view, and the node's heal in that round
	TypeHealOrder       Type = 0x33 // request: coordinate a heal, or heal into the coordinator
	TypePartitionAck    Type = 0x34 // answers PartitionReport
	TypeHealReply       Type = 0x35 // answers HealOrder: accepted, or why not
	TypeReachability    Type = 0x36 // one-way: the members a node has links to, and whether it serves (split-brain resolver)

	// Locks.
	TypeLockAcquire  Type = 0x40
	TypeLockRelease  Type = 0x41
	TypeLockGrant    Type = 0x42
	TypeLockRefuse   Type = 0x43
	TypeLockRenew    Type = 0x44
	TypeLockFence    Type = 0x45 // tell a table the token another granted the owner
	TypeLockReleased Type = 0x46 // answer: the owner's grant was freed

	// Optional membership messages (a receiver that does not know one skips it).
	TypeMemberServices  Type = 0x80 // the services a member runs, e.g. "autoheal"
	TypeMemberVersion   Type = 0x81 // the software version a member runs
	TypeMemberTags      Type = 0x82 // the key/value tags a member carries, e.g. role=db
	TypeMemberSuspended Type = 0x83 // a member stopped serving (split brain), or serves again
)

// Critical reports whether a receiver that does not know t must fail the
// connection (true) or may skip the frame (false).
func (t Type) Critical() bool { return t < 0x80 }

// typeInfo is what the protocol says of one message type: its name, how to
// build an empty message of it, and how a node routes it.
type typeInfo struct {
	name string
	new  func() Message
	// answer: the message answers the request with the same header ID and
	// is routed to that request (Reply, ErrorReply, ViewReply, LockGrant...).
	answer bool
	// service: a request or one-way message for a service built on the node
	// (partitions and autoheal, locks); its body begins with the str16 name
	// of the service instance it is for, and a node routes it by (type, name).
	service bool
}

// types is the one table of the message types this version defines, indexed
// by type: New, Known, String, IsAnswer and IsService all read it.
var types = [256]typeInfo{
	TypeHello:     {name: "hello", new: func() Message { return new(Hello) }},
	TypeChallenge: {name: "challenge", new: func() Message { return new(Challenge) }},
	TypeAuth:      {name: "auth", new: func() Message { return &Proof{T: TypeAuth} }},
	TypeWelcome:   {name: "welcome", new: func() Message { return &Proof{T: TypeWelcome} }},
	TypeReject:    {name: "reject", new: func() Message { return &Reject{T: TypeReject} }},
	TypeGoodbye:   {name: "goodbye", new: func() Message { return &Reject{T: TypeGoodbye} }},

	TypeCall:       {name: "call", new: func() Message { return new(Call) }},
	TypeReply:      {name: "reply", new: func() Message { return new(Reply) }, answer: true},
	TypeErrorReply: {name: "error-reply", new: func() Message { return new(ErrorReply) }, answer: true},
	TypeCast:       {name: "cast", new: func() Message { return new(Cast) }},

	TypePing: {name: "ping", new: func() Message { return new(Ping) }},
	TypePong: {name: "pong", new: func() Message { return new(Pong) }},

	TypeMemberTable:  {name: "member-table", new: func() Message { return new(MemberTable) }},
	TypeJoin:         {name: "join", new: func() Message { return new(Join) }},
	TypeLeave:        {name: "leave", new: func() Message { return new(Leave) }},
	TypeForceLeave:   {name: "force-leave", new: func() Message { return new(ForceLeave) }},
	TypeMemberStatus: {name: "member-status", new: func() Message { return new(MemberStatus) }},

	TypePartitionReport: {name: "partition-report", new: func() Message { return new(PartitionReport) }, service: true},
	TypeViewRequest:     {name: "view-request", new: func() Message { return new(ViewRequest) }, service: true},
	TypeViewReply:       {name: "view-reply", new: func() Message { return new(ViewReply) }, answer: true},
	TypeHealOrder:       {name: "heal-order", new: func() Message { return new(HealOrder) }, service: true},
	TypePartitionAck:    {name: "partition-ack", new: func() Message { return new(PartitionAck) }, answer: true},
	TypeHealReply:       {name: "heal-reply", new: func() Message { return new(HealReply) }, answer: true},
	TypeReachability:    {name: "reachability", new: func() Message { return new(Reachability) }, service: true},

	TypeLockAcquire:  {name: "lock-acquire", new: func() Message { return new(LockAcquire) }, service: true},
	TypeLockRelease:  {name: "lock-release", new: func() Message { return new(LockRelease) }, service: true},
	TypeLockGrant:    {name: "lock-grant", new: func() Message { return new(LockGrant) }, answer: true},
	TypeLockRefuse:   {name: "lock-refuse", new: func() Message { return new(LockRefuse) }, answer: true},
	TypeLockRenew:    {name: "lock-renew", new: func() Message { return new(LockRenew) }, service: true},
	TypeLockFence:    {name: "lock-fence", new: func() Message { return new(LockFence) }, service: true},
	TypeLockReleased: {name: "lock-released", new: func() Message { return new(LockReleased) }, answer: true},

	TypeMemberServices:  {name: "member-services", new: func() Message { return new(MemberServices) }},
	TypeMemberVersion:   {name: "member-version", new: func() Message { return new(MemberVersion) }},
	TypeMemberTags:      {name: "member-tags", new: func() Message { return new(MemberTags) }},
	TypeMemberSuspended: {name: "member-suspended", new: func() Message { return new(MemberSuspended) }},
}

// Known reports whether this version of the protocol defines t.
func (t Type) Known() bool { return types[t].new != nil }

// IsAnswer reports whether t answers the request with the same header ID
// (PROTOCOL.md section 6).
func (t Type) IsAnswer() bool { return types[t].answer }

// IsService reports whether t is a request or one-way message for a service
// built on the node, routed by its type and the service name its body
// begins with (PROTOCOL.md section 6).
func (t Type) IsService() bool { return types[t].service }

func (t Type) String() string {
	if s := types[t].name; s != "" {
		return s
	}
	return fmt.Sprintf("type(%#02x)", uint8(t))
}
