package mesh

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Handler serves a method. from is the calling node's name; ctx is done
// when the caller's deadline passes, the link goes down or the node stops.
// The payload is the handler's to keep. For a cast the reply is dropped.
// A panic is recovered and returned to the caller as an error.
type Handler func(ctx context.Context, from string, payload []byte) ([]byte, error)

// reservedPrefix marks the node's built-in methods (used by ekka-mesh ctl).
const reservedPrefix = "$ekka."

type handlerTable struct {
	mu sync.RWMutex
	m  map[string]handlerEntry
}

// handlerEntry is a registered handler; borrowed says it only borrows its
// payload (HandleBorrowed); method is its name, kept so that serving a
// call does not make a string of the name per call.
type handlerEntry struct {
	h        Handler
	borrowed bool
	method   string
}

func (t *handlerTable) get(method string) Handler {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[method].h
}

// entryOf is entry for a method name as it came off the wire.
func (t *handlerTable) entryOf(method []byte) handlerEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[string(method)] // no allocation: the compiler looks up without converting
}

// set registers a built-in method of the node's own, replacing any
// handler.
func (t *handlerTable) set(method string, h Handler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.putLocked(method, h, false)
}

// put registers h for method unless the method has a handler already; a
// nil h removes it. It reports false when the method was taken.
func (t *handlerTable) put(method string, h Handler, borrowed bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, taken := t.m[method]; taken && h != nil {
		return false
	}
	t.putLocked(method, h, borrowed)
	return true
}

func (t *handlerTable) putLocked(method string, h Handler, borrowed bool) {
	if t.m == nil {
		t.m = make(map[string]handlerEntry)
	}
	if h == nil {
		delete(t.m, method)
		return
	}
	t.m[method] = handlerEntry{h: h, borrowed: borrowed, method: method}
}

// Handle registers h for method; a nil h removes it. A method that has a
// handler already is refused with ErrHandlerExists (remove it first to
// replace it), so two services on one node cannot take each other's
// methods: a service names its methods with a prefix of its own. Method
// names are at most 65535 bytes; names starting with "$ekka." are reserved
// for the node's own methods.
func (n *Node) Handle(method string, h Handler) error {
	return n.handle(method, h, false)
}

// HandleBorrowed registers h for method like Handle, except that h only
// borrows its payload: the payload is valid until h returns (for a call,
// until its reply is sent, so h may return the payload itself as the
// reply), and the node then reads a later message into the same memory.
// For a handler that uses its payload in place (decodes it, writes it to a
// file or socket, counts it) this saves, per large message, an allocation,
// the zeroing of fresh memory and the garbage collector's work, which cost
// more than the copy from the socket. A handler that keeps any part of the
// payload after it returns must copy it; one that cannot promise that uses
// Handle.
func (n *Node) HandleBorrowed(method string, h Handler) error {
	return n.handle(method, h, true)
}

func (n *Node) handle(method string, h Handler, borrowed bool) error {
	switch {
	case method == "":
		return errors.New("mesh: Handle: empty method name")
	case len(method) > 0xffff:
		return fmt.Errorf("mesh: Handle: method name is %d bytes, want at most 65535", len(method))
	case strings.HasPrefix(method, reservedPrefix):
		return fmt.Errorf("mesh: Handle: method %q uses the reserved prefix %q", method, reservedPrefix)
	}
	if !n.handlers.put(method, h, borrowed) {
		return fmt.Errorf("mesh: Handle: method %q on %s: %w", method, n.cfg.Name, ErrHandlerExists)
	}
	return nil
}

// ErrHandlerExists: Handle or HandleMessage was given a method, or a
// message type and service, that has a handler already.
var ErrHandlerExists = errors.New("mesh: a handler is registered already")

