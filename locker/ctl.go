package locker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
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
	opts := Options{Type: req.Type, Owner: req.Owner, Lease: time.Duration(req.LeaseMillis) * time.Millisecond}
	var res Result
	var err error
	switch req.Op {
	case "lock":
		res, err = l.Acquire(ctx, req.Resource, opts)
	case "unlock":
		if req.Owner == "" {
			return nil, fmt.Errorf("unlock %q: owner is empty, want the owner that holds the lock", req.Resource)
		}
		res, err = l.Release(ctx, req.Resource, opts)
	default:
		return nil, fmt.Errorf("%s: op %q, want lock or unlock", l.methods[mCtl], req.Op)
	}
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
