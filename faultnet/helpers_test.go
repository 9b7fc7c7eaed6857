package faultnet_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// server is a loopback listener that hands every accepted connection to the
// test, or echoes on it, and records how each echo ended.
type server struct {
	ln       net.Listener
	accepted chan net.Conn // when not echoing
	echoEnds chan error    // how each echo connection ended
	echo     bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

// startServer listens on a free loopback port. With echo, every connection
// echoes what it reads and half-closes on EOF; otherwise accepted
// connections are delivered on s.accepted.
func startServer(t testing.TB, echo bool) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &server{ln: ln, echo: echo, accepted: make(chan net.Conn, 64), echoEnds: make(chan error, 64)}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.stop)
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		if !s.echo {
			s.accepted <- c
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_, err := io.Copy(c, c)
			if err == nil {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			select {
			case s.echoEnds <- err:
			default:
			}
		}()
	}
}

func (s *server) stop() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// nextConn returns the next connection the (non-echo) server accepted.
func (s *server) nextConn(t testing.TB) net.Conn {
	t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("server accepted no connection within 5s")
		return nil
	}
}

func newNetwork(t *testing.T) *faultnet.Network {
	t.Helper()
	n := faultnet.New()
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return n
}

func dial(t *testing.T, n *faultnet.Network, from, to string) net.Conn {
	t.Helper()
	c, err := n.Dial(testnet.Context(t, 5*time.Second), from, to)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes msg and reads the same number of bytes back.
func roundTrip(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Write([]byte(msg))
	require.NoError(t, err)
	buf := make([]byte, len(msg))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	return string(buf)
}

// readErr reads from c until an error and returns it.
func readErr(t *testing.T, c net.Conn) error {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 1024)
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
}

// requireSilent asserts that nothing arrives on c within d.
func requireSilent(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	buf := make([]byte, 64)
	k, err := c.Read(buf)
	var ne net.Error
	require.Truef(t, errors.As(err, &ne) && ne.Timeout(), "expected silence, got %q, %v", buf[:k], err)
	require.NoError(t, c.SetReadDeadline(time.Time{}))
}

func requireRefused(t *testing.T, n *faultnet.Network, from, to string) {
	t.Helper()
	c, err := n.Dial(testnet.Context(t, 5*time.Second), from, to)
	if c != nil {
		_ = c.Close()
	}
	require.Errorf(t, err, "dial %s -> %s should be refused", from, to)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
}
