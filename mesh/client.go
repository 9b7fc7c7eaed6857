package mesh

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// ClientConfig describes a hidden client: a connection that authenticates
// with the cookie like a node but never listens and never becomes a member
// (what ekka-mesh ctl uses).
type ClientConfig struct {
	// Cookie is the cluster's shared secret.
	Cookie string
	// CookiePrevious are cookies to try, in order, when the node refuses
	// Cookie: during a rolling rotation (wire/PROTOCOL.md section 8.4) a
	// client configured with the new cookie and the old one as previous
	// reaches every node, rotated or not. At most 8.
	CookiePrevious []string
	// Cluster may be left empty: a hidden client is accepted by a node of
	// any cluster whose cookie it knows.
	Cluster string
	// BasePort is the cluster's base port (default 4370).
	BasePort int
	// Addr, when set, is dialed instead of the address the port rule gives.
	Addr string
	// Name is the client's own name (default ctl-<random>@127.0.0.1).
	Name string
	// TLS wraps the connection when set.
	TLS *tls.Config
	// HandshakeTimeout bounds each handshake step (default 5s).
	HandshakeTimeout time.Duration
	// Dial, when set, opens the TCP connection.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// pongTimeout bounds the wait for room to answer a ping: a node that does
// not read its lane has no use for the answer.
const pongTimeout = 5 * time.Second

// Client is a hidden client connected to one node.
type Client struct {
	c      *conn.Conn
	node   string
	nextID atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan callResult
	closed  bool
	done    chan struct{}
}

// Connect connects a hidden client to node.
func Connect(ctx context.Context, cfg ClientConfig, node string) (*Client, error) {
	if cfg.Cookie == "" {
		return nil, errors.New("mesh client: Cookie is empty, want the cluster's shared secret")
	}
	if _, err := parseName(node); err != nil {
		return nil, &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
	}
	addr := cfg.Addr
	if addr == "" {
		a, err := Addr(node, cfg.BasePort)
		if err != nil {
			return nil, &NodeError{Node: node, Err: fmt.Errorf("%w: %v", ErrUnknownNode, err)}
		}
		addr = a
	}
	cc := conn.DefaultConfig()
	cc.Hidden = true
	cc.Cookie = cfg.Cookie
	cc.CookiePrevious = cfg.CookiePrevious
	cc.Cluster = cfg.Cluster
	cc.Name = cfg.Name
	if cc.Name == "" {
		var b [4]byte
		rand.Read(b[:])
		cc.Name = "ctl-" + hex.EncodeToString(b[:]) + "@127.0.0.1"
	}
	g := NewGUID()
	cc.GUID = g
	cc.TLS = cfg.TLS
	if cfg.HandshakeTimeout > 0 {
		cc.HandshakeTimeout = cfg.HandshakeTimeout
	}
	cc.Dial = cfg.Dial
	c, err := conn.Dial(ctx, &cc, node, addr)
	if err != nil {
		return nil, err
	}
	cl := &Client{c: c, node: node, pending: make(map[uint64]chan callResult), done: make(chan struct{})}
	c.Start(cl.onFrame)
	go func() {
		<-c.Closed()
		cl.mu.Lock()
		cl.closed = true
		p := cl.pending
		cl.pending = nil
		cl.mu.Unlock()
		for _, ch := range p {
			ch <- callResult{err: ErrNodeDown}
		}
		<-c.Done()
		close(cl.done)
	}()
	return cl, nil
}

// Node is the node the client is connected to.
func (cl *Client) Node() string { return cl.node }

func (cl *Client) onFrame(c *conn.Conn, h wire.Header, body []byte, owned bool) {
	var r callResult
	switch h.Type {
	case wire.TypeReply:
		r.payload = keep(body, owned)
	case wire.TypeErrorReply:
		re, err := decodeErrorReply(cl.node, body)
		if err != nil {
			c.Close(wire.CodeMalformed, err.Error())
			return
		}
		r.err = re
	case wire.TypePing:
		// PROTOCOL.md 6.3: a Ping body is one u64, answered with a Pong
		// carrying it; anything else is a protocol error, closed with a
		// goodbye (as a node's link does), never echoed.
		var p wire.Ping
		if err := p.Decode(body); err != nil {
			c.Close(frameCode(err), fmt.Sprintf("ping from %s: %v", cl.node, err))
			return
		}
		var b [8]byte
		ctx, cancel := context.WithTimeout(context.Background(), pongTimeout)
		c.Send(ctx, wire.TypePong, h.ID, (&wire.Pong{SentNanos: p.SentNanos}).Append(b[:0]), nil)
		cancel()
		return
	default:
		return
	}
	cl.mu.Lock()
	ch := cl.pending[h.ID]
	delete(cl.pending, h.ID)
	cl.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// Call calls method on the connected node.
func (cl *Client) Call(ctx context.Context, method string, payload []byte) ([]byte, error) {
	id := cl.nextID.Add(1)
	ch := make(chan callResult, 1)
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil, &NodeError{Node: cl.node, Err: ErrNodeDown}
	}
	cl.pending[id] = ch
	cl.mu.Unlock()
	forget := func() {
		cl.mu.Lock()
		delete(cl.pending, id)
		cl.mu.Unlock()
	}
	head := appendCallHead(ctx, nil, method)
	if err := cl.c.Send(ctx, wire.TypeCall, id, head, payload); err != nil {
		forget()
		return nil, &NodeError{Node: cl.node, Err: err}
	}
	select {
	case r := <-ch:
		if r.err != nil {
			var re *RemoteError
			if errors.As(r.err, &re) {
				re.Method = method
				return nil, re
			}
			return nil, &NodeError{Node: cl.node, Err: r.err}
		}
		return r.payload, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("mesh client: call %s on %s: %w", method, cl.node, ctx.Err())
	}
}

// Info asks the node for its view of the cluster.
func (cl *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	b, err := cl.Call(ctx, MethodInfo, nil)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("mesh client: bad info from %s: %w", cl.node, err)
	}
	return info, nil
}

// Admin calls one of the built-in methods with a JSON request.
func (cl *Client) Admin(ctx context.Context, method string, req AdminRequest) ([]byte, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return cl.Call(ctx, method, b)
}

// Close closes the connection and waits for its goroutines.
func (cl *Client) Close() error {
	cl.c.Close(wire.CodeShutdown, "client done")
	<-cl.done
	return nil
}
