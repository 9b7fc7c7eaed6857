package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/etcd"
	"github.com/ekka-mesh/ekka-mesh/discovery/etcd/etcdtest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

func TestEtcdDiscoveryFromSettings(t *testing.T) {
	checkLeaks(t)
	s, err := config.Load("", []string{"node.name=n1@127.0.0.1", "node.cookie=c", "cluster.name=cl",
		"cluster.discovery=etcd", "cluster.etcd.server=http://127.0.0.1:2379,http://127.0.0.2:2379",
		"cluster.etcd.prefix=apps", "cluster.etcd.node_ttl=7s"}, nil)
	require.NoError(t, err)
	cfg, err := meshConfig(s)
	require.NoError(t, err)
	d, ok := cfg.Discovery.(*etcd.Etcd)
	require.True(t, ok, "cluster.discovery = etcd gave %T", cfg.Discovery)
	assert.Equal(t, "apps/cl/nodes/n1@127.0.0.1", d.Key())
	// Never used: nothing to close, but Unregister (as at node stop) is fine.
	require.NoError(t, d.Unregister(context.Background()))

	s, err = config.Load("", []string{"node.cookie=c", "cluster.discovery=etcd", "cluster.etcd.server=http://127.0.0.1:2379"}, nil)
	require.NoError(t, err)
	cfg, err = meshConfig(s)
	require.NoError(t, err)
	assert.Equal(t, "ekkacl/ekka/nodes/"+s.Node.Name.String(), cfg.Discovery.(*etcd.Etcd).Key(), "default prefix and cluster")

	missing := filepath.Join(t.TempDir(), "missing.pem")
	s, err = config.Load("", []string{"node.cookie=c", "cluster.discovery=etcd", "cluster.etcd.server=https://127.0.0.1:2379",
		"cluster.etcd.ssl.cacertfile=" + missing}, nil)
	require.NoError(t, err)
	_, err = meshConfig(s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cluster.etcd.ssl: etcd discovery: CA certificates: open "+missing)

	s, err = config.Load("", []string{"node.cookie=c", "cluster.discovery=etcd", "cluster.etcd.server=http://127.0.0.1:2379",
		"cluster.etcd.ssl.cacertfile=" + missing}, nil)
	require.NoError(t, err)
	_, err = meshConfig(s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cluster.etcd.ssl")
}

// startConf runs `ekka-mesh run --config conf` for name, configured by the
// file alone, in its own process group killed when the test ends.
func (h *clusterHarness) startConf(t *testing.T, name, conf string) *nodeProc {
	t.Helper()
	return h.run(t, name, "--config", conf)
}

// TestEtcdCluster runs three `ekka-mesh run` processes configured only by a
// config file each (cluster.discovery = etcd, an embedded etcd started by
// the test) and checks through `ctl status --json` that they form one
// cluster, that each registered under its key, that a killed node's key
// expires within node_ttl and that stopped nodes unregister.
func TestEtcdCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	srv := etcdtest.Start(t, etcdtest.Options{})
	bin := buildBinary(t)
	h := newHarness(t, bin, "etcd-test-cookie", []string{n1, n2, n3})
	all := []string{n1, n2, n3}
	dir := t.TempDir()
	procs := map[string]*nodeProc{}
	var last time.Time
	for k, name := range all {
		conf := filepath.Join(dir, fmt.Sprintf("n%d.conf", k+1))
		text := fmt.Sprintf("## node %d of TestEtcdCluster\nnode.name = %s\nnode.cookie = %s\nnode.base_port = %d\n"+
			"cluster.name = etcdcl\ncluster.discovery = etcd\ncluster.etcd.server = %s\ncluster.etcd.node_ttl = 3s\n"+
			"cluster.autocluster.interval = 500ms\nnode.heartbeat_interval = 200ms\nnode.heartbeat_timeout = 2s\ncluster.autoheal = off\n",
			k+1, name, h.cookie, h.base, srv.URL())
		require.NoError(t, os.WriteFile(conf, []byte(text), 0o600))
		procs[name] = h.startConf(t, name, conf)
		last = time.Now()
	}
	testnet.Eventually(t, 30*time.Second, "every node running all three", h.view(t, all, all, all, []string{}))
	t.Logf("FORMATION 3 ekka-mesh run processes (etcd): one cluster %v after the last started (autocluster interval 500ms)",
		time.Since(last).Round(time.Millisecond))

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.URL()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	keys := func() []string {
		resp, err := cli.Get(ctx, "ekkacl/etcdcl/nodes/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		require.NoError(t, err)
		var out []string
		for _, kv := range resp.Kvs {
			out = append(out, string(kv.Key))
		}
		return out
	}
	testnet.Eventually(t, 10*time.Second, "all three registered", func() string {
		if got := keys(); len(got) != 3 {
			return fmt.Sprintf("keys %v", got)
		}
		return ""
	})
	assert.Equal(t, []string{"ekkacl/etcdcl/nodes/" + n1, "ekkacl/etcdcl/nodes/" + n2, "ekkacl/etcdcl/nodes/" + n3}, keys())

	// kill -9: the key expires within node_ttl, the others see n3 stopped.
	procs[n3].kill9(t)
	killed := time.Now()
	testnet.Eventually(t, 10*time.Second, "n3's key expired", func() string {
		if got := keys(); len(got) != 2 {
			return fmt.Sprintf("keys %v", got)
		}
		return ""
	})
	t.Logf("a killed node's key expired %v after kill -9 (node_ttl 3s)", time.Since(killed).Round(time.Millisecond))
	assert.Less(t, time.Since(killed), 5*time.Second)

	// SIGTERM: the node unregisters at once.
	assert.Equal(t, exitOK, procs[n2].term(t))
	assert.Equal(t, []string{"ekkacl/etcdcl/nodes/" + n1}, keys(), "n2 unregistered on SIGTERM")
	assert.Equal(t, exitOK, procs[n1].term(t))
	assert.Empty(t, keys())
	resp, err := cli.Get(ctx, "ekkacl/etcdcl/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.Zero(t, resp.Count, "no lock key left")

	for _, name := range []string{n1, n2} {
		log := procs[name].log.String()
		assert.Contains(t, log, "discovery=etcd", "%s log", name)
		assert.NotContains(t, log, "level=ERROR", "%s log", name)
		assert.True(t, strings.Contains(log, "msg=stopped"), "%s did not stop cleanly on SIGTERM:\n%s", name, log)
	}
}

// TestEtcdUnreachable: a node whose etcd is down keeps running, says so on
// stderr naming the server, and joins once etcd is up.
func TestEtcdUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	srv := etcdtest.Start(t, etcdtest.Options{})
	srv.Stop()
	bin := buildBinary(t)
	h := newHarness(t, bin, "etcd-test-cookie", []string{n1, n2})
	dir := t.TempDir()
	procs := map[string]*nodeProc{}
	for k, name := range []string{n1, n2} {
		conf := filepath.Join(dir, fmt.Sprintf("n%d.conf", k+1))
		text := fmt.Sprintf("node.name = %s\nnode.cookie = %s\nnode.base_port = %d\ncluster.name = etcdcl\ncluster.discovery = etcd\n"+
			"cluster.etcd.server = %s\ncluster.etcd.node_ttl = 3s\ncluster.autocluster.interval = 500ms\n"+
			"node.heartbeat_interval = 200ms\nnode.heartbeat_timeout = 2s\ncluster.autoheal = off\n", name, h.cookie, h.base, srv.URL())
		require.NoError(t, os.WriteFile(conf, []byte(text), 0o600))
		procs[name] = h.startConf(t, name, conf)
	}
	testnet.Eventually(t, 30*time.Second, "n1 saying etcd fails", func() string {
		log := procs[n1].log.String()
		if !strings.Contains(log, "requests to etcd fail") || !strings.Contains(log, srv.URL()) {
			return "log so far:\n" + log
		}
		return ""
	})
	for _, name := range []string{n1, n2} {
		select {
		case <-procs[name].done:
			t.Fatalf("%s exited while etcd was down:\n%s", name, procs[name].log.String())
		default:
		}
	}
	srv.Restart()
	both := []string{n1, n2}
	testnet.Eventually(t, 30*time.Second, "n1 and n2 together", h.view(t, both, both, both, []string{}))
	assert.Contains(t, procs[n1].log.String(), "etcd answers again")
	assert.Equal(t, exitOK, procs[n1].term(t))
	assert.Equal(t, exitOK, procs[n2].term(t))
}
