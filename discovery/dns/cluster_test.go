package dns

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery/dns/dnstest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// nodeSpec is one node of a test cluster.
type nodeSpec struct {
	name string
	bind string // listen address; "" means the name's IP
}

// startNodes starts a mesh node per spec with DNS discovery built by
// discovery, and stops them all when the test ends. It returns the nodes
// and the time the last one started.
func startNodes(t testing.TB, base int, specs []nodeSpec, discovery func(self string) Config, tune func(*mesh.Config)) ([]*mesh.Node, time.Time) {
	t.Helper()
	var nodes []*mesh.Node
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, n := range nodes {
			if err := n.Stop(ctx); err != nil {
				t.Errorf("stop %s: %v", n.Name(), err)
			}
		}
	})
	var last time.Time
	for _, spec := range specs {
		d, err := New(discovery(spec.name))
		if err != nil {
			t.Fatal(err)
		}
		cfg := mesh.DefaultConfig()
		cfg.Name = spec.name
		cfg.Cookie = "dns-test-cookie"
		cfg.Cluster = "dnscl"
		cfg.BasePort = base
		cfg.Bind = spec.bind
		cfg.Discovery = d
		cfg.AutoclusterInterval = 100 * time.Millisecond
		cfg.HeartbeatInterval = 200 * time.Millisecond
		cfg.HeartbeatTimeout = 5 * time.Second
		if tune != nil {
			tune(&cfg)
		}
		n, err := mesh.Start(t.Context(), cfg)
		if err != nil {
			t.Fatalf("start %s: %v", spec.name, err)
		}
		last = time.Now()
		nodes = append(nodes, n)
	}
	return nodes, last
}

// waitCluster waits until every node runs with all of them; it returns
// when that happened.
func waitCluster(t testing.TB, nodes []*mesh.Node, within time.Duration) time.Time {
	t.Helper()
	var want []string
	for _, n := range nodes {
		want = append(want, n.Name())
	}
	slices.Sort(want)
	testnet.Eventually(t, within, fmt.Sprintf("one cluster of %v", want), func() string {
		for _, n := range nodes {
			if running := n.Info().RunningNodes; !slices.Equal(running, want) {
				return fmt.Sprintf("%s runs with %v", n.Name(), running)
			}
		}
		return ""
	})
	return time.Now()
}

// TestClusterFromARecords starts n@127.0.0.1, n@127.0.0.2 and n@127.0.0.3
// on one port before their A records exist: discovery finds nothing and the
// nodes stay apart; once the records appear they form one cluster.
func TestClusterFromARecords(t *testing.T) {
	s := dnstest.Start(t)
	ips := testnet.Loopbacks(3)
	base := testnet.FreePortOn(t, ips...)
	var specs []nodeSpec
	for _, ip := range ips {
		specs = append(specs, nodeSpec{name: "n@" + ip})
	}
	nodes, _ := startNodes(t, base, specs, func(self string) Config {
		return Config{Name: self, Domain: "nodes.cluster.test", Server: s.Addr} // app: the node's own short name, n
	}, nil)

	// Every node keeps asking and finds nothing, pass after pass.
	testnet.Eventually(t, 10*time.Second, "three autocluster passes of every node, none linking", func() string {
		for _, n := range nodes {
			st := n.Stats()
			if passes := st.Discovery["error"] + st.Discovery["alone"]; passes < 3 {
				return fmt.Sprintf("%s counts %d passes that found no node (%v)", n.Name(), passes, st.Discovery)
			}
		}
		return ""
	})
	for _, n := range nodes {
		if running := n.Info().RunningNodes; len(running) != 1 {
			t.Fatalf("%s runs with %v before any record exists; want itself only", n.Name(), running)
		}
	}
	if queries := s.UDPQueries(); queries < 9 {
		t.Fatalf("the DNS server got %d queries from 3 nodes that each made 3 passes; want the nodes to ask on every pass", queries)
	}

	var rrs []string
	for _, ip := range ips {
		rrs = append(rrs, "nodes.cluster.test. 0 IN A "+ip)
	}
	s.Set(t, rrs...)
	published := time.Now()
	formed := waitCluster(t, nodes, 20*time.Second)
	t.Logf("3 nodes: one cluster %v after the A records appeared", formed.Sub(published).Round(time.Millisecond))
}

// TestClusterFromSRVRecords forms a cluster of nodes named by host name,
// listed by SRV records. The host names exist only in the test server, so
// the nodes dial through mesh.Config.Resolve, which asks the same server
// for their A records (a deployment's system resolver would do that).
func TestClusterFromSRVRecords(t *testing.T) {
	s := dnstest.Start(t)
	ips := testnet.Loopbacks(3)
	base := testnet.FreePortOn(t, ips...)
	var specs []nodeSpec
	rrs := []string{}
	for i, ip := range ips {
		host := "node" + strconv.Itoa(i+1) + ".srv.test"
		specs = append(specs, nodeSpec{name: "emqx@" + host, bind: ip})
		rrs = append(rrs, "_emqx._tcp.srv.test. 0 IN SRV 0 10 "+strconv.Itoa(base)+" "+host+".", host+". 0 IN A "+ip)
	}
	s.Set(t, rrs...)
	// The nodes dial the SRV targets through the DNS server too, as
	// ekka-mesh run arranges when cluster.dns.server is set.
	asker, err := New(Config{Name: "emqx@asker.srv.test", Domain: "_emqx._tcp.srv.test", Type: TypeSRV, Server: s.Addr})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(node string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return asker.Addr(ctx, node, base)
	}
	nodes, last := startNodes(t, base, specs, func(self string) Config {
		return Config{Name: self, Domain: "_emqx._tcp.srv.test", Type: TypeSRV, Server: s.Addr}
	}, func(cfg *mesh.Config) { cfg.Resolve = resolve })
	formed := waitCluster(t, nodes, 20*time.Second)
	t.Logf("3 nodes from SRV records: one cluster %v after the last start", formed.Sub(last).Round(time.Millisecond))
	if got := nodes[0].Info().RunningNodes; !slices.Equal(got, []string{"emqx@node1.srv.test", "emqx@node2.srv.test", "emqx@node3.srv.test"}) {
		t.Fatalf("running nodes %v; want the SRV targets as emqx@host", got)
	}
}

// TestClusterFormationTime measures the time from the last node's start to
// one full cluster, with the A records published beforehand, for 3 and 10
// nodes on 127.0.0.1..10 sharing one port.
func TestClusterFormationTime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 13 nodes")
	}
	for _, n := range []int{3, 10} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			s := dnstest.Start(t)
			ips := testnet.Loopbacks(n)
			base := testnet.FreePortOn(t, ips...)
			var specs []nodeSpec
			var rrs []string
			for _, ip := range ips {
				specs = append(specs, nodeSpec{name: "n@" + ip})
				rrs = append(rrs, "nodes.cluster.test. 0 IN A "+ip)
			}
			s.Set(t, rrs...)
			nodes, last := startNodes(t, base, specs, func(self string) Config {
				return Config{Name: self, Domain: "nodes.cluster.test", Server: s.Addr}
			}, nil)
			formed := waitCluster(t, nodes, 30*time.Second)
			t.Logf("%d nodes: one cluster %v after the last node started (autocluster interval 100ms)", n, formed.Sub(last).Round(time.Millisecond))
		})
	}
}
