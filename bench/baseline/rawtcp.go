package baseline

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// The modes of a raw TCP connection: its first byte.
const (
	ModeEcho   byte = 'e' // size-byte ping-pong, no framing
	ModeStream byte = 's' // length-prefixed one-way messages, a 0 length asks for the count
	ModeAck    byte = 'a' // length-prefixed messages, each answered with one byte
)

// MaxRawMessage bounds a raw TCP message (and an echo size): 128 MiB.
const MaxRawMessage = 128 << 20

// ServeRawTCP serves raw TCP connections on ln until ctx ends.
func ServeRawTCP(ctx context.Context, ln net.Listener) error {
	return serveConns(ctx, ln, serveRaw)
}

// serveConns accepts on ln and runs serve on every connection until ctx
// ends; then it closes the listener and every connection and waits.
func serveConns(ctx context.Context, ln net.Listener, serve func(net.Conn) error) error {
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	defer stop()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			break
		}
		conns[c] = true
		mu.Unlock()
		wg.Go(func() {
			if err := serve(c); err != nil && !errClosed(err) {
				// The child's stderr reaches the parent's error messages.
				fmt.Fprintf(os.Stderr, "bench server: connection from %s: %v\n", c.RemoteAddr(), err)
			}
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func serveRaw(c net.Conn) error {
	r := bufio.NewReaderSize(c, 64<<10)
	mode, err := r.ReadByte()
	if err != nil {
		return err
	}
	switch mode {
	case ModeEcho:
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size == 0 || size > MaxRawMessage {
			return fmt.Errorf("raw echo size %d, want 1..%d", size, MaxRawMessage)
		}
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(r, buf); err != nil {
				return err
			}
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
	case ModeStream, ModeAck:
		var msgs, total uint64
		var buf []byte
		var hdr [16]byte
		for {
			if _, err := io.ReadFull(r, hdr[:4]); err != nil {
				return err
			}
			n := binary.BigEndian.Uint32(hdr[:4])
			if n > MaxRawMessage {
				return fmt.Errorf("raw message of %d bytes, want at most %d", n, MaxRawMessage)
			}
			if n == 0 {
				binary.BigEndian.PutUint64(hdr[:8], msgs)
				binary.BigEndian.PutUint64(hdr[8:], total)
				if _, err := c.Write(hdr[:]); err != nil {
					return err
				}
				continue
			}
			if cap(buf) < int(n) {
				buf = make([]byte, n)
			}
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				return err
			}
			msgs++
			total += uint64(n)
			if mode == ModeAck {
				if _, err := c.Write(hdr[:1]); err != nil {
					return err
				}
			}
		}
	}
	return fmt.Errorf("raw mode %q, want 'e', 's' or 'a'", mode)
}

// RawConn is the client end of a raw TCP connection in one mode. It is not
// safe for concurrent use: open one per goroutine.
type RawConn struct {
	c    net.Conn
	w    *bufio.Writer
	mode byte
	size int
	hdr  [16]byte
	stop func() bool
}

// DialRaw connects to a raw TCP server in mode; size is the ping-pong size
// of ModeEcho (ignored otherwise). The connection closes when ctx ends.
func DialRaw(ctx context.Context, addr string, mode byte, size int) (*RawConn, error) {
	if mode == ModeEcho && (size <= 0 || size > MaxRawMessage) {
		return nil, fmt.Errorf("raw echo size %d, want 1..%d", size, MaxRawMessage)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &RawConn{c: c, w: bufio.NewWriterSize(c, 64<<10), mode: mode, size: size}
	rc.stop = context.AfterFunc(ctx, func() { c.Close() })
	hello := []byte{mode, 0, 0, 0, 0}
	if mode == ModeEcho {
		binary.BigEndian.PutUint32(hello[1:], uint32(size))
	} else {
		hello = hello[:1]
	}
	if _, err := c.Write(hello); err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

// Close closes the connection.
func (rc *RawConn) Close() error {
	rc.stop()
	return rc.c.Close()
}

// PingPong writes p (ModeEcho: exactly the size dialed) and reads the echo into p.
func (rc *RawConn) PingPong(p []byte) error {
	if len(p) != rc.size {
		return fmt.Errorf("raw ping-pong of %d bytes on a connection of size %d", len(p), rc.size)
	}
	if _, err := rc.c.Write(p); err != nil {
		return err
	}
	_, err := io.ReadFull(rc.c, p)
	return err
}

// Send queues one length-prefixed message (ModeStream) in the connection's
// 64 KiB buffer; larger messages go straight to the socket.
func (rc *RawConn) Send(p []byte) error {
	if len(p) == 0 || len(p) > MaxRawMessage {
		return fmt.Errorf("raw message of %d bytes, want 1..%d", len(p), MaxRawMessage)
	}
	binary.BigEndian.PutUint32(rc.hdr[:4], uint32(len(p)))
	if len(p) >= directWrite {
		// One vectored write, the payload not copied: the physical limit.
		if err := rc.w.Flush(); err != nil {
			return err
		}
		bufs := net.Buffers{rc.hdr[:4], p}
		_, err := bufs.WriteTo(rc.c)
		return err
	}
	if _, err := rc.w.Write(rc.hdr[:4]); err != nil {
		return err
	}
	_, err := rc.w.Write(p)
	return err
}

// directWrite is the message size from which Send writes the message
// itself instead of copying it into the buffer.
const directWrite = 8 << 10

// Count flushes what Send queued and asks the server how many messages and
// bytes it received on this connection.
func (rc *RawConn) Count() (msgs, bytes uint64, err error) {
	clear(rc.hdr[:4])
	if _, err := rc.w.Write(rc.hdr[:4]); err != nil {
		return 0, 0, err
	}
	if err := rc.w.Flush(); err != nil {
		return 0, 0, err
	}
	if _, err := io.ReadFull(rc.c, rc.hdr[:]); err != nil {
		return 0, 0, err
	}
	return binary.BigEndian.Uint64(rc.hdr[:8]), binary.BigEndian.Uint64(rc.hdr[8:]), nil
}

// Call sends one length-prefixed message (ModeAck) and waits for its
// one-byte acknowledgement.
func (rc *RawConn) Call(p []byte) error {
	if err := rc.Send(p); err != nil {
		return err
	}
	if err := rc.w.Flush(); err != nil {
		return err
	}
	_, err := io.ReadFull(rc.c, rc.hdr[:1])
	return err
}

// errClosed reports whether err only says that the peer went away or the
// connection was closed: how connections here end.
func errClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
