package mesh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startErrNode starts a node on a free loopback port that finds every other
// node at addr.
func startErrNode(t *testing.T, name, cookie, addr string) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.ListenAddr = name, cookie, "127.0.0.1:0"
	cfg.Resolve = func(string) (string, error) { return addr, nil }
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return n
}

// assertOnce checks that each piece of context appears exactly once in msg.
func assertOnce(t *testing.T, msg string, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		assert.Equal(t, 1, strings.Count(msg, p), "%q appears %d times in %q, want once", p, strings.Count(msg, p), msg)
	}
}

// TestErrorContextOnce: an error says each piece of its context once: the
// package, the operation, the node, the address, the layer that failed
// (it read "mesh: join N: mesh: node N: conn: dial N at A: dial A from S:
// dial tcp S->A: ...").
func TestErrorContextOnce(t *testing.T) {
	const target = "b2@127.0.0.1"

	t.Run("refused dial", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now: the dial is refused
		a := startErrNode(t, "a1@127.0.0.1", "err-text-cookie", addr)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err = a.Join(ctx, target)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var ne *NodeError
		require.ErrorAs(t, err, &ne)
		assert.Equal(t, target, ne.Node)
		assertOnce(t, err.Error(), "mesh:", "join", target, "dial tcp", addr)
		assert.True(t, strings.HasPrefix(err.Error(), "mesh: join "+target+": context deadline exceeded\n"), "%q", err)
	})

	t.Run("wrong cookie", func(t *testing.T) {
		b := startErrNode(t, target, "the-right-cookie", "")
		baddr := b.Addr().String()
		c := startErrNode(t, "c3@127.0.0.1", "the-wrong-cookie", baddr)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.Join(ctx, target)
		require.ErrorIs(t, err, ErrBadCookie)
		assertOnce(t, err.Error(), "mesh:", "join", target, "handshake", baddr)
		assert.Equal(t, fmt.Sprintf("mesh: join %s: handshake refused by peer (bad cookie): %s: cookie mismatch", target, baddr), err.Error())
	})

	t.Run("port in use", func(t *testing.T) {
		a := startErrNode(t, "a1@127.0.0.1", "err-text-cookie", "")
		cfg := DefaultConfig()
		cfg.Name, cfg.Cookie, cfg.ListenAddr = "a1@127.0.0.1", "err-text-cookie", a.Addr().String()
		_, err := Start(context.Background(), cfg)
		require.Error(t, err)
		assertOnce(t, err.Error(), "mesh:", "conn:", "a1@127.0.0.1", "listen tcp "+a.Addr().String())
		assert.True(t, strings.HasPrefix(err.Error(), "mesh: node a1@127.0.0.1 cannot listen: conn: port "), "%q", err)
	})

	t.Run("unknown node", func(t *testing.T) {
		a := startErrNode(t, "a1@127.0.0.1", "err-text-cookie", "127.0.0.1:1")
		_, err := a.Call(context.Background(), "zz9@127.0.0.1", "m", nil)
		require.True(t, errors.Is(err, ErrUnknownNode), "%v", err)
		assert.Equal(t, "mesh: node zz9@127.0.0.1: unknown node", err.Error())
	})
}
