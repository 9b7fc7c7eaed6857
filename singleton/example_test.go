package singleton_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/singleton"
)

// Every node of a three-node cluster runs the singleton "report"; it runs
// on one of them. When that node's Run is cancelled (as a Stop hook would),
// the lock is released and another node runs it, with a larger fencing
// token.
func ExampleRun() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := meshtest.StartFormed(ctx, 3, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(context.Background())

	type run struct {
		node  int
		token uint64
	}
	runs := make(chan run, 3)
	stops := make([]context.CancelFunc, c.Len())
	done := make(chan error, c.Len())
	for i := range c.Len() {
		l, err := locker.New(c.Node(i), locker.Config{Name: "singletons"})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer l.Close()
		rctx, stop := context.WithCancel(ctx)
		stops[i] = stop
		go func() {
			done <- singleton.Run(rctx, l, "report", func(ctx context.Context, token uint64) error {
				runs <- run{i, token} // then work, passing token to what it changes
				<-ctx.Done()
				return ctx.Err()
			}, singleton.Config{Lease: 5 * time.Second, Retry: 50 * time.Millisecond})
		}()
	}

	first := <-runs
	fmt.Println("running on one node, with a token:", first.token > 0)
	stops[first.node]()
	fmt.Println("its Run returned:", <-done)
	next := <-runs
	fmt.Println("handed over to another node:", next.node != first.node, "with a larger token:", next.token > first.token)

	for _, stop := range stops {
		stop()
	}
	for range c.Len() - 1 {
		<-done
	}
	// Output:
	// running on one node, with a token: true
	// its Run returned: context canceled
	// handed over to another node: true with a larger token: true
}
