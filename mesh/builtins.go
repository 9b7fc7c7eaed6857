package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
	MethodStatus     = reservedPrefix + "status"      // {"node"} -> NodeReport: node as this node sees it
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
	set(MethodStatus, func(_ context.Context, _ string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			return nil, err
		}
		return json.Marshal(n.Report(req.Node))
	})
	set(MethodJoin, func(ctx context.Context, from string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			LogAdminAction(ctx, n.log, from, "join", outcome(err), "err", err)
			return nil, err
		}
		err = n.Join(ctx, req.Node)
		LogAdminAction(ctx, n.log, from, "join", outcome(err), "target", req.Node, "err", err)
		return nil, err
	})
	set(MethodLeave, func(ctx context.Context, from string, _ []byte) ([]byte, error) {
		err := n.Leave(ctx)
		LogAdminAction(ctx, n.log, from, "leave", outcome(err), "err", err)
		return nil, err
	})
	set(MethodForceLeave, func(ctx context.Context, from string, p []byte) ([]byte, error) {
		req, err := adminRequest(p, true)
		if err != nil {
			LogAdminAction(ctx, n.log, from, "force-leave", outcome(err), "err", err)
			return nil, err
		}
		err = n.ForceLeave(ctx, req.Node)
		LogAdminAction(ctx, n.log, from, "force-leave", outcome(err), "target", req.Node, "err", err)
		return nil, err
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
	n.registerAutoclusterBuiltin() // autocluster.go
	n.registerTagsBuiltin()        // tags.go
	n.registerCookieBuiltin()      // cookie.go
}

// AdminActionMsg is the message of the log records of admin actions: the
// changes a node carries out when a client (ekka-mesh ctl) asks, such as
// join, leave, force-leave, and lock and unlock in package locker. They
// are logged at info level with the attributes action, the arguments,
// client and client_addr (who asked, as the link knows it), outcome and,
// on failure, err. A handler that filters the library's routine info
// lines can let these through by their message.
const AdminActionMsg = "admin action"

// LogAdminAction logs, at info on log, an admin action carried out for the
// caller of the handler whose context is ctx (from is the caller's name,
// used when ctx carries none): action, the outcome, then args, key-value
// pairs naming the arguments (not "node", which a node's logger has) and,
// for a failure, "err". An "err" of nil is left out.
func LogAdminAction(ctx context.Context, log *slog.Logger, from, action, outcome string, args ...any) {
	c, ok := CallerOf(ctx)
	if !ok {
		c = Caller{Name: from, Addr: "local"}
	}
	attrs := []any{"action", action}
	var errText string
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "err" {
			if err, _ := args[i+1].(error); err != nil {
				errText = err.Error()
			} else if s, _ := args[i+1].(string); s != "" {
				errText = s
			}
			continue
		}
		attrs = append(attrs, args[i], args[i+1])
	}
	attrs = append(attrs, "client", c.Name, "client_addr", c.Addr, "outcome", outcome)
	if errText != "" {
		attrs = append(attrs, "err", errText)
	}
	log.InfoContext(ctx, AdminActionMsg, attrs...)
}

// outcome is "ok" for a nil error, else "failed".
func outcome(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
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
