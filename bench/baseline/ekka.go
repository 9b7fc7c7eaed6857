package baseline

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The ekka-mesh bench methods.
const (
	MethodEcho  = "bench.echo"  // call: reply = payload
	MethodSink  = "bench.sink"  // call: empty reply
	MethodCast  = "bench.cast"  // cast: counted
	MethodCount = "bench.count" // call: 16 bytes, casts and cast bytes received
)

// Counter counts the casts a node received on MethodCast.
type Counter struct {
	msgs, bytes atomic.Uint64
}

// Register installs the four bench handlers on node.
func (c *Counter) Register(node *mesh.Node) error {
	handlers := map[string]mesh.Handler{
		MethodEcho: func(_ context.Context, _ string, p []byte) ([]byte, error) { return p, nil },
		MethodSink: func(context.Context, string, []byte) ([]byte, error) { return nil, nil },
		MethodCast: func(_ context.Context, _ string, p []byte) ([]byte, error) {
			c.msgs.Add(1)
			c.bytes.Add(uint64(len(p)))
			return nil, nil
		},
		MethodCount: func(context.Context, string, []byte) ([]byte, error) {
			out := make([]byte, 16)
			binary.BigEndian.PutUint64(out, c.msgs.Load())
			binary.BigEndian.PutUint64(out[8:], c.bytes.Load())
			return out, nil
		},
	}
	for m, h := range handlers {
		if err := node.Handle(m, h); err != nil {
			return err
		}
	}
	return nil
}

// ParseCount decodes the reply of MethodCount.
func ParseCount(reply []byte) (msgs, bytes uint64, err error) {
	if len(reply) != 16 {
		return 0, 0, fmt.Errorf("%s reply of %d bytes, want 16 (uint64 casts, uint64 bytes)", MethodCount, len(reply))
	}
	return binary.BigEndian.Uint64(reply), binary.BigEndian.Uint64(reply[8:]), nil
}

// Count asks node's peer for its cast counters.
func Count(ctx context.Context, node *mesh.Node, peer string) (msgs, bytes uint64, err error) {
	reply, err := node.Call(ctx, peer, MethodCount, nil)
	if err != nil {
		return 0, 0, err
	}
	return ParseCount(reply)
}

// ParsePeer parses EnvPeer's value, "name=addr".
func ParsePeer(s string) (name, addr string, err error) {
	name, addr, ok := strings.Cut(s, "=")
	if !ok || name == "" || addr == "" {
		return "", "", fmt.Errorf("%s=%q, want name=host:port", EnvPeer, s)
	}
	return name, addr, nil
}

// serveEkka runs a node with mesh's defaults and the bench handlers on
// 127.0.0.1 with a free port until ctx ends.
func serveEkka(ctx context.Context, getenv func(string) string, ready func(addr, name string)) error {
	cfg := mesh.DefaultConfig()
	cfg.Name = getenv(EnvNodeName)
	cfg.Cookie = getenv(EnvCookie)
	cfg.ListenAddr = "127.0.0.1:0"
	if p := getenv(EnvPeer); p != "" {
		peer, addr, err := ParsePeer(p)
		if err != nil {
			return err
		}
		cfg.Resolve = func(node string) (string, error) {
			if node == peer {
				return addr, nil
			}
			return "", fmt.Errorf("bench child: no address for %s (only %s)", node, peer)
		}
	}
	node, err := mesh.Start(ctx, cfg)
	if err != nil {
		return err
	}
	var c Counter
	if err := c.Register(node); err != nil {
		node.Stop(context.Background())
		return err
	}
	ready(node.Addr().String(), node.Name())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return node.Stop(sctx)
}