// linkTo returns the link to node, or an error saying why there is none.
func (n *Node) linkTo(node string) (*link, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil, ErrStopped
	}
	if lk := n.linkset.current[node]; lk != nil {
		return lk, nil
	}
	if _, ok := n.table.get(node); ok {
		return nil, &NodeError{Node: node, Err: ErrNodeDown}
	}
	return nil, &NodeError{Node: node, Err: ErrUnknownNode}
}

// Call calls method on node with payload and returns the reply. It is at
// most once: a call is never sent twice. Errors, for errors.Is: ErrNodeDown
// (no link, or the link went down before the reply), ErrUnknownNode (not a
// member), ErrNoHandler, ErrRemote (the handler returned an error; see
// RemoteError), ErrPanic, ErrStopped, ErrTooLarge (payload above
// Config.MaxMessage: not sent, the link stays up; a reply above it comes
// back as a RemoteError with code "too large"), and ctx's error when ctx
// ends first: the call never outlives its context.
func (n *Node) Call(ctx context.Context, node, method string, payload []byte) (_ []byte, err error) {
	defer n.stats.callDone(time.Now(), &err)
	if node == n.cfg.Name {
		return n.callLocal(ctx, method, payload)
	}
	lk, err := n.awaitLink(ctx, node)
	if err != nil {
		return nil, err
	}
	return lk.call(ctx, method, payload)
}

// awaitLink returns the link to node like linkTo, except while the peer has
// just closed this node's link as a duplicate and the link it keeps is still
// on its way (see linkDown): the member still counts as running then, so the
// call waits for that link, bounded by ctx and the handshake timeout, rather
// than failing with ErrNodeDown.
func (n *Node) awaitLink(ctx context.Context, node string) (*link, error) {
	n.mu.Lock()
	_, pending := n.superseded[node]
	if !pending || n.stopped || n.linkset.current[node] != nil {
		n.mu.Unlock()
		return n.linkTo(node)
	}
	w := make(chan struct{})
	n.joinWait[node] = append(n.joinWait[node], w)
	n.mu.Unlock()
	t := time.NewTimer(n.cfg.HandshakeTimeout)
	defer t.Stop()
	var ctxErr error
	select {
	case <-w:
		return n.linkTo(node)
	case <-t.C:
	case <-n.ctx.Done():
	case <-ctx.Done():
		ctxErr = ctx.Err()
	}
	n.mu.Lock()
	n.joinWait[node] = slices.DeleteFunc(n.joinWait[node], func(c chan struct{}) bool { return c == w })
	if len(n.joinWait[node]) == 0 {
		delete(n.joinWait, node)
	}
	n.mu.Unlock()
	if ctxErr != nil {
		return nil, &NodeError{Node: node, Err: fmt.Errorf("waiting for the link that replaces a duplicate: %w", ctxErr)}
	}
	return n.linkTo(node)
}

// call sends a call on the link and waits for its reply.
func (lk *link) call(ctx context.Context, method string, payload []byte) ([]byte, error) {
	o, err := lk.send(ctx, method, payload)
	if err != nil {
		return nil, err
	}
	return o.wait(ctx)
}

// outgoing is a call sent on a link whose reply has not been taken yet.
type outgoing struct {
	lk     *link
	id     uint64
	ch     chan callResult
	method string
}

// send sends a call and returns at once; wait takes its reply. Sending
// several calls before waiting for any is how Multicall reaches every node
// without a goroutine per node.
func (lk *link) send(ctx context.Context, method string, payload []byte) (outgoing, error) {
	if err := ctx.Err(); err != nil {
		return outgoing{}, err
	}
	if len(method) > 0xffff {
		return outgoing{}, fmt.Errorf("mesh: call %s: method name is %d bytes, want at most 65535", lk.peer, len(method))
	}
	o := outgoing{lk: lk, id: lk.nextID.Add(1), ch: getReplyChan(), method: method}
	if !lk.register(o.id, o.ch) {
		replyChans.Put(o.ch)
		return outgoing{}, &NodeError{Node: lk.peer, Err: ErrNodeDown}
	}
	var hb [256]byte
	head := appendCallHead(ctx, hb[:0], method)
	if err := lk.c.SendAs(ctx, method, wire.TypeCall, o.id, head, payload); err != nil {
		lk.forget(o.id)
		if errors.Is(err, conn.ErrClosed) {
			return outgoing{}, &NodeError{Node: lk.peer, Err: fmt.Errorf("%w: %v", ErrNodeDown, err)}
		}
		return outgoing{}, fmt.Errorf("mesh: call %s on %s: %w", method, lk.peer, err)
	}
	return o, nil
}

