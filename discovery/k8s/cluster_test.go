package k8s_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/discovery/k8s"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s/k8stest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// formCluster starts one in-process node per host, n@<host>, each with its
// own k8s discovery against api (namespace ns, service svc, app n,
// address type ip), and waits until every node runs with all of them. It
// returns the time from the last node's start to that full cluster.
// afterStart, when set, runs once every node has started.
func formCluster(t *testing.T, api *k8stest.Server, caFile, tokenFile, ns, svc string, hosts []string, interval time.Duration, afterStart func()) time.Duration {
	t.Helper()
	base := testnet.FreePortOn(t, hosts...)
	var want []string
	for _, h := range hosts {
		want = append(want, "n@"+h)
	}
	slices.Sort(want)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var nodes []*mesh.Node
	defer func() {
		for _, n := range nodes {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			require.NoError(t, n.Stop(sctx))
			scancel()
		}
	}()
	var lastStart time.Time
	for _, h := range hosts {
		d, err := k8s.New(k8s.Config{
			APIServer: api.URL, ServiceName: svc, Namespace: ns, AppName: "n",
			AddressType: k8s.AddressIP, TokenFile: tokenFile, CACertFile: caFile,
		})
		require.NoError(t, err)
		cfg := mesh.DefaultConfig()
		cfg.Name = "n@" + h
		cfg.Cookie = "k8s-cluster-test"
		cfg.BasePort = base
		cfg.Discovery = d
		cfg.AutoclusterInterval = interval
		n, err := mesh.Start(ctx, cfg)
		require.NoError(t, err)
		nodes = append(nodes, n)
		lastStart = time.Now()
	}
	if afterStart != nil {
		afterStart()
	}
	testnet.EventuallyCtx(t, ctx, fmt.Sprintf("a full cluster of %v", want), func() string {
		for _, n := range nodes {
			if running := n.Info().RunningNodes; !slices.Equal(running, want) {
				return fmt.Sprintf("%s runs with %v", n.Name(), running)
			}
		}
		return ""
	})
	return time.Since(lastStart)
}

func serviceAccount(t *testing.T, api *k8stest.Server, token string) (caFile, tokenFile string) {
	t.Helper()
	dir := t.TempDir()
	caFile, tokenFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(caFile, api.CACertPEM(), 0o600))
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	return caFile, tokenFile
}

// TestThreeNodesFormOneCluster: three mesh nodes in this process, on
// 127.0.0.1, 127.0.0.2 and 127.0.0.3 with one port, find each other through
// the recorded EndpointSlices of service ekka-mesh over TLS.
func TestThreeNodesFormOneCluster(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	api := k8stest.NewTLSServer("token-3")
	defer api.Close()
	api.SetEndpointSlices("ekka", k8stest.Fixture("endpointslices-local.json"))
	caFile, tokenFile := serviceAccount(t, api, "token-3")
	took := formCluster(t, api, caFile, tokenFile, "ekka", "ekka-mesh", testnet.Loopbacks(3), time.Second, nil)
	t.Logf("3 in-process nodes (autocluster interval 1s): full cluster %v after the last node's start", took.Round(time.Millisecond))
	require.Zero(t, api.Unauthorized())
}

// TestEndpointsThatBecomeReadyLater: the nodes start while the service has
// no ready endpoint yet (readiness probes not passed: an empty slice), so
// every pass discovers nothing and retries; they form one cluster once the
// service lists them all.
func TestEndpointsThatBecomeReadyLater(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	api := k8stest.NewTLSServer("token-later")
	defer api.Close()
	hosts := testnet.Loopbacks(3)
	api.SetEndpointSlices("ekka", k8stest.SliceList("ekka", "later"))
	caFile, tokenFile := serviceAccount(t, api, "token-later")
	var notReady time.Duration
	took := formCluster(t, api, caFile, tokenFile, "ekka", "later", hosts, 200*time.Millisecond, func() {
		// Every node asks at least twice and finds no ready endpoint.
		notReady = testnet.Eventually(t, 10*time.Second, "two discovery passes per node against the service without ready endpoints", func() string {
			if n := api.Requests(); n < int64(2*len(hosts)) {
				return fmt.Sprintf("the API server got %d requests from %d nodes", n, len(hosts))
			}
			return ""
		})
		api.SetEndpointSlices("ekka", k8stest.SliceList("ekka", "later", hosts...))
	})
	t.Logf("full cluster %v after the last node's start; the endpoints became ready %v after it", took.Round(time.Millisecond), notReady.Round(time.Millisecond))
}

// TestFormationTime measures the time from the last node's start to one
// full cluster for 3 and 10 in-process nodes, with the default autocluster
// interval (5s) and a short one (1s).
//
//	go test -race -run TestFormationTime -v ./discovery/k8s/
func TestFormationTime(t *testing.T) {
	if testing.Short() {
		t.Skip("forms several clusters")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	api := k8stest.NewTLSServer("token-n")
	defer api.Close()
	caFile, tokenFile := serviceAccount(t, api, "token-n")
	for _, n := range []int{3, 10} {
		for _, interval := range []time.Duration{5 * time.Second, time.Second} {
			hosts := testnet.Loopbacks(n)
			svc := fmt.Sprintf("ekka-%d", n)
			api.SetEndpointSlices("ekka", k8stest.SliceList("ekka", svc, hosts...))
			took := formCluster(t, api, caFile, tokenFile, "ekka", svc, hosts, interval, nil)
			t.Logf("%2d in-process nodes, autocluster interval %v: full cluster %v after the last node's start", n, interval, took.Round(time.Millisecond))
		}
	}
}
