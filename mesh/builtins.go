package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func parseName(s string) (portmap.Name, error) { return portmap.Parse(s) }

// Built-in methods, served by every node; ekka-mesh ctl calls them as a
// hidden client. Their payloads are JSON.
const (
	MethodInfo       = reservedPrefix + "info"        // -> Info
	MethodPong       = reservedPrefix + "pong"        // -> "pong"
	MethodPing       = reservedPrefix + "ping"        // {"node"} -> {"rtt_us"}: this node pings node
	MethodJoin       = reservedPrefix + "join"        // {"node"}
	MethodLeave      = reservedPrefix + "leave"       // {}
	MethodForceLeave = reservedPrefix + "force_leave" // {"node"}
	MethodCall       = reservedPrefix + "call"        // {"node","method","payload"} -> reply bytes
)

// AdminRequest is the JSON payload of the built-in methods that take one.
type AdminRequest struct {
	Node    string `json:"node,omitempty"`
	Method  string `json:"method,omitempty"`
	Payload []byte `json:"payload,omitempty"`
}

func (n *Node) registerBuiltins() {
	set := n.handlers.set
	set(MethodPong, func(context.Context, string, []byte) ([]byte, error) { return []byte("pong"), nil })
	set(MethodInfo, func(context.Context, string, []byte) ([]byte, error) { return json.Marshal(n.Info()) })
	set(MethodPing, func(ctx context.Context, _ string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			return nil, err
		}
		rtt, err := n.Ping(ctx, req.Node)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]int64{"rtt_us": rtt.Microseconds()})
	})
	set(MethodJoin, func(ctx context.Context, _ string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			return nil, err
		}
		return nil, n.Join(ctx, req.Node)
	})
	set(MethodLeave, func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		return nil, n.Leave(ctx)
	})
	set(MethodForceLeave, func(ctx context.Context, _ string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			return nil, err
		}
		return nil, n.ForceLeave(ctx, req.Node)
	})
	set(MethodCall, func(ctx context.Context, _ string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			return nil, err
		}
		if req.Method == "" {
			return nil, fmt.Errorf("call: empty method name")
		}
		return n.Call(ctx, req.Node, req.Method, req.Payload)
	})
	n.registerHealBuiltins()
}

func adminRequest(p []byte, needNode bool) (AdminRequest, error) {
	var req AdminRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return req, fmt.Errorf("bad request: %v (want a JSON object with \"node\")", err)
	}
	if needNode && req.Node == "" {
		return req, fmt.Errorf("bad request: \"node\" is empty, want a node name")
	}
	return req, nil
}

// memberLeft handles a member's own Leave announcement: it is removed,
// with a leaving event, and not redialed.
func (n *Node) memberLeft(node string, guid GUID) {
	n.mu.Lock()
	m, ok := n.table.get(node)
	n.mu.Unlock()
	if ok && m.GUID == guid {
		n.removeMember(node, node+" left the cluster")
	}
}

// memberStatus records a status a member announced for itself.
func (n *Node) memberStatus(node string, s Status) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := n.table.setStatus(node, s, time.Now())
	n.applyChangeLocked(ch, "announced by the member")
}