// replyChans recycles the channels calls wait on for their reply. A channel
// goes back only once its reply was received; one whose call gave up (ctx
// done) may still get a late reply and is left to the garbage collector.
var replyChans = sync.Pool{New: func() any { return make(chan callResult, 1) }}

func getReplyChan() chan callResult { return replyChans.Get().(chan callResult) }

// appendCallHead appends the head of a Call body: the time ctx leaves the
// callee (0: no deadline) and the method.
func appendCallHead(ctx context.Context, dst []byte, method string) []byte {
	var timeout uint32
	if dl, ok := ctx.Deadline(); ok {
		timeout = uint32(max(1, min(time.Until(dl).Milliseconds(), 1<<32-1)))
	}
	return (&wire.Call{TimeoutMillis: timeout, Method: []byte(method)}).Append(dst)
}

// decodeErrorReply turns an error reply from node into a RemoteError.
func decodeErrorReply(node string, body []byte) (*RemoteError, error) {
	var e wire.ErrorReply
	if err := e.Decode(body); err != nil {
		return nil, err
	}
	return &RemoteError{Node: node, Code: uint16(e.Code), Message: string(e.Message), Panic: e.Code == wire.CodeHandlerPanic}, nil
}

// wait takes the reply of a sent call, or gives up when ctx ends.
func (o outgoing) wait(ctx context.Context) ([]byte, error) {
	r, err := o.take(ctx)
	return r.payload, err
}

// take takes the answer of a sent call or service request, or gives up
// when ctx ends.
func (o outgoing) take(ctx context.Context) (callResult, error) {
	select {
	case r := <-o.ch:
		// The reply was taken off the channel, and a call's channel gets
		// one reply at most: it can serve another call.
		replyChans.Put(o.ch)
		if r.err != nil {
			var re *RemoteError
			if errors.As(r.err, &re) {
				re.Method = o.method
				return callResult{}, re
			}
			return callResult{}, &NodeError{Node: o.lk.peer, Err: fmt.Errorf("call %s: %w", o.method, r.err)}
		}
		return r, nil
	case <-ctx.Done():
		o.lk.forget(o.id)
		return callResult{}, fmt.Errorf("mesh: call %s on %s: %w", o.method, o.lk.peer, ctx.Err())
	}
}

// callLocal runs a call to this node itself, with the same semantics.
func (n *Node) callLocal(ctx context.Context, method string, payload []byte) ([]byte, error) {
	h := n.handlers.get(method)
	if h == nil {
		return nil, &RemoteError{Node: n.cfg.Name, Method: method, Code: uint16(wire.CodeNoHandler), Message: "no handler for method " + method}
	}
	type res struct {
		b    []byte
		code wire.Code
		msg  string
	}
	ch := make(chan res, 1)
	go func() {
		b, code, msg := n.runHandler(ctx, h, n.cfg.Name, method, clone(payload))
		ch <- res{b, code, msg}
	}()
	select {
	case r := <-ch:
		if r.code != 0 {
			return nil, &RemoteError{Node: n.cfg.Name, Method: method, Code: uint16(r.code), Message: r.msg, Panic: r.code == wire.CodeHandlerPanic}
		}
		return r.b, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("mesh: call %s on %s: %w", method, n.cfg.Name, ctx.Err())
	}
}

