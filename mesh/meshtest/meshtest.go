// Package meshtest runs clusters of mesh nodes in one process on loopback,
// with a fault-injection network between every pair of them, for tests of
// ekka-mesh itself and of services built on it.
//
// Every node listens on 127.0.0.1 at a free port and dials its peers
// through a faultnet.Network, so a test can cut links both ways, blackhole
// one direction, reset connections, add delay, isolate a node or partition
// the cluster, and heal it again, while the nodes run real TCP:
//
//	c, err := meshtest.Start(ctx, 3, nil)
//	defer c.Stop(ctx)
//	c.FormCluster(ctx)             // every node joins node 0
//	c.Partition([]int{0, 1}, []int{2})
//	c.HealAll()
//
// A test starts one with Formed (or Started), which stops it when the test
// ends, and waits for convergence with WaitRunning, Until, or
// WaitHeartbeats when it checks that something did not happen. Reserve
// fixes every node's address before any starts (a seed that is not up
// yet), DirectLinks takes a node's links around the fault network, and
// CallInFlight leaves a call held by its handler.
package meshtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Cluster is a set of nodes on one fault-injection network.
type Cluster struct {
	Net *faultnet.Network

	mu      sync.Mutex
	nodes   []*mesh.Node
	names   []string
	addrs   map[string]string
	cookie  string
	tweak   func(i int, cfg *mesh.Config)
	stopped bool
	// reserved: every node's address was chosen up front (Reserve) and
	// resolves before the node starts.
	reserved bool
}

// Name returns the name of node i: n<i+1>@127.0.0.1.
func Name(i int) string { return fmt.Sprintf("n%d@127.0.0.1", i+1) }

// Start starts n nodes named n1@127.0.0.1 ... nN@127.0.0.1. They do not
// know each other yet: call FormCluster or Join. tweak, when not nil,
// adjusts each node's Config before it starts (heartbeats, autoclean,
// discovery...). Defaults suit tests: 100 ms heartbeats, 600 ms timeout,
// fast redials. A tweak that sets cfg.Dial to nil makes that node dial its
// peers directly, around the fault network (DirectLinks): for benchmarks
// of the transport, where a proxy would measure itself.
func Start(ctx context.Context, n int, tweak func(i int, cfg *mesh.Config)) (*Cluster, error) {
	c, err := newCluster(n, tweak)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		if err := c.StartNode(ctx, i); err != nil {
			c.Stop(context.Background())
			return nil, err
		}
	}
	return c, nil
}

// StartFormed is Start followed by FormCluster: n nodes running together.
// When they do not form a cluster it stops them and returns the error.
func StartFormed(ctx context.Context, n int, tweak func(i int, cfg *mesh.Config)) (*Cluster, error) {
	c, err := Start(ctx, n, tweak)
	if err != nil {
		return nil, err
	}
	if err := c.FormCluster(ctx); err != nil {
		c.Stop(context.Background())
		return nil, err
	}
	return c, nil
}

// Reserve names n nodes as Start does and reserves a free port of
// 127.0.0.1 for each, below the kernel's ephemeral range, but starts none:
// StartNode starts one. Every name resolves from the start, including the
// names of nodes not started yet, whose port refuses connections until
// they start (a seed that is not up yet). A node restarted keeps its port.
func Reserve(n int, tweak func(i int, cfg *mesh.Config)) (*Cluster, error) {
	c, err := newCluster(n, tweak)
	if err != nil {
		return nil, err
	}
	ports, err := testnet.FindFreePorts(n)
	if err != nil {
		return nil, fmt.Errorf("meshtest: reserve ports for %d nodes: %w", n, err)
	}
	c.reserved = true
	for i, name := range c.names {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i]))
		c.Net.Register(name, addr)
		c.addrs[name] = addr
	}
	return c, nil
}

func newCluster(n int, tweak func(i int, cfg *mesh.Config)) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("meshtest: %d nodes requested, want at least 1", n)
	}
	c := &Cluster{
		Net:    faultnet.New(),
		addrs:  make(map[string]string),
		cookie: "meshtest-cookie",
		tweak:  tweak,
	}
	for i := 0; i < n; i++ {
		c.names = append(c.names, Name(i))
		c.nodes = append(c.nodes, nil)
	}
	return c, nil
}

