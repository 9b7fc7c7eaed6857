package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Sentinel errors, for errors.Is. Errors returned by the node wrap them with
// the node and method concerned.
var (
	// ErrNodeDown: this node has no link to the target node.
	ErrNodeDown = errors.New("mesh: node is down (no link to it)")
	// ErrNoHandler: the remote node has no handler for the method.
	ErrNoHandler = errors.New("mesh: no handler for the method")
	// ErrUnknownNode: the name is not a member or not a valid node name.
	ErrUnknownNode = errors.New("mesh: unknown node")
	// ErrStopped: the local node is stopped.
	ErrStopped = errors.New("mesh: node is stopped")
	// ErrRemote: the remote node answered the call with an error; see
	// RemoteError. ErrNoHandler and ErrPanic are narrower kinds of it.
	ErrRemote = errors.New("mesh: remote error")
	// ErrPanic: the remote handler panicked.
	ErrPanic = errors.New("mesh: remote handler panicked")
	// ErrNotMember: the node is not a member of this cluster.
	ErrNotMember = errors.New("mesh: not a member of the cluster")
	// ErrRefused: the remote node refused the request; the message says why.
	ErrRefused = errors.New("mesh: refused")
	// ErrAlreadyInCluster: Join named a node that runs in this node's
	// cluster already (linked, no partition recorded with it): there is
	// nothing to join. ekka answers {error, {already_in_cluster, Node}}.
	ErrAlreadyInCluster = errors.New("mesh: already in the cluster")
	// ErrNotInCluster: Leave on a node that has no other member: there is
	// no cluster to leave. ekka answers {error, node_not_in_cluster}.
	ErrNotInCluster = errors.New("mesh: not in a cluster")
)

// Handshake refusals, from either side of a link: the same values as conn's,
// so that errors.Is matches whichever a caller names, and a caller of mesh
// need not import conn for them. Join gives up at once on any of them: a
// retry cannot succeed until the configuration changes.
var (
	// ErrBadCookie: the two nodes do not share the cookie.
	ErrBadCookie = conn.ErrBadCookie
	// ErrWrongCluster: the node dialed is in another cluster.
	ErrWrongCluster = conn.ErrWrongCluster
	// ErrWrongNode: another node answered at the address of the node dialed
	// (the two use different base ports, or an old address).
	ErrWrongNode = conn.ErrWrongNode
)

// RemoteError is a call's failure reported by the callee. Code is the
// wire.Code of the error reply.
//
// errors.Is matches ErrRemote for every RemoteError; ErrNoHandler when Code
// is wire.CodeNoHandler; ErrPanic when Panic is set or Code is
// wire.CodeHandlerPanic; ErrNotMember, ErrRefused, ErrAlreadyInCluster and
// ErrNotInCluster and ErrSuspended for those codes; and
// context.DeadlineExceeded when the call's deadline passed on the callee.
type RemoteError struct {
	Node    string
	Method  string
	Code    uint16
	Message string
	Panic   bool
}

// newRemoteError builds the error for an error reply from node.
func newRemoteError(node, method string, code wire.Code, message string) *RemoteError {
	return &RemoteError{
		Node: node, Method: method, Code: uint16(code), Message: message,
		Panic: code == wire.CodeHandlerPanic,
	}
}

func (e *RemoteError) Error() string {
	var what string
	switch {
	case e.Panic || wire.Code(e.Code) == wire.CodeHandlerPanic:
		what = "handler panicked"
	case wire.Code(e.Code) == wire.CodeNoHandler:
		what = "no handler for the method"
	case wire.Code(e.Code) == wire.CodeHandlerError:
		what = "handler returned an error"
	default:
		what = wire.Code(e.Code).String()
	}
	if e.Message == "" {
		return fmt.Sprintf("mesh: call %q on %s: %s", e.Method, e.Node, what)
	}
	return fmt.Sprintf("mesh: call %q on %s: %s: %s", e.Method, e.Node, what, e.Message)
}

// Is makes errors.Is match the sentinels the code stands for.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrRemote:
		return true
	case ErrPanic:
		return e.Panic || wire.Code(e.Code) == wire.CodeHandlerPanic
	case ErrNoHandler:
		return wire.Code(e.Code) == wire.CodeNoHandler
	case ErrNotMember:
		return wire.Code(e.Code) == wire.CodeNotMember
	case ErrRefused:
		return wire.Code(e.Code) == wire.CodeRefused
	case ErrAlreadyInCluster:
		return wire.Code(e.Code) == wire.CodeAlreadyInCluster
	case ErrNotInCluster:
		return wire.Code(e.Code) == wire.CodeNotInCluster
	case ErrSuspended:
		return wire.Code(e.Code) == wire.CodeSuspended
	case context.DeadlineExceeded:
		return wire.Code(e.Code) == wire.CodeDeadline
	}
	return false
}

// NodeError ties an error to the node it concerns, e.g. ErrNodeDown for one
// target of a multicall. Op, when set, names what was done with the node
// ("join"). Its text names the package, the operation or "node", and the
// node once: "mesh: node n2@h: node is down (no link to it)", "mesh: join
// n2@h: dial tcp 127.0.0.1:4372: connect: connection refused".
type NodeError struct {
	Node string
	Op   string
	Err  error
}

func (e *NodeError) Error() string {
	op := e.Op
	if op == "" {
		op = "node"
	}
	// The sentinels of this package say "mesh: " already.
	msg, _ := strings.CutPrefix(e.Err.Error(), "mesh: ")
	return "mesh: " + op + " " + e.Node + ": " + msg
}

func (e *NodeError) Unwrap() error { return e.Err }