// runHandler runs h, turning an error or a panic into an error code and message.
func (n *Node) runHandler(ctx context.Context, h Handler, from, method string, payload []byte) (reply []byte, code wire.Code, msg string) {
	if code, msg := n.refuseSuspended(method); code != 0 {
		return nil, code, msg
	}
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("handler panicked", "method", method, "from", from, "panic", p, "stack", string(debug.Stack()))
			reply, code, msg = nil, wire.CodeHandlerPanic, fmt.Sprintf("handler for %s panicked: %v", method, p)
		}
	}()
	reply, err := h(ctx, from, payload)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, wire.CodeDeadline, err.Error()
		}
		return nil, handlerErrorCode(err), err.Error()
	}
	return reply, 0, ""
}

// handlerErrorCode is the ErrorReply code of a handler's error: the code of
// a sentinel that has one (Join's and Leave's answers to pointless
// operations, carried to a caller such as ekka-mesh ctl for errors.Is),
// else CodeHandlerError.
func handlerErrorCode(err error) wire.Code {
	switch {
	case errors.Is(err, ErrAlreadyInCluster):
		return wire.CodeAlreadyInCluster
	case errors.Is(err, ErrNotInCluster):
		return wire.CodeNotInCluster
	case errors.Is(err, ErrSuspended):
		return wire.CodeSuspended
	}
	return wire.CodeHandlerError
}

// serveCall runs an incoming call on its own goroutine, so a slow handler
// blocks neither the link nor other calls. The calls of one peer served at
// once are bounded (Config.MaxServingCalls, MaxServingBytes): at the bound
// the link's reader waits here, which pushes back on the peer.
func (n *Node) serveCall(lk *link, id uint64, body []byte, owned bool) {
	var m wire.Call
	if err := m.Decode(body); err != nil {
		lk.protocolError(err)
		return
	}
	e := n.handlers.entryOf(m.Method)
	if e.h == nil {
		lk.sendError(id, wire.CodeNoHandler, "no handler for method "+string(m.Method)+" on "+n.cfg.Name)
		return
	}
	size := int64(len(m.Payload))
	if !lk.serving.acquire(lk.ctx, size) {
		return // the link is closing
	}
	in := incoming{lk: lk, id: id, entry: e, payload: keep(m.Payload, owned), size: size}
	if e.borrowed && owned {
		in.lent = body
	}
	if m.TimeoutMillis > 0 {
		in.deadline = time.Now().Add(time.Duration(m.TimeoutMillis) * time.Millisecond)
	}
	n.wg.Add(1)
	lk.active.Add(1)
	n.stats.served.Add(1)
	go n.runCall(in) // arguments are copied to the new goroutine: no closure to allocate
}

// incoming is a call being served.
type incoming struct {
	lk       *link
	id       uint64
	entry    handlerEntry
	payload  []byte
	lent     []byte    // the buffer to give back once the reply is sent (HandleBorrowed)
	deadline time.Time // zero: the caller set none
	size     int64     // bytes counted against the link's serving gate
}

func (n *Node) runCall(in incoming) {
	defer n.wg.Done()
	lk := in.lk
	defer lk.active.Add(-1)
	ctx := lk.ctx
	var cc *callContext
	if !in.deadline.IsZero() {
		cc = newCallContext(lk.ctx, in.deadline)
		ctx = cc
	}
	method := in.entry.method
	reply, code, msg := n.runHandler(ctx, in.entry.h, lk.peer, method, in.payload)
	if cc != nil {
		cc.release()
	}
	// The reply counts against the gate until it is sent: replies a peer
	// does not read keep its calls from being admitted.
	held := in.size + int64(len(reply))
	if len(reply) > 0 {
		lk.serving.grow(int64(len(reply)))
	}
	lk.sendReply(in.id, method, reply, code, msg)
	if in.lent != nil {
		conn.ReleaseBody(in.lent)
	}
	lk.serving.release(held)
}