// DirectLinks is a tweak (or a part of one) that makes a node dial its
// peers directly instead of through the fault network: its links are real
// loopback TCP with no proxy, and the network's faults do not apply to
// them.
func DirectLinks(_ int, cfg *mesh.Config) { cfg.Dial = nil }

// Config returns the Config node i starts with.
func (c *Cluster) Config(i int) mesh.Config {
	name := c.names[i]
	cfg := mesh.DefaultConfig()
	cfg.Name = name
	cfg.Cookie = c.cookie
	cfg.ListenAddr = "127.0.0.1:0"
	if c.reserved {
		cfg.ListenAddr = c.addrs[name]
	}
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.HeartbeatTimeout = 600 * time.Millisecond
	cfg.HandshakeTimeout = time.Second
	cfg.Redial = mesh.Backoff{Min: 20 * time.Millisecond, Max: 300 * time.Millisecond, Factor: 2, Jitter: 0.3}
	cfg.Resolve = c.resolve
	cfg.Dial = c.Net.Dialer(name)
	if c.tweak != nil {
		c.tweak(i, &cfg)
	}
	return cfg
}

func (c *Cluster) resolve(node string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.addrs[node]; ok {
		return a, nil
	}
	return "", fmt.Errorf("meshtest: no node named %s in this cluster", node)
}

// StartNode starts node i, which must not be running: a node of a Reserve
// cluster, or one that was killed.
func (c *Cluster) StartNode(ctx context.Context, i int) error {
	if i < 0 || i >= c.Len() {
		return fmt.Errorf("meshtest: node %d of a cluster of %d", i, c.Len())
	}
	if c.Node(i) != nil {
		return fmt.Errorf("meshtest: %s is already running", c.names[i])
	}
	nd, err := mesh.Start(ctx, c.Config(i))
	if err != nil {
		return fmt.Errorf("meshtest: start %s: %w", c.names[i], err)
	}
	addr := nd.Addr().String()
	// Register with the fault network before the address becomes
	// resolvable: a node that resolved it in between would dial it
	// directly, around the network, and some lanes of that link would
	// escape Conns, Cut and Partition.
	c.Net.Register(c.names[i], addr)
	c.mu.Lock()
	c.nodes[i] = nd
	c.addrs[c.names[i]] = addr
	c.mu.Unlock()
	return nil
}

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.names) }

// Node returns node i (nil while it is stopped).
func (c *Cluster) Node(i int) *mesh.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Name returns the name of node i.
func (c *Cluster) Name(i int) string { return c.names[i] }

// Names returns the names of the given nodes (all nodes when none are given), sorted.
func (c *Cluster) Names(idx ...int) []string {
	if len(idx) == 0 {
		return slices.Sorted(slices.Values(c.names))
	}
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, c.names[i])
	}
	slices.Sort(out)
	return out
}

// FormCluster makes every node join node 0 and waits until every node runs
// with every other.
func (c *Cluster) FormCluster(ctx context.Context) error {
	for i := 1; i < c.Len(); i++ {
		if err := c.Node(i).Join(ctx, c.names[0]); err != nil {
			return err
		}
	}
	return c.WaitRunning(ctx)
}

