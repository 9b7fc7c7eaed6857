package refclient

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

var randRead = rand.Read

// Config says whom the client reaches and how it introduces itself.
type Config struct {
	// Addr is the node's address, host:port (section 10: the port rule).
	Addr string
	// Target is the node's name, which the acceptor checks.
	Target string
	// Name is this client's node name, short@host.
	Name string
	// Cookie is the cluster's shared secret.
	Cookie string
	// Cluster is the cluster name; a hidden client may leave it empty.
	Cluster string
	// Hidden announces CapHidden. This client implements only what a
	// hidden client does (it never answers membership), so it is always
	// set by Dial; DialLanes honours it as given.
	Hidden bool
	// GUID identifies this client's incarnation; zero means a fresh one.
	GUID [16]byte
	// StepTimeout bounds each handshake step (default 5s, section 8.3).
	StepTimeout time.Duration
}

// Lane is one authenticated lane of a link (DialLanes).
type Lane struct {
	l *laneConn
}

// Number is the lane number (LaneControl, LaneData, LaneLarge).
func (ln *Lane) Number() uint8 { return ln.l.lane }

// WriteFrame writes one frame on the lane as it is (on the control lane
// this means before any smux session: a bare frame).
func (ln *Lane) WriteFrame(typ uint8, id uint64, body []byte) error {
	_, err := ln.l.nc.Write(AppendFrame(nil, typ, 0, id, body))
	return err
}

// ReadFrame reads the next bare frame, waiting at most d.
func (ln *Lane) ReadFrame(d time.Duration) (Frame, error) {
	ln.l.nc.SetReadDeadline(time.Now().Add(d))
	return ln.l.readFrame(DefaultMaxPayload)
}

// Close closes the lane's connection.
func (ln *Lane) Close() error { return ln.l.nc.Close() }

// Client is a hidden client linked to one node: three lanes, the control
// lane carrying an smux session with the control stream.
type Client struct {
	cfg    Config
	linkID uint64
	keys   map[string][]byte
	lanes  [3]*laneConn
	sess   *smuxSession
	peer   Challenge
	linked bool // a lane has been handshaken: peer is set

	nextID  uint64
	mu      sync.Mutex
	pending map[uint64]chan Frame
	goodbye []RejectedError // goodbyes the node sent, in arrival order
	closing bool
	ended   [3]chan error // each lane's reader puts why it ended
}

func (c *Client) caps() uint32 {
	if c.cfg.Hidden {
		return CapHidden
	}
	return 0
}

func (c *Client) maxPayload() uint32 { return DefaultMaxPayload }

func (c *Client) key(cluster string) []byte {
	if k, ok := c.keys[cluster]; ok {
		return k
	}
	k := CookieKey(c.cfg.Cookie, cluster)
	c.keys[cluster] = k
	return k
}

func newClient(cfg Config) (*Client, error) {
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 5 * time.Second
	}
	if cfg.GUID == ([16]byte{}) {
		// The first 8 bytes are the start time in Unix microseconds, the
		// last 8 random (section 10).
		binary.BigEndian.PutUint64(cfg.GUID[:8], uint64(time.Now().UnixMicro()))
		if _, err := randRead(cfg.GUID[8:]); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg, keys: make(map[string][]byte), pending: make(map[uint64]chan Frame)}
	var id [8]byte
	if _, err := randRead(id[:]); err != nil {
		return nil, err
	}
	c.linkID = binary.BigEndian.Uint64(id[:])
	return c, nil
}

// openLane connects and handshakes one lane.
func (c *Client) openLane(ctx context.Context, lane uint8) (*laneConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("lane %d: %w", lane, err)
	}
	l := &laneConn{lane: lane, nc: nc, r: bufio.NewReader(nc)}
	ch, err := c.handshake(l, c.cfg.StepTimeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if c.linked && ch.GUID != c.peer.GUID {
		nc.Close()
		return nil, fmt.Errorf("lane %d reached another incarnation of %s", lane, c.cfg.Target)
	}
	c.peer, c.linked = ch, true
	return l, nil
}

// DialLanes handshakes only the given lanes, in the order given, with one
// link id, and starts nothing on them: for testing what a node does with a
// link that never completes.
func DialLanes(ctx context.Context, cfg Config, lanes ...uint8) ([]*Lane, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	var out []*Lane
	for _, lane := range lanes {
		l, err := c.openLane(ctx, lane)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, &Lane{l})
	}
	return out, nil
}

// Dial links to the node as a hidden client (section 2): it handshakes the
// control, data and large lanes in that order with one link id, then starts
// the smux session on the control lane and opens the control stream.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg.Hidden = true
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	for lane := range c.lanes {
		l, err := c.openLane(ctx, uint8(lane))
		if err != nil {
			c.closeSockets()
			return nil, err
		}
		c.lanes[lane] = l
	}
	c.sess = newSmuxSession(c.lanes[LaneControl].nc)
	if err := c.sess.open(); err != nil {
		c.closeSockets()
		return nil, fmt.Errorf("control lane: opening the control stream: %w", err)
	}
	for lane := range c.lanes {
		c.ended[lane] = make(chan error, 1)
		go c.readLoop(uint8(lane))
	}
	return c, nil
}

// Peer is the Challenge the node answered with (its name, GUID, cluster,
// capabilities).
func (c *Client) Peer() Challenge { return c.peer }

func (c *Client) closeSockets() {
	for _, l := range c.lanes {
		if l != nil {
			l.nc.Close()
		}
	}
}

