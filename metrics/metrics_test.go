package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/metrics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sample is a scrape: every series by name{label="value",...} (labels
// sorted by name, as Gather returns them); a histogram gives _count and
// _sum.
type sample map[string]float64

func key(name string, labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return name
	}
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// scrape gathers reg as Prometheus would.
func scrape(t *testing.T, reg *prometheus.Registry) sample {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	s := sample{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				s[key(mf.GetName(), m.GetLabel())] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				s[key(mf.GetName(), m.GetLabel())] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				s[key(mf.GetName()+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
				s[key(mf.GetName()+"_sum", m.GetLabel())] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return s
}

// get returns a series that must be there.
func (s sample) get(t *testing.T, k string) float64 {
	t.Helper()
	v, ok := s[k]
	if !ok {
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("no series %s in the scrape; have:\n%s", k, strings.Join(keys, "\n"))
	}
	return v
}

func registry(t *testing.T, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	return reg
}

func echo(_ context.Context, _ string, p []byte) ([]byte, error) { return p, nil }

// TestClusterMetrics runs calls, casts and locks in a cluster of three and
// checks what a scrape of node 1 (and its peers) shows.
func TestClusterMetrics(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 60*time.Second)
	n0, n1 := c.Node(0), c.Node(1)
	lks := make([]*locker.Locker, 3)
	for i := range lks {
		lk, err := locker.New(c.Node(i), locker.Config{SweepInterval: 10 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() { lk.Close() })
		lks[i] = lk
	}
	col := metrics.NewCollector(n0, metrics.WithLocker(lks[0]))
	reg := registry(t, col)
	reg1 := registry(t, metrics.NewCollector(n1, metrics.WithLocker(lks[1])))

	problems, err := testutil.CollectAndLint(col)
	require.NoError(t, err)
	require.Empty(t, problems, "lint of the collector")

	got := make(chan struct{}, 16)
	require.NoError(t, n1.Handle("echo", echo))
	require.NoError(t, n1.Handle("fail", func(context.Context, string, []byte) ([]byte, error) {
		return nil, errors.New("refused on purpose")
	}))
	require.NoError(t, n1.Handle("count", func(context.Context, string, []byte) ([]byte, error) {
		got <- struct{}{}
		return nil, nil
	}))
	require.NoError(t, c.Node(2).Handle("echo", echo))

	before, before1 := scrape(t, reg), scrape(t, reg1)
	require.Equal(t, 1.0, before.get(t, `ekka_mesh_node_info{cluster="`+n0.Cluster()+`",node="`+n0.Name()+`"}`))
	require.Equal(t, 3.0, before.get(t, `ekka_mesh_members{status="up"}`))
	require.Equal(t, 0.0, before.get(t, `ekka_mesh_members{status="down"}`))
	require.Equal(t, 2.0, before.get(t, `ekka_mesh_links`))
	require.Equal(t, 0.0, before.get(t, `ekka_mesh_partitions`))

	// Five calls that succeed, one large, and three that fail.
	const calls = 5
	for range calls {
		_, err := n0.Call(ctx, n1.Name(), "echo", []byte("hello"))
		require.NoError(t, err)
	}
	big := make([]byte, conn.LargeThreshold+1)
	reply, err := n0.Call(ctx, n1.Name(), "echo", big)
	require.NoError(t, err)
	require.Len(t, reply, len(big))
	_, err = n0.Call(ctx, n1.Name(), "nosuch", nil)
	require.ErrorIs(t, err, mesh.ErrNoHandler)
	_, err = n0.Call(ctx, n1.Name(), "fail", nil)
	require.ErrorIs(t, err, mesh.ErrRemote)
	_, err = n0.Call(ctx, "nobody@127.0.0.1", "echo", nil)
	require.ErrorIs(t, err, mesh.ErrUnknownNode)
	res := n0.Multicall(ctx, []string{n1.Name(), c.Name(2)}, "echo", nil)
	require.Empty(t, res.Failed)

	// Three casts handled, one to a method without handler.
	for range 3 {
		require.NoError(t, n0.Cast(n1.Name(), "count", nil))
	}
	require.NoError(t, n0.Cast(n1.Name(), "nosuch", nil))
	for range 3 {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("the casts did not arrive")
		}
	}
	require.NoError(t, c.Wait(ctx, "n2 to count the dropped cast", func() bool {
		return float64(n1.Stats().CastsDropped) == before1.get(t, "ekka_mesh_casts_dropped_total")+1
	}))

	after, after1 := scrape(t, reg), scrape(t, reg1)
	delta := func(k string) float64 { return after.get(t, k) - before.get(t, k) }
	require.Equal(t, float64(calls+1+3), delta(`ekka_mesh_call_duration_seconds_count{kind="call"}`), "calls made")
	require.Greater(t, delta(`ekka_mesh_call_duration_seconds_sum{kind="call"}`), 0.0)
	require.Equal(t, 1.0, delta(`ekka_mesh_call_duration_seconds_count{kind="multicall"}`))
	require.Equal(t, 1.0, delta(`ekka_mesh_call_errors_total{kind="call",reason="no_handler"}`))
	require.Equal(t, 1.0, delta(`ekka_mesh_call_errors_total{kind="call",reason="remote"}`))
	require.Equal(t, 1.0, delta(`ekka_mesh_call_errors_total{kind="call",reason="unknown_node"}`))
	require.Equal(t, 0.0, delta(`ekka_mesh_call_errors_total{kind="call",reason="node_down"}`))
	require.Equal(t, 0.0, delta(`ekka_mesh_call_errors_total{kind="multicall",reason="timeout"}`))
	require.Equal(t, 4.0, delta(`ekka_mesh_casts_sent_total`))
	require.Equal(t, 0.0, delta(`ekka_mesh_casts_failed_total`))
	require.Equal(t, 4.0, after1.get(t, `ekka_mesh_casts_received_total`)-before1.get(t, `ekka_mesh_casts_received_total`))
	require.Equal(t, 1.0, after1.get(t, `ekka_mesh_casts_dropped_total`)-before1.get(t, `ekka_mesh_casts_dropped_total`))
	require.Equal(t, float64(calls+1+2), after1.get(t, `ekka_mesh_calls_served_total`)-before1.get(t, `ekka_mesh_calls_served_total`), "calls n2 served (one had no handler)")

	// Every lane carried something: the control lane the membership and
	// heartbeats, the data lane the small calls, the large lane the big one.
	for _, lane := range []string{"control", "data", "large"} {
		for _, dir := range []string{"sent", "received"} {
			require.Greater(t, after.get(t, `ekka_mesh_lane_bytes_total{direction="`+dir+`",lane="`+lane+`"}`), 0.0, lane+" "+dir)
			require.Greater(t, after.get(t, `ekka_mesh_lane_frames_total{direction="`+dir+`",lane="`+lane+`"}`), 0.0, lane+" "+dir)
		}
	}
	require.Greater(t, delta(`ekka_mesh_lane_bytes_total{direction="sent",lane="large"}`), float64(len(big)))
	require.Greater(t, delta(`ekka_mesh_lane_bytes_total{direction="received",lane="large"}`), float64(len(big)))
	require.GreaterOrEqual(t, delta(`ekka_mesh_lane_frames_total{direction="sent",lane="data"}`), float64(calls+4+2))

	// Each link was accepted by one end: three links, nine lanes.
	var accepted, links float64
	for _, s := range []sample{after, after1, scrape(t, registry(t, metrics.NewCollector(c.Node(2))))} {
		accepted += s.get(t, "ekka_mesh_handshakes_accepted_total")
		links += s.get(t, "ekka_mesh_listener_connections_accepted_total")
	}
	require.GreaterOrEqual(t, accepted, 9.0)
	require.GreaterOrEqual(t, links, 9.0)
	require.Equal(t, 0.0, after.get(t, `ekka_mesh_handshakes_refused_total{reason="bad-cookie"}`))

	// Locks: granted everywhere (type all), then refused to another
	// owner, released; a local lock left to expire.
	ls, err := lks[0].Acquire(ctx, "printer", locker.Options{Type: locker.All})
	require.NoError(t, err)
	require.True(t, ls.OK, "acquire: %+v", ls)
	s := scrape(t, reg)
	require.Equal(t, 1.0, s.get(t, "ekka_mesh_locks_granted_total"))
	require.Equal(t, 1.0, s.get(t, "ekka_mesh_locks_held"))
	require.GreaterOrEqual(t, s.get(t, `ekka_mesh_lock_table_requests_total{op="acquire",result="granted"}`), 1.0)
	held := lks[1].Held()
	require.Len(t, held, 1)
	require.Equal(t, "printer", held[0].Resource)
	require.Equal(t, lks[0].Owner(), held[0].Owner)
	require.Equal(t, ls.Token, held[0].Token)
	require.True(t, held[0].Expires.After(time.Now()))

	other, err := lks[1].Acquire(ctx, "printer", locker.Options{Type: locker.All})
	require.NoError(t, err)
	require.False(t, other.OK)
	require.Equal(t, 1.0, scrape(t, reg1).get(t, "ekka_mesh_locks_refused_total"))
	require.GreaterOrEqual(t, scrape(t, reg).get(t, `ekka_mesh_lock_table_requests_total{op="acquire",result="refused"}`), 1.0)

	rel, err := lks[0].Release(ctx, "printer", locker.Options{Type: locker.All})
	require.NoError(t, err)
	require.True(t, rel.OK)
	require.Equal(t, 0.0, scrape(t, reg).get(t, "ekka_mesh_locks_held"))
	require.Empty(t, lks[0].Held())

	short, err := lks[0].Acquire(ctx, "lamp", locker.Options{Type: locker.Local, Lease: 50 * time.Millisecond})
	require.NoError(t, err)
	require.True(t, short.OK)
	require.NoError(t, c.Wait(ctx, "the lease of lamp to expire", func() bool {
		return lks[0].Stats().Expired == 1
	}))
	s = scrape(t, reg)
	require.Equal(t, 1.0, s.get(t, "ekka_mesh_locks_expired_total"))
	require.Equal(t, 0.0, s.get(t, "ekka_mesh_locks_held"))

	// A node with the wrong cookie is refused, and counted by reason.
	cfg := conn.DefaultConfig()
	cfg.Name, cfg.Cluster, cfg.Cookie = "intruder@127.0.0.1", n0.Cluster(), "not-the-cookie-at-all"
	cfg.GUID = mesh.NewGUID()
	_, err = conn.Dial(ctx, &cfg, n0.Name(), n0.Addr().String())
	require.Error(t, err)
	require.NoError(t, c.Wait(ctx, "the refusal to be counted", func() bool {
		return n0.Stats().Listener.Refused["bad-cookie"] >= 1
	}))
	require.GreaterOrEqual(t, scrape(t, reg).get(t, `ekka_mesh_handshakes_refused_total{reason="bad-cookie"}`), 1.0)

	problems, err = testutil.CollectAndLint(col)
	require.NoError(t, err)
	require.Empty(t, problems, "lint after traffic")
}

// TestCountersOutliveLinks checks that the lane counters of a link that
// went down stay in the sums (counters never go down), and that a call to
// a node that is down is counted as node_down and its heartbeat timeout
// as missed.
func TestCountersOutliveLinks(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 60*time.Second)
	n0 := c.Node(0)
	reg := registry(t, metrics.NewCollector(n0))
	require.NoError(t, c.Node(2).Handle("echo", echo))
	_, err := n0.Call(ctx, c.Name(2), "echo", make([]byte, 1000))
	require.NoError(t, err)
	before := scrape(t, reg)

	// n1 and n3 stop hearing each other: n1 closes the link when the
	// heartbeat timeout passes.
	c.Blackhole(0, 2)
	c.Blackhole(2, 0)
	// The member goes down first; the link is counted closed once its
	// connection has finished closing, a moment later.
	require.NoError(t, c.Wait(ctx, "n1 to see n3 down and its link closed", func() bool {
		return slices.Contains(n0.Info().StoppedNodes, c.Name(2)) &&
			scrape(t, reg).get(t, "ekka_mesh_links_closed_total") >= 1
	}))
	after := scrape(t, reg)
	for _, lane := range []string{"control", "data"} {
		for _, dir := range []string{"sent", "received"} {
			k := `ekka_mesh_lane_bytes_total{direction="` + dir + `",lane="` + lane + `"}`
			require.GreaterOrEqual(t, after.get(t, k), before.get(t, k), k)
		}
	}
	require.Equal(t, 1.0, after.get(t, `ekka_mesh_members{status="down"}`))
	require.Equal(t, 2.0, after.get(t, `ekka_mesh_members{status="up"}`))
	require.Equal(t, 1.0, after.get(t, `ekka_mesh_links`))
	require.GreaterOrEqual(t, after.get(t, "ekka_mesh_links_closed_total"), 1.0)
	require.Equal(t, 1.0, after.get(t, "ekka_mesh_heartbeats_missed_total"))
	require.Greater(t, after.get(t, "ekka_mesh_heartbeats_sent_total"), 0.0)
	require.Equal(t, 1.0, after.get(t, `ekka_mesh_membership_events_total{kind="node-down"}`)-before.get(t, `ekka_mesh_membership_events_total{kind="node-down"}`))

	_, err = n0.Call(ctx, c.Name(2), "echo", nil)
	require.ErrorIs(t, err, mesh.ErrNodeDown)
	s := scrape(t, reg)
	require.Equal(t, 1.0, s.get(t, `ekka_mesh_call_errors_total{kind="call",reason="node_down"}`))
	res := n0.Multicall(ctx, []string{c.Name(1), c.Name(2)}, "echo", nil)
	require.Equal(t, []string{c.Name(1), c.Name(2)}, res.Failed) // n2 has no handler, n3 is down
	s = scrape(t, reg)
	require.Equal(t, 1.0, s.get(t, `ekka_mesh_call_errors_total{kind="multicall",reason="node_down"}`))
	require.Equal(t, 1.0, s.get(t, `ekka_mesh_call_errors_total{kind="multicall",reason="no_handler"}`))
	require.Error(t, n0.Cast(c.Name(2), "echo", nil))
	require.Equal(t, 1.0, scrape(t, reg).get(t, "ekka_mesh_casts_failed_total"))
}

// TestPartitionAndHeal splits a cluster of three with autoheal attached,
// and checks the partition and the heal in the metrics and in Status.
func TestPartitionAndHeal(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 90*time.Second)
	ahs := make([]*autoheal.Autoheal, 3)
	regs := make([]*prometheus.Registry, 3)
	for i := range ahs {
		ah, err := autoheal.Attach(c.Node(i), autoheal.Config{Delay: 300 * time.Millisecond, HealTimeout: 10 * time.Second, CallTimeout: 2 * time.Second})
		require.NoError(t, err)
		t.Cleanup(ah.Close)
		ahs[i] = ah
		col := metrics.NewCollector(c.Node(i), metrics.WithAutoheal(ah))
		regs[i] = registry(t, col)
		problems, err := testutil.CollectAndLint(col)
		require.NoError(t, err)
		require.Empty(t, problems)
	}
	st := ahs[0].Status()
	require.False(t, st.Healing)
	require.Zero(t, st.Round)
	require.True(t, st.LastHeal.IsZero())
	require.Empty(t, st.Partitions)
	require.NoError(t, c.Wait(ctx, "every node to agree on the autoheal leader", func() bool {
		l := ahs[0].Status().Leader
		return l != "" && l == ahs[1].Status().Leader && l == ahs[2].Status().Leader
	}))

	c.Partition([]int{0, 1}, []int{2})
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.WaitRunning(ctx, 2))
	c.HealAll()
	require.NoError(t, c.Wait(ctx, "a partition recorded and then healed", func() bool {
		coordinated := uint64(0)
		for i := range regs {
			if len(c.Node(i).Info().Partitions) > 0 {
				return false
			}
			coordinated += ahs[i].Stats().Coordinated
		}
		return coordinated == 1 && ahs[2].Stats().Healed == 1
	}), "status: %+v %+v %+v", ahs[0].Status(), ahs[1].Status(), ahs[2].Status())

	var seen, healed, rounds float64
	for i, reg := range regs {
		s := scrape(t, reg)
		seen += s.get(t, "ekka_mesh_partitions_seen_total")
		healed += s.get(t, "ekka_mesh_partitions_healed_total")
		rounds += s.get(t, "ekka_mesh_heal_rounds_total")
		require.Equal(t, 0.0, s.get(t, "ekka_mesh_partitions"), c.Name(i))
	}
	require.GreaterOrEqual(t, seen, 1.0)
	require.GreaterOrEqual(t, healed, 1.0)
	require.GreaterOrEqual(t, rounds, 2.0) // a coordinator and a victim at least
	victim := scrape(t, regs[2])
	require.Equal(t, 1.0, victim.get(t, `ekka_mesh_heals_total{result="ok",role="victim"}`))
	vs := ahs[2].Status()
	require.NotZero(t, vs.Round)
	require.NotEmpty(t, vs.LastRound)
	require.False(t, vs.LastHeal.IsZero())
	require.Contains(t, vs.LastResult, "rejoined the cluster of")
}
