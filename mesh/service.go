package mesh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Service messages: the wire's own typed messages for the services built on
// a node (partitions and autoheal, locks), carried on the control lane so
// that they never queue behind application calls and bulk data. A service
// registers for a message type and its instance name the way an application
// registers a method (HandleMessage), and sends with Request, RequestAll and
// Tell. PROTOCOL.md section 6 gives the routing rule: the body of every
// service message begins with the str16 name of the service instance it is
// for, a request carries a non-zero header ID, and its answer (a type the
// wire marks as an answer) carries the same ID.

// MessageHandler serves the service messages of one type for one service
// instance. from is the sending node's name; body is the whole message body
// (the service name included), the handler's to keep; ctx is done when the
// link goes down or the node stops. For a request, the handler returns the
// answer's type (one the wire marks as an answer: wire.Type.IsAnswer) and
// body; an error, or a panic, goes back to the requester as a RemoteError.
// For a one-way message (Tell) the answer is dropped.
type MessageHandler func(ctx context.Context, from string, t wire.Type, body []byte) (answer wire.Type, reply []byte, err error)

// serviceTable holds the registered message handlers by type, then by
// service name.
type serviceTable struct {
	mu sync.RWMutex
	m  map[wire.Type]map[string]MessageHandler
}

// get is the handler for messages of type t for the service named by name
// (as it came off the wire: the lookup does not allocate).
func (s *serviceTable) get(t wire.Type, name []byte) MessageHandler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[t][string(name)]
}

// HandleMessage registers h for the service messages of type t addressed to
// the service instance named service. A type and name that are taken are
// refused with ErrHandlerExists; a nil h removes the registration. t must be
// a service message type (wire.Type.IsService), and service a name of 1 to
// 65535 bytes.
func (n *Node) HandleMessage(t wire.Type, service string, h MessageHandler) error {
	switch {
	case !t.IsService():
		return fmt.Errorf("mesh: HandleMessage: %s is not a service message type (want a partition, autoheal or lock request; see PROTOCOL.md section 6)", t)
	case service == "":
		return errors.New("mesh: HandleMessage: empty service name")
	case len(service) > 0xffff:
		return fmt.Errorf("mesh: HandleMessage: service name is %d bytes, want at most 65535", len(service))
	}
	s := &n.messages
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.m[t], service)
		return nil
	}
	if _, taken := s.m[t][service]; taken {
		return fmt.Errorf("mesh: HandleMessage: %s messages for service %q on %s: %w", t, service, n.cfg.Name, ErrHandlerExists)
	}
	if s.m == nil {
		s.m = make(map[wire.Type]map[string]MessageHandler)
	}
	if s.m[t] == nil {
		s.m[t] = make(map[string]MessageHandler)
	}
	s.m[t][service] = h
	return nil
}

// serviceName returns the service name a service message's body begins
// with.
func serviceName(body []byte) ([]byte, error) {
	if len(body) < 2 {
		return nil, &wire.FrameError{Code: wire.CodeTruncated, Msg: fmt.Sprintf("service message of %d bytes ends before its service name", len(body))}
	}
	l := int(binary.BigEndian.Uint16(body))
	if len(body) < 2+l {
		return nil, &wire.FrameError{Code: wire.CodeTruncated, Msg: fmt.Sprintf("service name of %d bytes in a body of %d", l, len(body))}
	}
	return body[2 : 2+l], nil
}

// checkService validates a message this node is about to send.
func checkService(t wire.Type, body []byte) error {
	if !t.IsService() {
		return fmt.Errorf("mesh: %s is not a service message type (want a partition, autoheal or lock request; see PROTOCOL.md section 6)", t)
	}
	if _, err := serviceName(body); err != nil {
		return fmt.Errorf("mesh: %s message: its body must begin with the str16 service name: %w", t, err)
	}
	return nil
}

