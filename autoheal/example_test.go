package autoheal_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// Autoheal is attached to every node of a three-node cluster, with hooks
// that would drop and reload the application's replicated state. The
// network splits n3 from n1 and n2 and comes back: both sides recorded a
// partition, and autoheal heals the minority, n3, which runs its hooks and
// rejoins n1's cluster.
func ExampleAttach() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := meshtest.StartFormed(ctx, 3, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(context.Background())

	var mu sync.Mutex
	var ran []string // the hooks that ran, in order
	for i := range c.Len() {
		name := c.Name(i)
		ah, err := autoheal.Attach(c.Node(i), autoheal.Config{
			Delay: 500 * time.Millisecond, // cluster.autoheal; 15 s in ekka-mesh run
			Hooks: autoheal.Hooks{
				// Prepare runs before the node drops its links: stop
				// serving the state the other side may have changed.
				Prepare: func(ctx context.Context, reason string) error {
					mu.Lock()
					defer mu.Unlock()
					ran = append(ran, "prepare on "+name)
					return nil
				},
				// Reboot runs once the node has rejoined: reload the state.
				Reboot: func(ctx context.Context, reason string) error {
					mu.Lock()
					defer mu.Unlock()
					ran = append(ran, "reboot on "+name)
					return nil
				},
			},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer ah.Close()
	}

	c.Partition([]int{0, 1}, []int{2})
	if err := c.WaitRunning(ctx, 0, 1); err != nil {
		fmt.Println(err)
		return
	}
	if err := c.WaitRunning(ctx, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("split:", c.Node(2).Info().StoppedNodes, "cut off from", c.Name(2))

	c.HealAll()
	err = c.Wait(ctx, "one cluster again, no partition recorded", func() bool {
		for i := range c.Len() {
			info := c.Node(i).Info()
			if !slices.Equal(info.RunningNodes, c.Names()) || len(info.Partitions) > 0 {
				return false
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return len(ran) == 2
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mu.Lock()
	fmt.Println("hooks:", ran)
	mu.Unlock()
	fmt.Println("healed:", c.Node(2).Info().RunningNodes)

	// Output:
	// split: [n1@127.0.0.1 n2@127.0.0.1] cut off from n3@127.0.0.1
	// hooks: [prepare on n3@127.0.0.1 reboot on n3@127.0.0.1]
	// healed: [n1@127.0.0.1 n2@127.0.0.1 n3@127.0.0.1]
}
