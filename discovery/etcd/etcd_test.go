package etcd

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/ekka-mesh/ekka-mesh/discovery/etcd/etcdtest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Started once per process by etcd's server and gRPC; not ours.
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreAnyFunction("go.etcd.io/etcd/pkg/v3/schedule.(*fifo).run"),
	)
}

// newStrategy returns a strategy for node name of cluster on srv, closed
// when the test ends.
func newStrategy(t *testing.T, srv *etcdtest.Server, name, cluster string, tweak func(*Config)) *Etcd {
	t.Helper()
	cfg := Config{
		Name: name, Cluster: cluster, Servers: []string{srv.URL()},
		NodeTTL: 2 * time.Second, RetryInterval: 100 * time.Millisecond,
		Logger: testLogger(t),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// rawClient is a plain etcd client to look at the keys, closed when the
// test ends.
func rawClient(t *testing.T, srv *etcdtest.Server) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.URL()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	return cli
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// outliveTTL waits until each of es has had four keepalive answers more
// than now: the client renews a lease every third of its TTL, so four
// renewals span more than one TTL, and a registration not kept alive
// would have expired meanwhile.
func outliveTTL(t *testing.T, es ...*Etcd) {
	t.Helper()
	start := make([]int64, len(es))
	for i, e := range es {
		start[i] = e.keepAnswers.Load()
	}
	testnet.Eventually(t, 30*time.Second, "four keepalive answers per registration, more than one TTL's worth", func() string {
		for i, e := range es {
			if got := e.keepAnswers.Load() - start[i]; got < 4 {
				return fmt.Sprintf("%s: %d keepalive answers so far", e.cfg.Name, got)
			}
		}
		return ""
	})
}

func TestNewValidates(t *testing.T) {
	good := Config{Name: "n1@127.0.0.1", Cluster: "c", Servers: []string{"http://127.0.0.1:2379"}}
	tests := []struct {
		name    string
		tweak   func(*Config)
		wantErr string
	}{
		{"good", func(*Config) {}, ""},
		{"https without TLS uses the system roots", func(c *Config) { c.Servers = []string{"https://a:2379", "https://b:2379"} }, ""},
		{"bad name", func(c *Config) { c.Name = "n1" }, `node name "n1": want exactly one '@'`},
		{"name with slash", func(c *Config) { c.Name = "n/1@h" }, `'/'`},
		{"no cluster", func(c *Config) { c.Cluster = "" }, "cluster name"},
		{"cluster with slash", func(c *Config) { c.Cluster = "a/b" }, "without '/'"},
		{"no servers", func(c *Config) { c.Servers = nil }, "no servers"},
		{"not a URL", func(c *Config) { c.Servers = []string{"127.0.0.1:2379"} }, `server "127.0.0.1:2379": want an http:// or https:// URL`},
		{"wrong scheme", func(c *Config) { c.Servers = []string{"ftp://h:1"} }, "want an http:// or https:// URL"},
		{"mixed schemes", func(c *Config) { c.Servers = []string{"http://a:1", "https://b:1"} }, "mix http:// and https://"},
		{"TLS on http", func(c *Config) { c.TLS = &tls.Config{MinVersion: tls.VersionTLS12} }, "TLS is configured but the servers"},
		{"short TTL", func(c *Config) { c.NodeTTL = 500 * time.Millisecond }, "node TTL 500ms: want at least 1s"},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.tweak(&cfg)
			e, err := New(cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, e.Close())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestDefaultsAndKey(t *testing.T) {
	e, err := New(Config{Name: "emqx1@10.0.0.1", Cluster: "mycl", Servers: []string{"http://127.0.0.1:2379"}, NodeTTL: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer e.Close()
	assert.Equal(t, "ekkacl/mycl/nodes/emqx1@10.0.0.1", e.Key())
	assert.Equal(t, int64(2), e.ttl, "1.5s rounds up to 2 whole seconds")
	assert.Equal(t, DefaultRequestTimeout, e.cfg.RequestTimeout)

	e2, err := New(Config{Name: "a@h", Cluster: "c", Servers: []string{"http://h:1"}, Prefix: "/apps/"})
	require.NoError(t, err)
	defer e2.Close()
	assert.Equal(t, "apps/c/nodes/a@h", e2.Key())
	assert.Equal(t, int64(60), e2.ttl)
}

func TestRegisterAndDiscover(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	cli := rawClient(t, srv)
	ctx := testnet.Context(t, 30*time.Second)

	a1 := newStrategy(t, srv, "n1@127.0.0.1", "a", nil)
	a2 := newStrategy(t, srv, "n2@127.0.0.2", "a", nil)
	b1 := newStrategy(t, srv, "n9@127.0.0.9", "b", nil)
	ab := newStrategy(t, srv, "n8@127.0.0.8", "ab", nil) // "a" is a prefix of "ab": must not leak into a

	nodes, err := a1.Discover(ctx)
	require.NoError(t, err)
	assert.Empty(t, nodes, "nobody registered yet")

	for _, e := range []*Etcd{a1, a2, b1, ab} {
		require.NoError(t, e.Register(ctx))
	}
	require.NoError(t, a1.Register(ctx), "registering twice is fine")

	resp, err := cli.Get(ctx, "ekkacl/a/nodes/n1@127.0.0.1")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "the registration is under the exact key")
	kv := resp.Kvs[0]
	assert.Equal(t, "n1@127.0.0.1", string(kv.Value))
	require.NotZero(t, kv.Lease, "the key is on a lease")
	ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
	require.NoError(t, err)
	assert.Equal(t, int64(2), ttl.GrantedTTL)

	// Garbage under the prefix is skipped, not trusted.
	_, err = cli.Put(ctx, "ekkacl/a/nodes/not-a-node", "x")
	require.NoError(t, err)
	_, err = cli.Put(ctx, "ekkacl/a/nodes/x@h/deeper", "x")
	require.NoError(t, err)

	nodes, err = a2.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@127.0.0.1", "n2@127.0.0.2"}, nodes, "only cluster a's nodes")
	nodes, err = b1.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n9@127.0.0.9"}, nodes)

	// Kept alive well past the TTL.
	outliveTTL(t, a1, a2)
	nodes, err = a1.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@127.0.0.1", "n2@127.0.0.2"}, nodes, "registrations outlive the 2s TTL while kept alive")

	// Unregister deletes at once and closes the strategy.
	require.NoError(t, a2.Unregister(ctx))
	nodes, err = a1.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@127.0.0.1"}, nodes)
	leases, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
	require.NoError(t, err)
	assert.Positive(t, leases.TTL, "n1's lease lives on")
	_, err = a2.Discover(ctx)
	assert.ErrorContains(t, err, "closed")
	assert.NoError(t, a2.Unregister(ctx), "Unregister is idempotent")
}

func TestDeadNodeVanishesWithinTTL(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	cli := rawClient(t, srv)
	ctx := testnet.Context(t, 30*time.Second)
	dead := newStrategy(t, srv, "n1@127.0.0.1", "c", nil)
	alive := newStrategy(t, srv, "n2@127.0.0.1", "c", nil)
	require.NoError(t, dead.Register(ctx))
	require.NoError(t, alive.Register(ctx))

	// Dies: the keepalives stop, nothing is deleted.
	require.NoError(t, dead.Close())
	resp, err := cli.Get(ctx, dead.Key())
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "still there right after the death")
	took := testnet.Eventually(t, 10*time.Second, "gone", func() string {
		nodes, err := alive.Discover(ctx)
		if err != nil {
			return err.Error()
		}
		if slices.Contains(nodes, dead.cfg.Name) {
			return fmt.Sprintf("discovered %v", nodes)
		}
		return ""
	})
	t.Logf("a dead node's key vanished %v after it died (node TTL 2s)", took.Round(time.Millisecond))
	assert.Less(t, took, 2*time.Second+time.Second, "within the node TTL (plus etcd's expiry tick)")
	nodes, err := alive.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n2@127.0.0.1"}, nodes)
}

func TestLockContention(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	ctx := testnet.Context(t, 60*time.Second)
	first := newStrategy(t, srv, "n1@127.0.0.1", "c", nil)
	second := newStrategy(t, srv, "n2@127.0.0.1", "c", nil)
	other := newStrategy(t, srv, "n3@127.0.0.1", "other", nil)

	require.NoError(t, first.Lock(ctx))
	require.NoError(t, first.Lock(ctx), "Lock while holding the lock is a no-op")
	require.NoError(t, other.Lock(ctx), "another cluster's lock is another lock")

	// The second waits, and gives up when its context ends.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	err := second.Lock(short)
	cancel()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "lock ekkacl/c/lock on "+srv.URL())
	assert.Less(t, time.Since(start), 2*time.Second, "Lock honours its context")

	// It waits until the first unlocks.
	got := make(chan error, 1)
	go func() { got <- second.Lock(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("second Lock returned %v while the first holds the lock", err)
	case <-time.After(500 * time.Millisecond):
	}
	require.NoError(t, first.Unlock(ctx))
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("second Lock still waiting 5s after the first unlocked")
	}
	require.NoError(t, first.Unlock(ctx), "Unlock without the lock is a no-op")

	// A holder that dies releases the lock within the TTL.
	require.NoError(t, second.Close())
	start = time.Now()
	require.NoError(t, first.Lock(ctx))
	t.Logf("lock of a dead holder taken over after %v (node TTL 2s)", time.Since(start).Round(time.Millisecond))
	assert.Less(t, time.Since(start), 4*time.Second)
	require.NoError(t, first.Unlock(ctx))
	require.NoError(t, other.Unlock(ctx))
}

func TestLockSerialisesConcurrentNodes(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	ctx := testnet.Context(t, 60*time.Second)
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for i := range 4 {
		e := newStrategy(t, srv, fmt.Sprintf("n%d@127.0.0.1", i+1), "c", nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if !assert.NoError(t, e.Lock(ctx)) {
					return
				}
				mu.Lock()
				inside++
				maxInside = max(maxInside, inside)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				assert.NoError(t, e.Unlock(ctx))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, maxInside, "at most one holder at a time")
}

func TestEtcdDownAndBack(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	ctx := testnet.Context(t, 90*time.Second)
	e := newStrategy(t, srv, "n1@127.0.0.1", "c", func(c *Config) { c.RequestTimeout = 500 * time.Millisecond })
	require.NoError(t, e.Register(ctx))
	e.mu.Lock()
	firstLease := e.lease
	e.mu.Unlock()
	// Until the lease's first keepalive is answered, the client gives it
	// DialTimeout + 1s, not the 2s TTL, before reaping it: with etcd stopped before
	// that answer, the lease could outlive the outage below in the client
	// (etcd restores it on restart) and nothing would be lost.
	testnet.Eventually(t, 10*time.Second, "the first keepalive answered", func() string {
		if e.keepAnswers.Load() == 0 {
			return "no keepalive answer yet"
		}
		return ""
	})

	srv.Stop()
	start := time.Now()
	_, err := e.Discover(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "etcd discovery: list ekkacl/c/nodes/ on "+srv.URL()+": ")
	assert.Contains(t, err.Error(), "is etcd running and reachable there?")
	assert.Less(t, time.Since(start), 2*time.Second, "bounded by RequestTimeout")
	err = e.Lock(testnet.Context(t, 700*time.Millisecond))
	require.Error(t, err)
	assert.Contains(t, err.Error(), srv.URL())

	// Down for longer than the TTL: the lease is lost on both sides.
	testnet.Eventually(t, 10*time.Second, "the strategy to lose its lease while etcd is down", func() string {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.lease == firstLease {
			return fmt.Sprintf("still on lease %x", int64(e.lease))
		}
		return ""
	})
	other := newStrategy(t, srv, "n2@127.0.0.1", "c", func(c *Config) { c.RequestTimeout = 500 * time.Millisecond })
	err = other.Register(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "register ekkacl/c/nodes/n2@127.0.0.1 on "+srv.URL())

	srv.Restart()
	cli := rawClient(t, srv)
	took := testnet.Eventually(t, 20*time.Second, "registered again on a new lease", func() string {
		e.mu.Lock()
		lease := e.lease
		e.mu.Unlock()
		resp, err := cli.Get(ctx, e.Key())
		switch {
		case err != nil:
			return err.Error()
		case len(resp.Kvs) == 0:
			return "no key"
		case lease == 0 || lease == firstLease || clientv3.LeaseID(resp.Kvs[0].Lease) != lease:
			// After a restart etcd restores the old lease for a full TTL.
			return fmt.Sprintf("key on lease %x, strategy's lease %x, first lease %x", resp.Kvs[0].Lease, lease, firstLease)
		}
		return ""
	})
	t.Logf("registered again %v after etcd came back", took.Round(time.Millisecond))

	// And it stays registered: the new lease is kept alive.
	outliveTTL(t, e)
	nodes, err := other.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@127.0.0.1"}, nodes)
	require.NoError(t, e.Lock(ctx))
	require.NoError(t, e.Unlock(ctx))
	require.NoError(t, other.Register(ctx))
}

func TestEtcdBrieflyDownKeepsTheLease(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	ctx := testnet.Context(t, 60*time.Second)
	e := newStrategy(t, srv, "n1@127.0.0.1", "c", func(c *Config) { c.NodeTTL = 5 * time.Second })
	require.NoError(t, e.Register(ctx))
	e.mu.Lock()
	before := e.lease
	e.mu.Unlock()
	srv.Stop()
	time.Sleep(time.Second) // an outage of a second, shorter than the TTL
	srv.Restart()
	outliveTTL(t, e) // longer than the TTL: only keepalives keep it
	nodes, err := e.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@127.0.0.1"}, nodes)
	e.mu.Lock()
	after := e.lease
	e.mu.Unlock()
	assert.Equal(t, before, after, "the same lease, kept alive across the outage")
}

func TestTLS(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{TLS: true})
	ctx := testnet.Context(t, 30*time.Second)
	require.True(t, strings.HasPrefix(srv.URL(), "https://"))

	tc, err := LoadTLS(srv.CertFile(), srv.KeyFile(), srv.CAFile())
	require.NoError(t, err)
	e := newStrategy(t, srv, "n1@127.0.0.1", "c", func(c *Config) { c.TLS = tc })
	require.NoError(t, e.Register(ctx))
	nodes, err := e.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@127.0.0.1"}, nodes)

	// Without a client certificate the server refuses us.
	caOnly, err := LoadTLS("", "", srv.CAFile())
	require.NoError(t, err)
	anon := newStrategy(t, srv, "n2@127.0.0.1", "c", func(c *Config) { c.TLS = caOnly; c.RequestTimeout = time.Second })
	_, err = anon.Discover(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), srv.URL())
}

func TestLoadTLSErrors(t *testing.T) {
	tc, err := LoadTLS("", "", "")
	assert.NoError(t, err)
	assert.Nil(t, tc)
	_, err = LoadTLS("/c.pem", "", "")
	assert.ErrorContains(t, err, "want both or neither")
	_, err = LoadTLS("/nonexistent/c.pem", "/nonexistent/k.pem", "")
	assert.ErrorContains(t, err, "cannot load them as a PEM certificate")
	_, err = LoadTLS("", "", "/nonexistent/ca.pem")
	assert.ErrorContains(t, err, "/nonexistent/ca.pem")
	notPEM := t.TempDir() + "/ca.pem"
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	_, err = LoadTLS("", "", notPEM)
	assert.ErrorContains(t, err, "no PEM certificate")
}

func TestMethodsHonourContext(t *testing.T) {
	// Nothing listens there: every call must end with its context.
	e, err := New(Config{Name: "n1@127.0.0.1", Cluster: "c", Servers: []string{"http://127.0.0.1:1"}, RequestTimeout: time.Minute})
	require.NoError(t, err)
	defer e.Close()
	for name, call := range map[string]func(context.Context) error{
		"discover": func(ctx context.Context) error { _, err := e.Discover(ctx); return err },
		"register": e.Register,
		"lock":     e.Lock,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.Contains(t, err.Error(), "http://127.0.0.1:1", name)
		assert.Less(t, time.Since(start), 2*time.Second, name)
	}
	assert.NoError(t, e.Unlock(context.Background()), "nothing to unlock")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = e.Unregister(ctx)
	assert.Less(t, time.Since(start), 2*time.Second)
	t.Logf("unregister against nobody: %v", err)
}

// TestMeshNodesFormOneCluster starts mesh nodes with only etcd discovery
// (no Join) and measures the time from the last node's start to one full
// cluster.
func TestMeshNodesFormOneCluster(t *testing.T) {
	for _, n := range []int{3, 10} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			if n > 3 && testing.Short() {
				t.Skip("10 nodes in -short mode")
			}
			srv := etcdtest.Start(t, etcdtest.Options{})
			ctx := testnet.Context(t, 90*time.Second)
			tweak := func(i int, cfg *mesh.Config) {
				d, err := New(Config{
					Name: cfg.Name, Cluster: cfg.Cluster, Servers: []string{srv.URL()}, NodeTTL: 5 * time.Second,
					Logger: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					panic(err)
				}
				cfg.Discovery = d
				cfg.AutoclusterInterval = 500 * time.Millisecond
			}
			first := time.Now()
			c, err := meshtest.Start(ctx, n, tweak)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Stop(testnet.Context(t, 30*time.Second))) }()
			started := time.Now()
			require.NoError(t, c.WaitRunning(ctx))
			t.Logf("FORMATION %d in-process nodes (etcd discovery, autocluster interval 500ms): one cluster %v after the last one started, %v after the first",
				n, time.Since(started).Round(time.Millisecond), time.Since(first).Round(time.Millisecond))

			cli := rawClient(t, srv)
			resp, err := cli.Get(ctx, "ekkacl/ekka/nodes/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			require.NoError(t, err)
			assert.Equal(t, int64(n), resp.Count, "every node registered")
			require.NoError(t, c.Stop(ctx))
			resp, err = cli.Get(ctx, "ekkacl/ekka/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			require.NoError(t, err)
			assert.Zero(t, resp.Count, "stopped nodes unregistered, no lock left")
		})
	}
}

func ExampleNew() {
	d, err := New(Config{
		Name:    "emqx1@10.0.0.1",
		Cluster: "mycl",
		Servers: []string{"http://10.0.0.5:2379", "http://10.0.0.6:2379"},
		NodeTTL: 30 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	fmt.Println(d.Key())
	// Give it to a node: cfg.Discovery = d; mesh.Start registers the node,
	// joins the others and keeps the registration alive until Stop.
	// Output: ekkacl/mycl/nodes/emqx1@10.0.0.1
}
