package load_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pair starts two linked nodes on loopback: node 0 drives, node 1 serves
// the bench methods (when serve is true). They stop when the test ends.
func pair(t *testing.T, serve bool) (*meshtest.Cluster, *load.Server) {
	t.Helper()
	c := meshtest.Formed(t, 2, func(_ int, cfg *mesh.Config) {
		// The race detector and a loaded machine must not look like a dead peer.
		cfg.HeartbeatTimeout = 5 * time.Second
	})
	var srv *load.Server
	if serve {
		var err error
		srv, err = load.NewServer(c.Node(1))
		require.NoError(t, err)
	}
	return c, srv
}

func TestRunWorkloads(t *testing.T) {
	c, srv := pair(t, true)
	for _, tc := range []struct {
		workload string
		size     int
		payload  string
		wantSize int
	}{
		{load.WorkloadCall, 0, "", load.DefaultSize},
		{load.WorkloadCall, 100 << 10, load.PayloadRandom, 100 << 10}, // the large lane
		{load.WorkloadCast, 0, "", load.DefaultSize},
		{load.WorkloadCast, 10 << 10, load.PayloadRandom, 10 << 10},
		{load.WorkloadBulk, 0, "", load.DefaultBulkSize},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.workload, tc.wantSize), func(t *testing.T) {
			before := srv.Stats()
			res, err := load.Run(testnet.Context(t, 20*time.Second), c.Node(0), c.Name(1), load.Options{
				Workload: tc.workload, Concurrency: 3, Size: tc.size, Payload: tc.payload, Duration: 150 * time.Millisecond,
			})
			require.NoError(t, err)
			after := srv.Stats()
			assert.Equal(t, tc.workload, res.Workload)
			assert.Equal(t, 3, res.Concurrency)
			assert.Equal(t, tc.wantSize, res.Size)
			assert.Equal(t, c.Name(1), res.Target)
			assert.Positive(t, res.Ops)
			assert.Positive(t, res.OpsPerSec)
			assert.Positive(t, res.P50us)
			assert.GreaterOrEqual(t, res.P99us, res.P50us)
			assert.GreaterOrEqual(t, res.MaxUs, res.P99us)
			assert.GreaterOrEqual(t, res.ElapsedSec, 0.150)
			assert.InEpsilon(t, float64(res.Ops)*float64(res.Size)/res.ElapsedSec/1e6, res.MBPerSec, 1e-9)
			assert.InEpsilon(t, float64(res.Ops)/res.ElapsedSec, res.OpsPerSec, 1e-9)
			assert.Equal(t, uint64(res.Ops), res.Latency.Count())
			switch tc.workload {
			case load.WorkloadCall:
				// Every answered call was served; none of the others.
				assert.Equal(t, uint64(res.Ops), after.EchoCalls-before.EchoCalls)
				assert.Equal(t, uint64(res.Ops)*uint64(res.Size), after.EchoBytes-before.EchoBytes)
			case load.WorkloadBulk:
				assert.Equal(t, uint64(res.Ops), after.SinkCalls-before.SinkCalls)
				assert.Equal(t, uint64(res.Ops)*uint64(res.Size), after.SinkBytes-before.SinkBytes)
			case load.WorkloadCast:
				// The run ended when the target had counted every cast.
				assert.Equal(t, uint64(res.Ops), after.Casts-before.Casts)
				assert.Equal(t, uint64(res.Ops)*uint64(res.Size), after.CastBytes-before.CastBytes)
			}
		})
	}
}

func TestResultJSONKeys(t *testing.T) {
	b, err := json.Marshal(load.Result{Workload: "call", Latency: &load.Histogram{}})
	require.NoError(t, err)
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(b)))
	_, err = dec.Token() // {
	require.NoError(t, err)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v any
		require.NoError(t, dec.Decode(&v))
	}
	want := []string{"workload", "concurrency", "size", "ops", "ops_per_sec", "p50_us", "p99_us", "mb_per_sec"}
	assert.Equal(t, want, keys[:len(want)], "the first keys, in order")
}

