package mcast

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// startMeshNodes starts n mesh nodes k@127.0.0.k (k = 1..n), each with mcast
// discovery of window and the autocluster interval, all at once. It returns
// the nodes and the time the last one started. The nodes stop with the test.
func startMeshNodes(t *testing.T, n int, window, interval time.Duration) ([]*mesh.Node, time.Time) {
	t.Helper()
	nodes := make([]*mesh.Node, n)
	for i := range n {
		name := fmt.Sprintf("n%d@127.0.0.%d", i+1, i+1)
		cfg := DefaultConfig()
		cfg.Name, cfg.Cluster, cfg.Cookie, cfg.Window = name, "c1", "test-cookie", window
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		mc := mesh.DefaultConfig()
		mc.Name, mc.Cookie, mc.Cluster, mc.BasePort = name, "test-cookie", "c1", 5000
		mc.Discovery, mc.AutoclusterInterval = d, interval
		node, err := mesh.Start(t.Context(), mc)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = node
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := node.Stop(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	return nodes, time.Now()
}

// waitCluster waits until every node runs with all of them and returns how
// long after since that was.
func waitCluster(t *testing.T, nodes []*mesh.Node, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	var all []string
	for _, n := range nodes {
		all = append(all, n.Name())
	}
	slices.Sort(all)
	testnet.Eventually(t, limit-time.Since(since), fmt.Sprintf("one full cluster of %v, no partition", all), func() string {
		for _, n := range nodes {
			info := n.Info()
			if !slices.Equal(info.RunningNodes, all) || len(info.Members) != len(all) || len(info.Partitions) != 0 {
				return fmt.Sprintf("%s runs with %v (%d members, partitions %v)", n.Name(), info.RunningNodes, len(info.Members), info.Partitions)
			}
		}
		return ""
	})
	return time.Since(since)
}

// TestMeshNodesFormOneCluster: three mesh nodes started at once with mcast
// discovery end in one cluster, and a fourth started later joins it.
func TestMeshNodesFormOneCluster(t *testing.T) {
	if !inNetns(t) {
		return
	}
	nodes, last := startMeshNodes(t, 3, 300*time.Millisecond, 500*time.Millisecond)
	took := waitCluster(t, nodes, last, 30*time.Second)
	t.Logf("3 mesh nodes (window 300ms, autocluster interval 500ms) formed one cluster %v after the last started", took.Round(time.Millisecond))

	cfg := DefaultConfig()
	cfg.Name, cfg.Cluster, cfg.Cookie, cfg.Window = "n4@127.0.0.4", "c1", "test-cookie", 300*time.Millisecond
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc := mesh.DefaultConfig()
	mc.Name, mc.Cookie, mc.Cluster, mc.BasePort = cfg.Name, "test-cookie", "c1", 5000
	mc.Discovery, mc.AutoclusterInterval = d, 500*time.Millisecond
	n4, err := mesh.Start(t.Context(), mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n4.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	took = waitCluster(t, append(nodes, n4), time.Now(), 30*time.Second)
	t.Logf("a fourth node joined in %v", took.Round(time.Millisecond))
	if s := d.Stats(); s.Dropped() != 0 || s.Accepted == 0 {
		t.Errorf("n4's Stats = %+v; want answers accepted, nothing dropped", s)
	}
}

// TestFormationTime measures, with in-process mesh nodes started at once,
// the time from the last node's start to one full cluster, for 3 and 10
// nodes, with the default window and interval (3s, 5s) and with short ones.
func TestFormationTime(t *testing.T) {
	if testing.Short() {
		t.Skip("measures formation times (about a minute)")
	}
	if !inNetns(t) {
		return
	}
	for _, c := range []struct {
		window, interval time.Duration
	}{
		{500 * time.Millisecond, time.Second},
		{DefaultWindow, 5 * time.Second},
	} {
		for _, n := range []int{3, 10} {
			t.Run(fmt.Sprintf("%d nodes, window %v, interval %v", n, c.window, c.interval), func(t *testing.T) {
				nodes, last := startMeshNodes(t, n, c.window, c.interval)
				took := waitCluster(t, nodes, last, 2*time.Minute)
				t.Logf("FORMATION %d nodes, window %v, autocluster interval %v: %v", n, c.window, c.interval, took.Round(time.Millisecond))
			})
		}
	}
}
