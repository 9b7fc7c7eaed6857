package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Lifecycle hooks: the Start hook runs once the node is up (here it
// registers a handler before any peer can find the node), the Stop hook
// first thing in Stop; a Join hook that refuses aborts the join, naming
// the hook.
func ExampleHooks() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := mesh.DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.ListenAddr = "hooks1@127.0.0.1", "example-cookie", "127.0.0.1:0"
	cfg.Hooks = mesh.Hooks{
		Start: func(ctx context.Context, ev mesh.HookEvent) error {
			fmt.Println(ev.Event, ev.Node)
			return ev.Self.Handle("app.hello", func(context.Context, string, []byte) ([]byte, error) { return []byte("hi"), nil })
		},
		Join: func(ctx context.Context, ev mesh.HookEvent) error {
			return fmt.Errorf("not ready to join %v", ev.Peers)
		},
		Stop: func(ctx context.Context, ev mesh.HookEvent) error {
			fmt.Println(ev.Event, ev.Node)
			return nil
		},
	}
	n, err := mesh.Start(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Join(ctx, "hooks2@127.0.0.1")
	var he *mesh.HookError
	fmt.Println(errors.As(err, &he), err)
	if err := n.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// start hooks1@127.0.0.1
	// true mesh: node hooks1@127.0.0.1: join hook failed: not ready to join [hooks2@127.0.0.1]
	// stop hooks1@127.0.0.1
}
