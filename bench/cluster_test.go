package bench_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// localCluster starts n nodes in this process with mesh.DefaultConfig on
// direct loopback links (no fault-injection proxy), each serving the bench
// methods, joins them into one cluster and waits until every node sees all
// n running. They stop when b ends.
func localCluster(b *testing.B, n int) []*mesh.Node {
	b.Helper()
	nodes := startLocalNodes(b, n)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := joinAll(ctx, nodes); err != nil {
		b.Fatal(err)
	}
	for _, nd := range nodes {
		if err := load.Serve(nd); err != nil {
			b.Fatal(err)
		}
	}
	return nodes
}

// startLocalNodes starts n unlinked nodes in this process, named
// bn1@127.0.0.1 and on, listening on free ports and resolving each other's
// names to them. They stop when b ends (or stopLocalNodes).
func startLocalNodes(b *testing.B, n int) []*mesh.Node {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var book addrBook
	nodes := make([]*mesh.Node, 0, n)
	b.Cleanup(func() { stopLocalNodes(b, nodes) })
	cookie := "bench-local"
	for i := range n {
		cfg := mesh.DefaultConfig()
		cfg.Name = fmt.Sprintf("bn%d@127.0.0.1", i+1)
		cfg.Cookie = cookie
		cfg.ListenAddr = "127.0.0.1:0"
		cfg.Resolve = book.resolve
		nd, err := mesh.Start(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, nd)
		book.add(cfg.Name, nd.Addr().String())
	}
	return nodes
}

// addrBook resolves the names of nodes started in this process to the
// addresses they listen on (mesh.Config.Resolve).
type addrBook struct {
	mu    sync.Mutex
	addrs map[string]string
}

func (a *addrBook) add(name, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.addrs == nil {
		a.addrs = make(map[string]string)
	}
	a.addrs[name] = addr
}

func (a *addrBook) resolve(node string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr, ok := a.addrs[node]; ok {
		return addr, nil
	}
	return "", fmt.Errorf("bench: no node %s started in this process", node)
}

// stopLocalNodes stops every node, reporting failures to b.
func stopLocalNodes(b *testing.B, nodes []*mesh.Node) {
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := nd.Stop(ctx); err != nil && !errors.Is(err, mesh.ErrStopped) {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

// joinAll joins every node to the first and waits until each sees all of
// them running.
func joinAll(ctx context.Context, nodes []*mesh.Node) error {
	for _, nd := range nodes[1:] {
		if err := nd.Join(ctx, nodes[0].Name()); err != nil {
			return err
		}
	}
	for {
		formed := true
		for _, nd := range nodes {
			formed = formed && len(nd.Info().RunningNodes) == len(nodes)
		}
		if formed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d nodes did not all see each other running: %w", len(nodes), ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// BenchmarkMulticall3/ekka: a 64-byte echo multicall to every node of a
// 3-node cluster, the caller included, in this process (direct links).
func BenchmarkMulticall3(b *testing.B) { benchMulticall(b, 3) }

// BenchmarkMulticall5/ekka: the same on 5 nodes.
func BenchmarkMulticall5(b *testing.B) { benchMulticall(b, 5) }

func benchMulticall(b *testing.B, n int) {
	b.Run(implEkka, func(b *testing.B) {
		nodes := localCluster(b, n)
		ctx := benchContext(b)
		names := make([]string, n)
		for i, nd := range nodes {
			names[i] = nd.Name()
		}
		p := randomBytes(64)
		call := func() error {
			res := nodes[0].Multicall(ctx, names, baseline.MethodEcho, p)
			if len(res.Failed) > 0 {
				return fmt.Errorf("multicall failed on %v: %v", res.Failed, res.Errors)
			}
			if len(res.Replies) != n {
				return fmt.Errorf("multicall: %d replies, want %d", len(res.Replies), n)
			}
			return nil
		}
		if err := call(); err != nil { // warm up
			b.Fatal(err)
		}
		runCallers(b, []func() error{call}, 0)
	})
}

// BenchmarkLockLeader/ekka: acquire + release of a leader lock (package
// locker) on a 3-node cluster in this process (direct links), from a node
// that is not the leader: each operation is two calls to it.
func BenchmarkLockLeader(b *testing.B) { benchLock(b, locker.Leader) }

// BenchmarkLockQuorum/ekka: acquire + release of a quorum lock on a 3-node
// cluster in this process, from the node outside the resource's quorum (2
// of the 3 nodes): each operation is a round of calls to both.
func BenchmarkLockQuorum(b *testing.B) { benchLock(b, locker.Quorum) }

func benchLock(b *testing.B, typ locker.Type) {
	b.Run(implEkka, func(b *testing.B) {
		nodes := localCluster(b, 3)
		ls := make([]*locker.Locker, len(nodes))
		for i, nd := range nodes {
			l, err := locker.New(nd, locker.Config{})
			if err != nil {
				b.Fatal(err)
			}
			ls[i] = l
			b.Cleanup(func() { l.Close() })
		}
		const resource = "bench-resource"
		targets, _, err := ls[0].Targets(typ, resource)
		if err != nil {
			b.Fatal(err)
		}
		var l *locker.Locker
		for _, c := range ls {
			if !slices.Contains(targets, c.Node().Name()) {
				l = c
				break
			}
		}
		if l == nil {
			b.Fatalf("every node is a target of the %s lock (%v): none acquires from outside", typ, targets)
		}
		ctx := benchContext(b)
		opts := locker.Options{Type: typ, Owner: "bench"}
		pair := func() error {
			r, err := l.Acquire(ctx, resource, opts)
			if err != nil {
				return err
			}
			if !r.OK {
				return fmt.Errorf("acquire refused: %+v", r)
			}
			r, err = l.Release(ctx, resource, opts)
			if err != nil {
				return err
			}
			if !r.OK {
				return fmt.Errorf("release refused: %+v", r)
			}
			return nil
		}
		if err := pair(); err != nil { // warm up
			b.Fatal(err)
		}
		runCallers(b, []func() error{pair}, 0)
	})
}