// serveMessage runs an incoming service message on its own goroutine,
// bounded like a call but by a gate of its own (link.services): the calls
// a peer has this node serve never hold up its service messages, nor the
// control lane's reader that brings them (and the heartbeats).
func (n *Node) serveMessage(lk *link, h wire.Header, body []byte, owned bool) {
	name, err := serviceName(body)
	if err != nil {
		lk.protocolError(err)
		return
	}
	sh := n.messages.get(h.Type, name)
	if sh == nil {
		n.log.Debug("service message for a service not running here", "type", h.Type.String(), "service", string(name), "from", lk.peer)
		if h.ID != 0 {
			lk.sendError(h.ID, wire.CodeNoHandler, fmt.Sprintf("no service %q for %s messages on %s", name, h.Type, n.cfg.Name))
		}
		return
	}
	size := int64(len(body))
	if !lk.services.tryAcquire(size) {
		// The control lane's reader never waits (the heartbeats come
		// behind it): a peer that has this many service messages served
		// at once is refused, and a request learns why at once.
		calls, bytes := lk.services.load()
		n.stats.serviceRefused.Add(1)
		msg := fmt.Sprintf("%s serves at most %d service messages (%d bytes) from %s at once and has %d (%d bytes): try again", n.cfg.Name, lk.services.maxCalls, lk.services.maxBytes, lk.peer, calls, bytes)
		n.log.Debug("service message refused: too many served at once", "type", h.Type.String(), "from", lk.peer, "serving", calls)
		if h.ID != 0 {
			lk.sendError(h.ID, wire.CodeRefused, msg)
		}
		return
	}
	body = keep(body, owned) // before the reader reuses its buffer
	n.wg.Add(1)
	lk.active.Add(1)
	go func() {
		defer n.wg.Done()
		defer lk.active.Add(-1)
		defer lk.services.release(size)
		t, reply, code, msg := n.runMessage(lk.ctx, sh, lk.peer, h.Type, body)
		if h.ID == 0 {
			return
		}
		if code != 0 {
			lk.sendError(h.ID, code, msg)
			return
		}
		lk.c.Send(lk.ctx, t, h.ID, reply, nil)
	}()
}

// runMessage runs a message handler, turning an error, a panic or an answer
// of a type that answers nothing into an error code and message.
func (n *Node) runMessage(ctx context.Context, h MessageHandler, from string, t wire.Type, body []byte) (answer wire.Type, reply []byte, code wire.Code, msg string) {
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("service message handler panicked", "type", t.String(), "from", from, "panic", p, "stack", string(debug.Stack()))
			answer, reply, code, msg = 0, nil, wire.CodeHandlerPanic, fmt.Sprintf("handler for %s messages panicked: %v", t, p)
		}
	}()
	answer, reply, err := h(ctx, from, t, body)
	switch {
	case err != nil:
		return 0, nil, handlerErrorCode(err), err.Error()
	case !answer.IsAnswer():
		return 0, nil, wire.CodeHandlerError, fmt.Sprintf("the handler for %s messages on %s answered with %s, which answers nothing", t, n.cfg.Name, answer)
	}
	return answer, reply, 0, ""
}

// Answer is one node's answer to a service request.
type Answer struct {
	Node string
	Type wire.Type // the answer's type; 0 when Err is set
	Body []byte
	Err  error
}

// Request sends the service message t with body (which begins with the
// service name) to node on the control lane and waits for its answer,
// bounded by ctx. The errors are Call's: ErrNodeDown, ErrUnknownNode,
// ErrStopped, a RemoteError (ErrNoHandler when node runs no such service),
// ctx's error. A request to this node itself runs its handler here.
func (n *Node) Request(ctx context.Context, node string, t wire.Type, body []byte) (wire.Type, []byte, error) {
	if err := checkService(t, body); err != nil {
		return 0, nil, err
	}
	if node == n.cfg.Name {
		return n.requestLocal(ctx, t, body)
	}
	lk, err := n.awaitLink(ctx, node)
	if err != nil {
		return 0, nil, err
	}
	o, err := lk.sendRequest(ctx, t, body)
	if err != nil {
		return 0, nil, err
	}
	return o.waitAnswer(ctx)
}

