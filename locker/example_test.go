package locker_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// Two workers on two nodes of a three-node cluster contend for the
// resource "orders" with quorum locks: the second is refused while the
// first holds it, and gets a larger fencing token once it is released, so
// a store that remembers the largest token it saw can reject a stale
// holder's late writes.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := meshtest.StartFormed(ctx, 3, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(context.Background())
	// One lock service on every node: each serves its own table to the others.
	var ls []*locker.Locker
	for i := range c.Len() {
		l, err := locker.New(c.Node(i), locker.Config{Name: "jobs"})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer l.Close()
		ls = append(ls, l)
	}

	a := locker.Options{Type: locker.Quorum, Owner: "worker-a", Lease: 10 * time.Second}
	res, err := ls[0].Acquire(ctx, "orders", a)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("worker-a acquired:", res.OK, "with a token:", res.Token > 0, "granted by", len(res.Granted), "nodes")
	lease := res.Lease // ends at lease.Deadline() unless renewed; lease.Lost() tells when it is lost
	first := lease.Token()

	b := locker.Options{Type: locker.Quorum, Owner: "worker-b", Lease: 10 * time.Second}
	res, err = ls[1].Acquire(ctx, "orders", b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("worker-b acquired:", res.OK, "refused by", len(res.Refused), "nodes")

	if res, err = ls[0].Release(ctx, "orders", a); err != nil || !res.OK {
		fmt.Println("release:", res, err)
		return
	}
	fmt.Println("worker-a released")

	res, err = ls[1].Acquire(ctx, "orders", b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("worker-b acquired:", res.OK, "with a larger token:", res.Token > first)
	if _, err := res.Lease.Release(ctx); err != nil {
		fmt.Println(err)
		return
	}

	// Output:
	// worker-a acquired: true with a token: true granted by 2 nodes
	// worker-b acquired: false refused by 2 nodes
	// worker-a released
	// worker-b acquired: true with a larger token: true
}

// Which nodes each lock type asks, in a cluster of three: a local lock
// only this node's table, a leader lock the leader's (the running member
// with the oldest GUID, n1 here, started first), a quorum lock a majority
// of the members a hash ring assigns to the resource, and an all lock
// every running member.
func Example_types() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := meshtest.StartFormed(ctx, 3, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(context.Background())
	l, err := locker.New(c.Node(1), locker.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	for _, t := range locker.Types {
		nodes, need, err := l.Targets(t, "orders")
		if err != nil {
			fmt.Println(err)
			return
		}
		if t == locker.Quorum {
			fmt.Printf("%-6s asks %d nodes, needs %d\n", t, len(nodes), need)
			continue
		}
		slices.Sort(nodes)
		fmt.Printf("%-6s asks %v, needs %d\n", t, nodes, need)
	}

	// Output:
	// local  asks [n2@127.0.0.1], needs 1
	// leader asks [n1@127.0.0.1], needs 1
	// quorum asks 2 nodes, needs 2
	// all    asks [n1@127.0.0.1 n2@127.0.0.1 n3@127.0.0.1], needs 3
}
