package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// exampleNode starts a node listening on a free port of 127.0.0.1.
// Nodes normally listen at the port their name gives (the port rule);
// here addrs, filled as the nodes start, tells each node where the others
// listen, so the example never collides with a port in use.
func exampleNode(ctx context.Context, name string, addrs *sync.Map) (*mesh.Node, error) {
	cfg := mesh.DefaultConfig()
	cfg.Name, cfg.Cookie = name, "example-cookie"
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Resolve = func(node string) (string, error) {
		if a, ok := addrs.Load(node); ok {
			return a.(string), nil
		}
		return "", fmt.Errorf("no node %s", node)
	}
	n, err := mesh.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	addrs.Store(name, n.Addr().String())
	return n, nil
}

// exampleEvent returns the next event of kind from sub, skipping others.
func exampleEvent(ctx context.Context, sub *mesh.Subscription, kind mesh.EventKind) (mesh.Event, error) {
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return mesh.Event{}, errors.New("subscription closed")
			}
			if ev.Kind == kind {
				return ev, nil
			}
		case <-ctx.Done():
			return mesh.Event{}, fmt.Errorf("no %s event: %w", kind, ctx.Err())
		}
	}
}

// Two nodes on loopback: each handles "greet", n2 joins n1, n1 calls,
// multicalls and casts, watches n2 come up and go down, and both stop.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var addrs sync.Map
	n1, err := exampleNode(ctx, "n1@127.0.0.1", &addrs)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n1.Stop(context.Background())
	n2, err := exampleNode(ctx, "n2@127.0.0.1", &addrs)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n2.Stop(context.Background())

	// Handlers: a call's reply is what the handler returns; a cast's is dropped.
	for _, n := range []*mesh.Node{n1, n2} {
		n.Handle("greet", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			return []byte(n.Name() + " greets " + from), nil
		})
	}
	notes := make(chan string, 1)
	n2.Handle("note", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		notes <- fmt.Sprintf("note from %s: %s", from, p)
		return nil, nil
	})

	// Events arrive in order on the subscription until it is closed.
	events := n1.Subscribe()
	defer events.Close()

	if err := n2.Join(ctx, "n1@127.0.0.1"); err != nil {
		fmt.Println("join:", err)
		return
	}
	ev, err := exampleEvent(ctx, events, mesh.EventNodeUp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("n1 sees", ev.Kind, ev.Node)
	fmt.Println("running:", n1.Info().RunningNodes)

	reply, err := n1.Call(ctx, "n2@127.0.0.1", "greet", nil)
	if err != nil {
		fmt.Println("call:", err)
		return
	}
	fmt.Println("call:", string(reply))

	_, err = n1.Call(ctx, "n2@127.0.0.1", "no-such-method", nil)
	fmt.Println("unknown method is ErrNoHandler:", errors.Is(err, mesh.ErrNoHandler))

	// nil: every running member, this node included.
	res := n1.Multicall(ctx, nil, "greet", nil)
	for _, node := range slices.Sorted(maps.Keys(res.Replies)) {
		fmt.Printf("multicall: %s -> %s\n", node, res.Replies[node])
	}
	fmt.Println("multicall failed:", res.Failed)

	if err := n1.Cast("n2@127.0.0.1", "note", []byte("hi")); err != nil {
		fmt.Println("cast:", err)
		return
	}
	fmt.Println(<-notes)

	if err := n2.Stop(ctx); err != nil {
		fmt.Println("stop n2:", err)
		return
	}
	if ev, err = exampleEvent(ctx, events, mesh.EventNodeDown); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("n1 sees", ev.Kind, ev.Node)
	_, err = n1.Call(ctx, "n2@127.0.0.1", "greet", nil)
	fmt.Println("call to a stopped node is ErrNodeDown:", errors.Is(err, mesh.ErrNodeDown))

	if err := n1.Stop(ctx); err != nil {
		fmt.Println("stop n1:", err)
		return
	}
	fmt.Println("stopped")

	// Output:
	// n1 sees node-up n2@127.0.0.1
	// running: [n1@127.0.0.1 n2@127.0.0.1]
	// call: n2@127.0.0.1 greets n1@127.0.0.1
	// unknown method is ErrNoHandler: true
	// multicall: n1@127.0.0.1 -> n1@127.0.0.1 greets n1@127.0.0.1
	// multicall: n2@127.0.0.1 -> n2@127.0.0.1 greets n1@127.0.0.1
	// multicall failed: []
	// note from n1@127.0.0.1: hi
	// n1 sees node-down n2@127.0.0.1
	// call to a stopped node is ErrNodeDown: true
	// stopped
}