// RequestAll sends the service message t to every node in nodes at once
// (nil: every running member, this node included) and waits for all their
// answers, bounded by ctx. The answers come sorted by node.
func (n *Node) RequestAll(ctx context.Context, nodes []string, t wire.Type, body []byte) []Answer {
	if nodes == nil {
		nodes = n.Info().RunningNodes
	}
	nodes = slices.Compact(slices.Sorted(slices.Values(nodes)))
	out := make([]Answer, len(nodes))
	if err := checkService(t, body); err != nil {
		for i, node := range nodes {
			out[i] = Answer{Node: node, Err: err}
		}
		return out
	}
	var local chan Answer
	sent := make([]outgoing, len(nodes))
	for i, node := range nodes {
		out[i].Node = node
		if node == n.cfg.Name {
			local = make(chan Answer, 1)
			go func() {
				at, b, err := n.requestLocal(ctx, t, body)
				local <- Answer{Node: node, Type: at, Body: b, Err: err}
			}()
			continue
		}
		lk, err := n.awaitLink(ctx, node)
		if err == nil {
			sent[i], err = lk.sendRequest(ctx, t, body)
		}
		out[i].Err = err
	}
	for i := range out {
		switch {
		case out[i].Node == n.cfg.Name:
			out[i] = <-local
		case out[i].Err == nil:
			out[i].Type, out[i].Body, out[i].Err = sent[i].waitAnswer(ctx)
		}
	}
	return out
}

// Tell sends the one-way service message t to node: no answer is awaited,
// and a nil error means it was sent, not that it was handled.
func (n *Node) Tell(ctx context.Context, node string, t wire.Type, body []byte) error {
	if err := checkService(t, body); err != nil {
		return err
	}
	if node == n.cfg.Name {
		name, _ := serviceName(body)
		h := n.messages.get(t, name)
		if h == nil {
			return nil
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.runMessage(n.ctx, h, n.cfg.Name, t, clone(body))
		}()
		return nil
	}
	lk, err := n.linkTo(node)
	if err != nil {
		return err
	}
	if err := lk.c.Send(ctx, t, 0, body, nil); err != nil {
		return n.sendError(lk, t, err)
	}
	return nil
}

// sendRequest sends a service request on the link and returns at once;
// waitAnswer takes its answer.
func (lk *link) sendRequest(ctx context.Context, t wire.Type, body []byte) (outgoing, error) {
	if err := ctx.Err(); err != nil {
		return outgoing{}, err
	}
	o := outgoing{lk: lk, id: lk.nextID.Add(1), ch: getReplyChan(), method: t.String()}
	if !lk.register(o.id, o.ch) {
		replyChans.Put(o.ch)
		return outgoing{}, &NodeError{Node: lk.peer, Err: ErrNodeDown}
	}
	if err := lk.c.Send(ctx, t, o.id, body, nil); err != nil {
		lk.forget(o.id)
		return outgoing{}, lk.n.sendError(lk, t, err)
	}
	return o, nil
}

// sendError is the error for a service message the link did not send.
func (n *Node) sendError(lk *link, t wire.Type, err error) error {
	if errors.Is(err, conn.ErrClosed) {
		return &NodeError{Node: lk.peer, Err: fmt.Errorf("%w: %v", ErrNodeDown, err)}
	}
	return fmt.Errorf("mesh: %s message to %s: %w", t, lk.peer, err)
}

// waitAnswer takes the answer of a sent request, or gives up when ctx ends.
func (o outgoing) waitAnswer(ctx context.Context) (wire.Type, []byte, error) {
	r, err := o.take(ctx)
	if err != nil {
		return 0, nil, err
	}
	return r.typ, r.payload, nil
}

// requestLocal runs a request to this node itself, with Request's semantics.
func (n *Node) requestLocal(ctx context.Context, t wire.Type, body []byte) (wire.Type, []byte, error) {
	name, _ := serviceName(body)
	h := n.messages.get(t, name)
	if h == nil {
		return 0, nil, newRemoteError(n.cfg.Name, t.String(), wire.CodeNoHandler, fmt.Sprintf("no service %q for %s messages on %s", name, t, n.cfg.Name))
	}
	type res struct {
		t    wire.Type
		b    []byte
		code wire.Code
		msg  string
	}
	ch := make(chan res, 1)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		at, b, code, msg := n.runMessage(ctx, h, n.cfg.Name, t, clone(body))
		ch <- res{at, b, code, msg}
	}()
	select {
	case r := <-ch:
		if r.code != 0 {
			return 0, nil, newRemoteError(n.cfg.Name, t.String(), r.code, r.msg)
		}
		return r.t, r.b, nil
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("mesh: %s request on %s: %w", t, n.cfg.Name, ctx.Err())
	}
}