func (c *Cluster) allIdx() []int {
	idx := make([]int, c.Len())
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// WaitRunning waits until each of the given nodes (every node when none
// is given) lists exactly the given nodes as running: the cluster, or that
// part of it, has converged. The error names the nodes and what the first
// one that differed listed.
func (c *Cluster) WaitRunning(ctx context.Context, idx ...int) error {
	if len(idx) == 0 {
		idx = c.allIdx()
	}
	want := c.Names(idx...)
	return c.Until(ctx, fmt.Sprintf("nodes %v to run together", want), func() string {
		for _, i := range idx {
			nd := c.Node(i)
			if nd == nil {
				return c.names[i] + " is stopped"
			}
			if running := nd.Info().RunningNodes; !slices.Equal(running, want) {
				return fmt.Sprintf("%s runs %v", c.names[i], running)
			}
		}
		return ""
	})
}

// WaitHeartbeats waits until the running nodes have sent n more
// heartbeats per link between them than when it was called: the sum of
// their Stats().HeartbeatsSent grew by n times the number of pairs of
// running nodes. On each link one end pings, every interval or every
// other one when the link is idle, so this is the observable passing of n
// to 2n heartbeat intervals: what a test checks did not happen (a redial,
// a new partition, another autocluster pass) had its chance meanwhile.
func (c *Cluster) WaitHeartbeats(ctx context.Context, n uint64) error {
	sent := func() (total uint64, running uint64) {
		for i := range c.Len() {
			if nd := c.Node(i); nd != nil {
				total += nd.Stats().HeartbeatsSent
				running++
			}
		}
		return total, running
	}
	start, running := sent()
	if running < 2 {
		return fmt.Errorf("meshtest: %d node(s) running: no link to send heartbeats on", running)
	}
	want := n * running * (running - 1) / 2
	return c.Until(ctx, fmt.Sprintf("%d more heartbeats on each of the %d links", n, running*(running-1)/2), func() string {
		if total, _ := sent(); total-start < want {
			return fmt.Sprintf("%d of %d sent", total-start, want)
		}
		return ""
	})
}

// pollEvery is how often Wait and Until look: often enough that a
// benchmark timing convergence through WaitRunning sees it within 10 ms.
const pollEvery = 10 * time.Millisecond

// Wait polls cond every 10 ms until it holds or ctx ends; the error names
// what. Prefer Until, whose error also says what cond saw last.
func (c *Cluster) Wait(ctx context.Context, what string, cond func() bool) error {
	return c.Until(ctx, what, testnet.True(cond))
}

// Until polls cond every 10 ms until it returns "" or ctx ends. cond
// returns "" once what it waits for holds, and otherwise the state it saw;
// the error names what and that last state, and wraps ctx's error.
func (c *Cluster) Until(ctx context.Context, what string, cond func() string) error {
	if _, err := testnet.PollEvery(ctx, pollEvery, what, cond); err != nil {
		return fmt.Errorf("meshtest: %w", err)
	}
	return nil
}

// Cut cuts the links between nodes i and j both ways.
func (c *Cluster) Cut(i, j int) { c.Net.Cut(c.names[i], c.names[j]) }

// Blackhole silently drops everything node from sends to node to.
func (c *Cluster) Blackhole(from, to int) { c.Net.Blackhole(c.names[from], c.names[to]) }

// Reset resets the connections between i and j (RST); new ones may follow.
func (c *Cluster) Reset(i, j int) { c.Net.Reset(c.names[i], c.names[j]) }

// Delay delays what node from sends to node to by d.
func (c *Cluster) Delay(from, to int, d time.Duration) {
	c.Net.Delay(c.names[from], c.names[to], d)
}

// Isolate cuts node i off from every other node.
func (c *Cluster) Isolate(i int) { c.Net.Isolate(c.names[i]) }

// Partition cuts every link between nodes in different groups.
func (c *Cluster) Partition(groups ...[]int) {
	var named [][]string
	for _, g := range groups {
		named = append(named, c.Names(g...))
	}
	c.Net.Partition(named...)
}

// Heal removes every fault between i and j.
func (c *Cluster) Heal(i, j int) { c.Net.Heal(c.names[i], c.names[j]) }

// HealAll removes every fault.
func (c *Cluster) HealAll() { c.Net.HealAll() }

// Kill stops node i without a leave: its peers see it go down.
func (c *Cluster) Kill(ctx context.Context, i int) error {
	nd := c.Node(i)
	if nd == nil {
		return nil
	}
	c.mu.Lock()
	c.nodes[i] = nil
	c.mu.Unlock()
	return nd.Stop(ctx)
}

// Restart starts node i again under the same name (a new GUID: a restart).
func (c *Cluster) Restart(ctx context.Context, i int) error {
	if err := c.Kill(ctx, i); err != nil {
		return err
	}
	return c.StartNode(ctx, i)
}

// Stop stops every node and the network, and waits for their goroutines.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	nodes := slices.Clone(c.nodes)
	c.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, nd := range nodes {
		if nd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := nd.Stop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	errs = append(errs, c.Net.Close())
	return errors.Join(errs...)
}
