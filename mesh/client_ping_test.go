package mesh

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// A hidden client answers a well-formed Ping with a Pong carrying its time,
// and closes the link with a goodbye "truncated" on a 3-byte one instead of
// echoing it, as a node's link does (PROTOCOL.md 6.3).
func TestClientPingIsValidated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := conn.DefaultConfig()
	cfg.Name = "n1@127.0.0.1"
	cfg.Cookie = "client-ping-test-cookie"
	cfg.HandshakeTimeout = 5 * time.Second
	rand.Read(cfg.GUID[:])
	l, err := conn.Listen(ctx, &cfg, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan *conn.Conn, 1)
	go func() {
		c, _ := l.Accept(ctx)
		accepted <- c
	}()
	cl, err := Connect(ctx, ClientConfig{Cookie: cfg.Cookie, Addr: l.Addr().String()}, cfg.Name)
	require.NoError(t, err)
	defer cl.Close()
	node := <-accepted
	require.NotNil(t, node, "the node accepted the client")
	t.Cleanup(func() {
		node.Abort(0, "test over")
		<-node.Done()
	})
	pongs := make(chan []byte, 4)
	node.Start(func(_ *conn.Conn, h wire.Header, body []byte, _ bool) {
		if h.Type == wire.TypePong {
			pongs <- append([]byte(nil), body...)
		}
	})

	ok := (&wire.Ping{SentNanos: 42}).Append(nil)
	require.NoError(t, node.Send(ctx, wire.TypePing, 1, ok, nil))
	select {
	case p := <-pongs:
		require.Equal(t, ok, p, "a valid ping is answered with its time")
	case <-ctx.Done():
		t.Fatal("no pong for a valid ping")
	}

	// The goodbye may close the link before Send returns: its error is not the point.
	node.Send(ctx, wire.TypePing, 2, []byte{1, 2, 3}, nil)
	select {
	case <-node.Closed():
	case <-ctx.Done():
		t.Fatal("the link is still up after a 3-byte ping")
	}
	var pc *conn.PeerClosedError
	require.ErrorAs(t, node.Err(), &pc)
	require.True(t, strings.Contains(pc.Reason, "truncated"), "goodbye %q", pc.Reason)
	require.Len(t, pongs, 0, "the short ping was not echoed")
	select {
	case <-cl.done:
	case <-ctx.Done():
		t.Fatal("the client's link is still up after it said goodbye")
	}
	_, err = cl.Call(ctx, MethodInfo, nil)
	require.ErrorIs(t, err, ErrNodeDown, "the client's link is closed")
}
