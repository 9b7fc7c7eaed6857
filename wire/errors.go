package wire

import (
	"errors"
	"fmt"
)

// Code is a protocol error code. Codes travel in Reject, Goodbye and
// ErrorReply bodies as a uint16 and are listed in PROTOCOL.md.
type Code uint16

const (
	CodeOK            Code = 0
	CodeTruncated     Code = 1  // a frame or body ended early
	CodeTooLarge      Code = 2  // a frame is above the receiver's limit
	CodeMalformed     Code = 3  // a body does not parse or has trailing bytes
	CodeUnknownType   Code = 4  // a critical message type the receiver does not know
	CodeVersion       Code = 5  // no protocol version in common
	CodeBadCookie     Code = 6  // the cookie proof did not verify
	CodeWrongCluster  Code = 7  // the peer belongs to another cluster
	CodeWrongNode     Code = 8  // the dialer asked for a node name this node does not have
	CodeTimeout       Code = 9  // a handshake step took too long
	CodeUnexpected    Code = 10 // a valid message that is out of place in the protocol state
	CodeShutdown      Code = 11 // the node is stopping
	CodeNoHandler     Code = 20 // ErrorReply: no handler for the method
	CodeHandlerError  Code = 21 // ErrorReply: the handler returned an error
	CodeHandlerPanic  Code = 22 // ErrorReply: the handler panicked
	CodeDeadline      Code = 23 // ErrorReply: the call's deadline passed on the callee
	CodeNotMember     Code = 24 // refused: the node is not a member of this cluster
	CodeRefused       Code = 25 // refused: a generic refusal, the message says why
	CodeDuplicateLink Code = 26 // the link already exists; simultaneous-dial loser
	// ErrorReply of a join (CodeAlreadyInCluster) or a leave
	// (CodeNotInCluster) that has nothing to do: ekka's
	// {error, {already_in_cluster, Node}} and {error, node_not_in_cluster}.
	CodeAlreadyInCluster Code = 27 // ErrorReply: the node to join runs in this node's cluster already
	CodeNotInCluster     Code = 28 // ErrorReply: the node has no other member; there is no cluster to leave
	// CodeSuspended: ErrorReply of an application call (or a lock request)
	// to a node that stopped serving because its side lost a split-brain
	// decision; the message says which strategy and why.
	CodeSuspended Code = 29
)

var codeNames = map[Code]string{
	CodeOK: "ok", CodeTruncated: "truncated", CodeTooLarge: "too large", CodeMalformed: "malformed",
	CodeUnknownType: "unknown type", CodeVersion: "unsupported version", CodeBadCookie: "bad cookie",
	CodeWrongCluster: "wrong cluster", CodeWrongNode: "wrong node", CodeTimeout: "timeout",
	CodeUnexpected: "unexpected message", CodeShutdown: "shutting down",
	CodeNoHandler: "no such handler", CodeHandlerError: "handler error", CodeHandlerPanic: "handler panic",
	CodeDeadline: "deadline exceeded", CodeNotMember: "not a member", CodeRefused: "refused",
	CodeDuplicateLink: "duplicate link", CodeAlreadyInCluster: "already in cluster",
	CodeNotInCluster: "not in a cluster", CodeSuspended: "suspended",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", uint16(c))
}

// FrameError is returned for any frame or body that breaks the protocol. Code
// says which rule; Type is the frame's type when it is known.
type FrameError struct {
	Code Code
	Type Type
	Msg  string
}

func (e *FrameError) Error() string {
	if e.Type != 0 {
		return fmt.Sprintf("wire: %s %s frame: %s", e.Code, e.Type, e.Msg)
	}
	return fmt.Sprintf("wire: %s frame: %s", e.Code, e.Msg)
}

// Is makes errors.Is(err, ErrTooLarge) and friends work.
func (e *FrameError) Is(target error) bool {
	var s *sentinel
	if errors.As(target, &s) {
		return s.code == e.Code
	}
	return false
}

type sentinel struct {
	code Code
}

func (s *sentinel) Error() string { return "wire: " + s.code.String() }

// Sentinels to test a *FrameError against with errors.Is.
var (
	ErrTruncated   error = &sentinel{CodeTruncated}
	ErrTooLarge    error = &sentinel{CodeTooLarge}
	ErrMalformed   error = &sentinel{CodeMalformed}
	ErrUnknownType error = &sentinel{CodeUnknownType}
	ErrVersion     error = &sentinel{CodeVersion}
)

func malformed(t Type, format string, args ...any) error {
	return &FrameError{Code: CodeMalformed, Type: t, Msg: fmt.Sprintf(format, args...)}
}

func truncated(t Type, field string) error {
	return &FrameError{Code: CodeTruncated, Type: t, Msg: "body ends inside field " + field}
}
