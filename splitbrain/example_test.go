package splitbrain_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// Attach a keep-majority resolver to a node, with hooks that stop and
// restart the application's own work. Every node of the cluster attaches
// one with the same rules.
func ExampleAttach() {
	cfg := mesh.DefaultConfig()
	cfg.Name = "n1@127.0.0.1"
	cfg.Cookie = "example-cookie"
	cfg.ListenAddr = "127.0.0.1:0"
	node, err := mesh.Start(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Stop(context.Background())

	r, err := splitbrain.Attach(node, splitbrain.Config{
		Rules:       splitbrain.Rules{Strategy: splitbrain.KeepMajority},
		StableAfter: 10 * time.Second,
		Hooks: splitbrain.Hooks{
			Down: func(_ context.Context, d splitbrain.Decision) error {
				log.Printf("stopping the workers: %s", d.Reason)
				return nil
			},
			Up: func(_ context.Context, d splitbrain.Decision) error {
				log.Printf("reloading state, then serving: %s", d.Reason)
				return nil
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	st := r.Status()
	fmt.Println(st.Strategy, "serving:", st.Serving)
	// Output: keep-majority serving: true
}