// readLoop reads one lane until it ends: replies go to their calls, pings
// are answered, goodbyes are recorded.
func (c *Client) readLoop(lane uint8) {
	l := c.lanes[lane]
	var err error
read:
	for {
		var f Frame
		if lane == LaneControl {
			f, err = c.sess.readFrame(l.r, DefaultMaxPayload)
		} else {
			f, err = l.readFrame(DefaultMaxPayload)
		}
		if err != nil {
			break read
		}
		if f.Flags != 0 {
			err = &ProtocolError{Code: CodeMalformed, Msg: "this client announced neither compression nor chunking, got flags"}
			break read
		}
		switch f.Type {
		case TypeReply, TypeErrorReply:
			c.mu.Lock()
			ch := c.pending[f.ID]
			delete(c.pending, f.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- f
			}
		case TypePing:
			v, perr := DecodePing(f.Body)
			if perr != nil {
				err = perr
				break read
			}
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], v)
			c.send(LaneControl, TypePong, f.ID, b[:])
		case TypeGoodbye:
			var g Reject
			if derr := g.Decode(f.Body); derr != nil {
				err = derr
				break read
			}
			c.mu.Lock()
			c.goodbye = append(c.goodbye, RejectedError{Type: TypeGoodbye, Lane: lane, Code: g.Code, Reason: g.Reason})
			c.mu.Unlock()
			// The receiver of a goodbye closes its end of the lane and
			// reads on until the node closes its own (section 2).
			if tc, ok := l.nc.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
		}
		// Other types: a hidden client is sent nothing else; skip.
	}
	c.mu.Lock()
	saidGoodbye := c.closing || len(c.goodbye) > 0
	c.mu.Unlock()
	// The end of stream closes a lane in order; after a goodbye (either
	// way) so does a reset: the side that closes does not read what is
	// still on its way (a window update, say) and its close may reset the
	// connection (section 2, "Orderly close").
	if errors.Is(err, io.EOF) || saidGoodbye && errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	c.ended[lane] <- err
}

// send writes one frame on lane: on the control lane inside the control
// stream, elsewhere directly on the connection.
func (c *Client) send(lane uint8, typ uint8, id uint64, body []byte) error {
	if len(body) > int(c.peer.MaxPayload) && c.peer.MaxPayload != 0 || len(body) > DefaultMaxPayload {
		return fmt.Errorf("refclient: a body of %d bytes needs chunking, which this client does not do", len(body))
	}
	frame := AppendFrame(nil, typ, 0, id, body)
	if lane == LaneControl {
		return c.sess.write(frame)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.lanes[lane].nc.Write(frame)
	return err
}

// Call calls method with payload and returns the reply, or a *RemoteError
// for an ErrorReply. The call goes on the data lane (bodies below 64 KiB;
// this client sends nothing larger). timeout is sent in the Call body.
func (c *Client) Call(ctx context.Context, method string, payload []byte) ([]byte, error) {
	body := (&Call{TimeoutMillis: timeoutOf(ctx), Method: method, Payload: payload}).Append(nil)
	if len(body) >= 64<<10 {
		return nil, fmt.Errorf("refclient: a call body of %d bytes belongs on the large lane, chunked; this client does not do that", len(body))
	}
	ch := make(chan Frame, 1)
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(LaneData, TypeCall, id, body); err != nil {
		return nil, err
	}
	select {
	case f := <-ch:
		if f.Type == TypeErrorReply {
			var e ErrorReply
			if err := e.Decode(f.Body); err != nil {
				return nil, err
			}
			return nil, &RemoteError{Code: e.Code, Message: e.Message}
		}
		return f.Body, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

func timeoutOf(ctx context.Context) uint32 {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return uint32(max(1, min(time.Until(dl).Milliseconds(), 1<<32-1)))
}

// Goodbyes returns the goodbyes the node sent so far.
func (c *Client) Goodbyes() []RejectedError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]RejectedError(nil), c.goodbye...)
}

// Wait waits until every lane has ended (the node closed the link), or ctx
// ends, and returns the first error a lane ended with (nil for an orderly
// end of stream).
func (c *Client) Wait(ctx context.Context) error {
	var first error
	for lane, ch := range c.ended {
		select {
		case err := <-ch:
			ch <- err // let a second Wait see it too
			if err != nil && first == nil {
				first = fmt.Errorf("lane %d: %w", lane, err)
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for lane %d to end: %w", lane, ctx.Err())
		}
	}
	return first
}

// Close closes the link in order (section 2, "Orderly close"): a Goodbye
// with code on every lane, then it waits, bounded by ctx, for the node to
// close its end of every lane, and closes the sockets. It reports an error
// when a goodbye could not be sent or a lane did not end cleanly in time.
func (c *Client) Close(ctx context.Context, code uint16, reason string) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closing = true
	c.mu.Unlock()
	defer c.closeSockets()
	body := (&Reject{Code: code, Reason: reason}).Append(nil)
	// Control lane first; the goodbyes after it are best effort, as the
	// node may close the link on reading the first (section 2).
	if err := c.send(LaneControl, TypeGoodbye, 0, body); err != nil {
		return fmt.Errorf("control lane: sending goodbye: %w", err)
	}
	c.send(LaneData, TypeGoodbye, 0, body)
	c.send(LaneLarge, TypeGoodbye, 0, body)
	return c.Wait(ctx)
}
