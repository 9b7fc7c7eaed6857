package meshtest_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// A three-node cluster is split into {n1, n2} and {n3}: each side keeps
// running on its own. Once the network heals, the links come back at once,
// and both sides keep the partition on record (Info().Partitions) until a
// heal or an operator clears it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := meshtest.StartFormed(ctx, 3, nil)
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer c.Stop(context.Background())
	fmt.Println("formed:", c.Node(0).Info().RunningNodes)

	c.Partition([]int{0, 1}, []int{2})
	if err := c.WaitRunning(ctx, 0, 1); err != nil {
		fmt.Println(err)
		return
	}
	if err := c.WaitRunning(ctx, 2); err != nil {
		fmt.Println(err)
		return
	}
	for i := range c.Len() {
		info := c.Node(i).Info()
		fmt.Printf("split: %s runs with %v, sees %v stopped\n", c.Name(i), info.RunningNodes, info.StoppedNodes)
	}

	c.HealAll()
	if err := c.WaitRunning(ctx, 0, 1, 2); err != nil {
		fmt.Println(err)
		return
	}
	// Each node records the partition when its own link comes back.
	err = c.Wait(ctx, "partitions recorded on both sides", func() bool {
		return slices.Equal(c.Node(0).Info().Partitions, c.Names(2)) &&
			slices.Equal(c.Node(1).Info().Partitions, c.Names(2)) &&
			slices.Equal(c.Node(2).Info().Partitions, c.Names(0, 1))
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range c.Len() {
		info := c.Node(i).Info()
		fmt.Printf("healed: %s runs with %v, partitions %v\n", c.Name(i), info.RunningNodes, info.Partitions)
	}

	if err := c.Stop(ctx); err != nil {
		fmt.Println("stop:", err)
		return
	}
	fmt.Println("stopped")

	// Output:
	// formed: [n1@127.0.0.1 n2@127.0.0.1 n3@127.0.0.1]
	// split: n1@127.0.0.1 runs with [n1@127.0.0.1 n2@127.0.0.1], sees [n3@127.0.0.1] stopped
	// split: n2@127.0.0.1 runs with [n1@127.0.0.1 n2@127.0.0.1], sees [n3@127.0.0.1] stopped
	// split: n3@127.0.0.1 runs with [n3@127.0.0.1], sees [n1@127.0.0.1 n2@127.0.0.1] stopped
	// healed: n1@127.0.0.1 runs with [n1@127.0.0.1 n2@127.0.0.1 n3@127.0.0.1], partitions [n3@127.0.0.1]
	// healed: n2@127.0.0.1 runs with [n1@127.0.0.1 n2@127.0.0.1 n3@127.0.0.1], partitions [n3@127.0.0.1]
	// healed: n3@127.0.0.1 runs with [n1@127.0.0.1 n2@127.0.0.1 n3@127.0.0.1], partitions [n1@127.0.0.1 n2@127.0.0.1]
	// stopped
}