// Cast sends method with payload to node and returns without waiting: fire
// and forget. Casts from one node to another are handled in the order they
// were sent while the link lives. An error means the cast was not sent
// (no link, node stopped); a nil error does not mean it was handled.
func (n *Node) Cast(node, method string, payload []byte) (err error) {
	defer n.stats.castDone(&err)
	if len(method) > 0xffff {
		return fmt.Errorf("mesh: cast %s: method name is %d bytes, want at most 65535", node, len(method))
	}
	if node == n.cfg.Name {
		h := n.handlers.get(method)
		if h == nil {
			return nil
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.runHandler(n.ctx, h, n.cfg.Name, method, clone(payload))
		}()
		return nil
	}
	lk, err := n.linkTo(node)
	if err != nil {
		return err
	}
	var hb [256]byte
	head := (&wire.Cast{Method: []byte(method)}).Append(hb[:0])
	if err := lk.c.SendAs(lk.ctx, method, wire.TypeCast, 0, head, payload); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("mesh: cast %s to %s: %w", method, node, err)
		}
		return &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrNodeDown, err)}
	}
	return nil
}

func (n *Node) runCast(lk *link, m castMsg) {
	e := m.entry
	if _, code, msg := n.runHandler(lk.ctx, e.h, lk.peer, e.method, m.payload); code == wire.CodeSuspended {
		n.log.Debug("cast dropped: this node is suspended", "method", e.method, "from", lk.peer)
	} else if code != 0 {
		n.log.Warn("cast handler failed", "method", e.method, "from", lk.peer, "err", msg)
	}
	if e.borrowed && m.body != nil {
		conn.ReleaseBody(m.body)
	}
}

// MulticallResult is the outcome of a Multicall, like Erlang's
// rpc:multicall: the replies of the nodes that answered, and the nodes that
// failed with why.
type MulticallResult struct {
	// Replies maps each node that answered to its reply.
	Replies map[string][]byte
	// Errors maps each node that failed to its error.
	Errors map[string]error
	// Failed lists the nodes in Errors, sorted.
	Failed []string
}

// Multicall calls method on every node in nodes at once and waits for all
// of them (bounded by ctx). A nil nodes means every running member,
// including this node. The calls are all sent before any reply is awaited,
// from the caller's goroutine: the time is about the slowest node's, with
// no goroutine per node.
func (n *Node) Multicall(ctx context.Context, nodes []string, method string, payload []byte) MulticallResult {
	t0 := time.Now()
	if nodes == nil {
		nodes = n.Info().RunningNodes
	}
	res := MulticallResult{Replies: make(map[string][]byte), Errors: make(map[string]error), Failed: []string{}}
	record := func(node string, b []byte, err error) {
		if err != nil {
			res.Errors[node] = err
			res.Failed = append(res.Failed, node)
			return
		}
		res.Replies[node] = b
	}
	type localResult struct {
		b   []byte
		err error
	}
	var local chan localResult
	var sent []outgoing
	for _, node := range slices.Compact(slices.Sorted(slices.Values(nodes))) {
		if node == n.cfg.Name {
			local = make(chan localResult, 1)
			go func() {
				b, err := n.callLocal(ctx, method, payload)
				local <- localResult{b, err}
			}()
			continue
		}
		lk, err := n.awaitLink(ctx, node)
		if err != nil {
			record(node, nil, err)
			continue
		}
		o, err := lk.send(ctx, method, payload)
		if err != nil {
			record(node, nil, err)
			continue
		}
		sent = append(sent, o)
	}
	for _, o := range sent {
		b, err := o.wait(ctx)
		record(o.lk.peer, b, err)
	}
	if local != nil {
		r := <-local
		record(n.cfg.Name, r.b, r.err)
	}
	slices.Sort(res.Failed)
	n.stats.multicallDone(t0, &res)
	return res
}

// Ping asks node for a pong and returns the round-trip time.
func (n *Node) Ping(ctx context.Context, node string) (time.Duration, error) {
	t0 := time.Now()
	if _, err := n.Call(ctx, node, reservedPrefix+"pong", nil); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}
