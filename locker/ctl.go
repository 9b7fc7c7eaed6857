package locker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// CtlRequest is the JSON payload of the "ctl" method (Method(name, "ctl")):
// ekka-mesh ctl asks a node to lock or unlock on behalf of an owner.
type CtlRequest struct {
	// Op is "lock" or "unlock".
	Op       string `json:"op"`
	Resource string `json:"resource"`
	Type     Type   `json:"type,omitempty"`
	Owner    string `json:"owner,omitempty"`
	// LeaseMillis is the lease of a lock (0: the locker's default).
	LeaseMillis int64 `json:"lease_ms,omitempty"`
}

// CtlReply is the JSON answer of the "ctl" method. Nodes lists the nodes
// that granted (or released) the lock when it succeeded, and those that
// refused or failed when it did not, like ekka's {true, Nodes} and
// {false, BadNodes}; Granted and Refused give the whole picture.
type CtlReply struct {
	Acquired *bool             `json:"acquired,omitempty"`
	Released *bool             `json:"released,omitempty"`
	Nodes    []string          `json:"nodes"`
	Token    uint64            `json:"token"`
	Resource string            `json:"resource"`
	Type     Type              `json:"type"`
	Owner    string            `json:"owner"`
	LeaseMS  int64             `json:"lease_ms,omitempty"`
	Granted  []string          `json:"granted"`
	Refused  map[string]string `json:"refused"`
}

// OK reports whether the lock or unlock succeeded.
func (r CtlReply) OK() bool {
	return (r.Acquired != nil && *r.Acquired) || (r.Released != nil && *r.Released)
}

func (l *Locker) serveCtl(ctx context.Context, from string, payload []byte) ([]byte, error) {
	var req CtlRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("%s: bad request from %s: %v (want a JSON object with op, resource, type, owner, lease_ms)", l.methods[mCtl], from, err)
	}
	// ctl cannot renew the lease: when it ends, that is logged as the
	// normal end of such a lock, not as a lost lease.
	opts := Options{Type: req.Type, Owner: req.Owner, Lease: time.Duration(req.LeaseMillis) * time.Millisecond, ctl: true}
	var res Result
	var err error
	switch req.Op {
	case "lock":
		res, err = l.Acquire(ctx, req.Resource, opts)
	case "unlock":
		if req.Owner == "" {
			err = fmt.Errorf("unlock %q: owner is empty, want the owner that holds the lock", req.Resource)
			l.logCtl(ctx, from, req, res, err)
			return nil, err
		}
		res, err = l.Release(ctx, req.Resource, opts)
	default:
		return nil, fmt.Errorf("%s: op %q, want lock or unlock", l.methods[mCtl], req.Op)
	}
	l.logCtl(ctx, from, req, res, err)
	if err != nil {
		return nil, err
	}
	rep := CtlReply{Token: res.Token, Resource: res.Resource, Type: res.Type, Owner: res.Owner, Granted: res.Granted, Refused: res.Refused}
	if rep.Granted == nil {
		rep.Granted = []string{}
	}
	ok := res.OK
	if req.Op == "lock" {
		rep.Acquired = &ok
		if res.Lease != nil {
			rep.LeaseMS = res.Lease.lease.Milliseconds()
		}
	} else {
		rep.Released = &ok
	}
	if ok {
		rep.Nodes = rep.Granted
	} else {
		rep.Nodes = []string{}
		for n := range res.Refused {
			rep.Nodes = append(rep.Nodes, n)
		}
		slices.Sort(rep.Nodes)
	}
	return json.Marshal(rep)
}

// logCtl logs a lock or unlock that ctl asked for (mesh.AdminActionMsg):
// the resource, owner and type, the client, and the outcome.
func (l *Locker) logCtl(ctx context.Context, from string, req CtlRequest, res Result, err error) {
	typ, owner := res.Type, res.Owner
	if typ == 0 {
		typ = req.Type
	}
	if owner == "" {
		owner = req.Owner
	}
	args := []any{"resource", req.Resource, "owner", owner, "type", typ.String()}
	outcome := "failed"
	switch {
	case err != nil:
		args = append(args, "err", err)
	case req.Op == "lock" && res.OK:
		outcome = "granted"
		if res.Lease != nil {
			args = append(args, "lease", res.Lease.lease.String())
		}
		args = append(args, "token", res.Token, "granted_by", strings.Join(res.Granted, ","))
	case req.Op == "unlock" && res.OK:
		outcome = "released"
		args = append(args, "released_by", strings.Join(res.Granted, ","))
	default:
		outcome = "refused"
		args = append(args, "refused_by", refusedList(res.Refused))
	}
	mesh.LogAdminAction(ctx, l.log, from, req.Op, outcome, args...)
}

// refusedList writes refusals as "node: why; node: why", sorted by node.
func refusedList(refused map[string]string) string {
	nodes := slices.Sorted(maps.Keys(refused))
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = n + ": " + refused[n]
	}
	return strings.Join(parts, "; ")
}
