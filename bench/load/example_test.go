package load_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// Two nodes on loopback: the second serves the bench methods, the first
// drives 64 echo calls in flight against it for a moment.
func ExampleRun() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := meshtest.StartFormed(ctx, 2, func(_ int, cfg *mesh.Config) {
		cfg.HeartbeatTimeout = 5 * time.Second // a busy machine is not a dead peer
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(context.Background())
	if err := load.Serve(c.Node(1)); err != nil {
		fmt.Println(err)
		return
	}
	res, err := load.Run(ctx, c.Node(0), c.Name(1), load.Options{
		Workload:    load.WorkloadCall,
		Concurrency: 64,
		Duration:    100 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Workload, res.Concurrency, res.Size, res.Ops > 0, res.P99us >= res.P50us)
	// Output: call 64 64 true true
}