func TestCount(t *testing.T) {
	c, _ := pair(t, true)
	ctx := testnet.Context(t, 10*time.Second)
	casts0, bytes0, err := load.Count(ctx, c.Node(0), c.Name(1))
	require.NoError(t, err)
	for range 5 {
		require.NoError(t, c.Node(0).Cast(c.Name(1), load.MethodCast, make([]byte, 7)))
	}
	require.NoError(t, c.Wait(ctx, "5 casts counted", func() bool {
		casts, bytes, err := load.Count(ctx, c.Node(0), c.Name(1))
		return err == nil && casts-casts0 == 5 && bytes-bytes0 == 35
	}))
	reply, err := c.Node(0).Call(ctx, c.Name(1), load.MethodEcho, []byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(reply))
	reply, err = c.Node(0).Call(ctx, c.Name(1), load.MethodSink, []byte("hello"))
	require.NoError(t, err)
	assert.Empty(t, reply)
}

func TestRunProgressAndWarmup(t *testing.T) {
	c, srv := pair(t, true)
	var mu sync.Mutex
	var reports []load.Progress
	before := srv.Stats()
	res, err := load.Run(testnet.Context(t, 20*time.Second), c.Node(0), c.Name(1), load.Options{
		Workload: load.WorkloadCast, Concurrency: 2, Duration: 1100 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Progress: func(p load.Progress) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, p)
		},
	})
	require.NoError(t, err)
	after := srv.Stats()
	// The warmup casts are counted by the target, not in the result.
	assert.Greater(t, after.Casts-before.Casts, uint64(res.Ops))
	mu.Lock()
	defer mu.Unlock()
	var run []load.Progress
	for _, p := range reports {
		if p.Phase == load.PhaseRun {
			run = append(run, p)
		}
	}
	require.GreaterOrEqual(t, len(run), 2, "progress reports of the measured run: %+v", reports)
	assert.True(t, slices.IsSortedFunc(run, func(a, b load.Progress) int { return int(a.Ops - b.Ops) }), "ops only grow: %+v", run)
	assert.Positive(t, run[0].Ops)
	assert.Positive(t, run[0].Rate)
	assert.InDelta(t, load.ProgressInterval.Seconds(), run[0].Elapsed.Seconds(), 0.4)
	assert.LessOrEqual(t, run[len(run)-1].Ops, res.Ops)
}

func TestRunTargetNotServing(t *testing.T) {
	c, _ := pair(t, false)
	_, err := load.Run(testnet.Context(t, 10*time.Second), c.Node(0), c.Name(1), load.Options{Workload: load.WorkloadCall, Duration: time.Second})
	require.ErrorIs(t, err, load.ErrNotServing)
	assert.Contains(t, err.Error(), c.Name(1))
}

func TestRunNotLinked(t *testing.T) {
	c, _ := pair(t, true)
	_, err := load.Run(testnet.Context(t, 10*time.Second), c.Node(0), "nobody@127.0.0.1", load.Options{Workload: load.WorkloadBulk, Duration: time.Second})
	require.ErrorIs(t, err, mesh.ErrUnknownNode)
}

func TestRunHonoursContext(t *testing.T) {
	c, _ := pair(t, true)
	for _, w := range load.Workloads {
		if w == load.WorkloadLock {
			continue // the leader drives here: TestRunLockWorkload checks it
		}
		t.Run(w, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := time.Now()
			res, err := load.Run(ctx, c.Node(0), c.Name(1), load.Options{
				Workload: w, Concurrency: 2, Duration: time.Minute,
				Progress: func(load.Progress) { cancel() },
			})
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(started), 30*time.Second)
			assert.Positive(t, res.Ops, "what was measured before the end")
		})
	}
}

