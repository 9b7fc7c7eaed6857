package baseline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The ekka-mesh bench methods: package load's, the same that ekka-mesh
// bench serve handles.
const (
	MethodEcho  = load.MethodEcho  // call: reply = payload
	MethodSink  = load.MethodSink  // call: empty reply
	MethodCast  = load.MethodCast  // cast: counted
	MethodCount = load.MethodCount // call: 16 bytes, casts and cast bytes received
)

// ParsePeer parses EnvPeer's value, "name=addr".
func ParsePeer(s string) (name, addr string, err error) {
	name, addr, ok := strings.Cut(s, "=")
	if !ok || name == "" || addr == "" {
		return "", "", fmt.Errorf("%s=%q, want name=host:port", EnvPeer, s)
	}
	return name, addr, nil
}

// serveEkka runs a node with mesh's defaults and the bench handlers
// (load.Serve, as ekka-mesh bench serve) on
// 127.0.0.1 with a free port until ctx ends.
func serveEkka(ctx context.Context, getenv func(string) string, ready func(addr, name string)) error {
	cfg := mesh.DefaultConfig()
	cfg.Name = getenv(EnvNodeName)
	cfg.Cookie = getenv(EnvCookie)
	cfg.ListenAddr = "127.0.0.1:0"
	switch c := getenv(EnvCompression); c {
	case "", "default":
	default:
		mode, err := mesh.ParseCompression(c)
		if err != nil {
			return fmt.Errorf("%s=%q, want default, off, on or auto", EnvCompression, c)
		}
		cfg.Compression = mode
	}
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
	if err := load.Serve(node); err != nil {
		node.Stop(context.Background())
		return err
	}
	ready(node.Addr().String(), node.Name())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return node.Stop(sctx)
}