func TestRunTargetGoesDown(t *testing.T) {
	c, _ := pair(t, true)
	ctx := testnet.Context(t, 20*time.Second)
	var once sync.Once
	_, err := load.Run(ctx, c.Node(0), c.Name(1), load.Options{
		Workload: load.WorkloadCall, Concurrency: 4, Duration: time.Minute,
		Progress: func(load.Progress) {
			once.Do(func() { go c.Kill(context.Background(), 1) })
		},
	})
	require.Error(t, err)
	require.NoError(t, ctx.Err(), "Run returned when the target went down, not at the end of the test")
	assert.True(t, errors.Is(err, mesh.ErrNodeDown) || errors.Is(err, mesh.ErrUnknownNode), "err = %v", err)
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    load.Options
		want string
	}{
		{load.Options{}, "Options.Workload is empty: want call, cast, bulk or lock"},
		{load.Options{Workload: "ping"}, `Options.Workload = "ping": want call, cast, bulk or lock`},
		{load.Options{Workload: "lock", Size: 64}, "Options.Size = 64: the lock workload sends no payload"},
		{load.Options{Workload: "lock", Bulk: -1}, "Options.Bulk = -1: want 0 (none) to"},
		{load.Options{Workload: "bulk", Bulk: 1 << 20}, "Options.Bulk = 1048576 with workload bulk: bulk calls alongside are for the lock workload only"},
		{load.Options{Workload: "call", Concurrency: -1}, "Options.Concurrency = -1: want 1 to 4096"},
		{load.Options{Workload: "call", Size: -5}, "Options.Size = -5: want 1 to"},
		{load.Options{Workload: "bulk", Size: 1 << 30}, "Options.Size = 1073741824: want 1 to"},
		{load.Options{Workload: "cast", Duration: -time.Second}, "Options.Duration = -1s: want a positive duration"},
		{load.Options{Workload: "cast", Warmup: -time.Second}, "Options.Warmup = -1s: want 0 (none) or a positive duration"},
		{load.Options{Workload: "cast", Payload: "ones"}, `Options.Payload = "ones": want zeros or random`},
	} {
		err := tc.o.Validate()
		if assert.Error(t, err, "%+v", tc.o) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	assert.NoError(t, load.Options{Workload: "call"}.Validate())
	d := load.Options{Workload: "bulk"}.WithDefaults()
	assert.Equal(t, load.Options{Workload: "bulk", Concurrency: 1, Size: 1 << 20, Duration: 5 * time.Second, Payload: "zeros"}, d)
	assert.Equal(t, 64, load.Options{Workload: "call"}.WithDefaults().Size)
	assert.Equal(t, 0, load.Options{Workload: "lock"}.WithDefaults().Size, "a lock carries no payload")
}

// TestRunLockWorkload: leader locks held in the target's table, taken and
// released from the driver, with bulk calls alongside; and the refusal when
// the driver itself would hold the table.
func TestRunLockWorkload(t *testing.T) {
	c := meshtest.Formed(t, 2, func(_ int, cfg *mesh.Config) {
		cfg.HeartbeatTimeout = 5 * time.Second
	})
	// Node 0 started first: it is the leader, and the target.
	srv, err := load.NewServer(c.Node(0))
	require.NoError(t, err)
	lk, err := locker.New(c.Node(0), locker.Config{})
	require.NoError(t, err)
	defer lk.Close()
	ctx := testnet.Context(t, 20*time.Second)

	res, err := load.Run(ctx, c.Node(1), c.Name(0), load.Options{
		Workload: load.WorkloadLock, Concurrency: 2, Bulk: 256 << 10, Payload: load.PayloadRandom, Duration: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	assert.Equal(t, c.Name(0), res.LockNode)
	assert.Positive(t, res.Ops)
	assert.Equal(t, uint64(res.Ops), res.Latency.Count())
	assert.Zero(t, res.Size)
	assert.Zero(t, res.MBPerSec)
	assert.Equal(t, 256<<10, res.Bulk)
	assert.Positive(t, res.BulkMBPerSec)
	assert.Positive(t, srv.Stats().SinkCalls, "the bulk calls reached the target")
	assert.Equal(t, 0, lk.Stats().Held, "every lock was released")
	var acquires uint64
	for _, tc := range lk.Stats().Table {
		if tc.Op == "acquire" && tc.Result == "granted" {
			acquires += tc.Count
		}
	}
	assert.GreaterOrEqual(t, acquires, uint64(res.Ops), "the target's table granted every lock")

	// A run ends with its context, with what it measured; its locker is
	// gone, so another run can attach one again.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err = load.Run(cctx, c.Node(1), c.Name(0), load.Options{
		Workload: load.WorkloadLock, Concurrency: 2, Bulk: 1 << 20, Duration: time.Minute,
		Progress: func(load.Progress) { cancel() },
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Positive(t, res.Ops, "what was measured before the end")

	// Driven from the leader, the locks would not leave the node.
	_, err = load.Run(ctx, c.Node(0), c.Name(1), load.Options{Workload: load.WorkloadLock, Duration: 100 * time.Millisecond})
	require.Error(t, err)
	assert.ErrorIs(t, err, load.ErrNotServing) // node 1 serves no bench methods
	_, err = load.NewServer(c.Node(1))
	require.NoError(t, err)
	lk.Close()
	_, err = load.Run(ctx, c.Node(0), c.Name(1), load.Options{Workload: load.WorkloadLock, Duration: 100 * time.Millisecond})
	require.ErrorContains(t, err, "the leader (the oldest member) is this node, "+c.Name(0))
}
