package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/dns"
	"github.com/ekka-mesh/ekka-mesh/discovery/dns/dnstest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestDNSDiscoveryFromSettings checks that cluster.dns.* reach the
// strategy, and that an empty cluster.dns.app means this node's short name.
func TestDNSDiscoveryFromSettings(t *testing.T) {
	for _, tt := range []struct {
		overrides []string
		app       string
		typ       dns.Type
	}{
		{[]string{"cluster.dns.app=emqx"}, "emqx", dns.TypeA},
		{nil, "node7", dns.TypeA},
		{[]string{"cluster.dns.type=srv", "cluster.dns.name=_emqx._tcp.example.com."}, "node7", dns.TypeSRV},
		{[]string{"cluster.dns.type=aaaa", "cluster.dns.server=[::1]:5353"}, "node7", dns.TypeAAAA},
	} {
		overrides := append([]string{"node.cookie=c", "node.name=node7@127.0.0.1", "cluster.discovery=dns", "cluster.dns.name=nodes.example.com"}, tt.overrides...)
		s, err := config.Load("", overrides, nil)
		require.NoError(t, err, "%q", overrides)
		cfg, err := meshConfig(s)
		require.NoError(t, err, "%q", overrides)
		d, ok := cfg.Discovery.(*dns.DNS)
		require.True(t, ok, "%q: discovery is %T; want *dns.DNS", overrides, cfg.Discovery)
		assert.Equal(t, tt.app, d.App(), "%q", overrides)
		assert.Equal(t, tt.typ, d.Type(), "%q", overrides)
		assert.Equal(t, s.Cluster.DNS.Name, d.Domain(), "%q", overrides)
		require.NotNil(t, cfg.Resolve, "%q: the node dials the names it discovered through the same resolver", overrides)
		addr, err := cfg.Resolve("node7@127.0.0.1")
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1:4377", addr, "the port rule still decides the port")
	}
}

// startFromFile runs `ekka-mesh run --config conf --log-level debug`: every
// setting, the node's name and cookie included, comes from the file; the
// flag only makes the mesh's autocluster lines visible. Like
// clusterHarness.start, the process is killed when the test ends.
func (h *clusterHarness) startFromFile(t *testing.T, name, conf string) *nodeProc {
	t.Helper()
	return h.run(t, name, "--config", conf, "--log-level", "debug")
}

// TestClusterDNS runs three `ekka-mesh run` processes, n@127.0.0.1,
// n@127.0.0.2 and n@127.0.0.3 on one port, each configured only by its
// config file for DNS discovery through a DNS server the test runs. The
// nodes start before their A records exist and stay apart, retrying; once
// the records are published they form one cluster, seen through
// `ctl status --json`.
func TestClusterDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	checkLeaks(t)
	all := []string{"n@127.0.0.1", "n@127.0.0.2", "n@127.0.0.3"}
	zone := dnstest.Start(t)
	h := newHarness(t, buildBinary(t), "dns-cluster-test-cookie", all)
	dir := t.TempDir()
	procs := map[string]*nodeProc{}
	for _, name := range all {
		conf := filepath.Join(dir, strings.ReplaceAll(name, "@", "_")+".conf")
		require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`## Node %[1]s of TestClusterDNS.
node.name = %[1]s
node.cookie = %[2]s
node.base_port = %[3]d
node.heartbeat_interval = 200ms
node.heartbeat_timeout = 2s
cluster.name = dnscl
cluster.discovery = dns
cluster.dns.name = nodes.dnscl.test
cluster.dns.app = n
cluster.dns.type = a
cluster.dns.server = %[4]s
cluster.autocluster.interval = 500ms
cluster.autoheal = off
`, name, h.cookie, h.base, zone.Addr)), 0o600))
		procs[name] = h.startFromFile(t, name, conf)
	}

	const deadline = 30 * time.Second
	for _, name := range all {
		testnet.Eventually(t, deadline, name+" running alone while DNS has no records", h.view(t, []string{name}, []string{name}, []string{name}, []string{}))
	}
	for _, name := range all {
		testnet.Eventually(t, deadline, name+" logging why it retries", func() string {
			log := procs[name].log.String()
			if !strings.Contains(log, "records of nodes.dnscl.test from server "+zone.Addr+": none") || !strings.Contains(log, "no nodes in DNS") {
				return "no retry line naming the missing records in:\n" + log
			}
			return ""
		})
	}

	var rrs []string
	for _, name := range all {
		rrs = append(rrs, "nodes.dnscl.test. 0 IN A "+strings.TrimPrefix(name, "n@"))
	}
	zone.Set(t, rrs...)
	t0 := time.Now()
	testnet.Eventually(t, deadline, "every node running all three", h.view(t, all, all, all, []string{}))
	t.Logf("three processes clustered %v after the A records appeared (autocluster interval 500ms, as measured through ctl)", time.Since(t0).Round(time.Millisecond))

	for _, name := range all {
		code := procs[name].term(t)
		assert.Equal(t, exitOK, code, "%s exited with %d after SIGTERM; want %d", name, code, exitOK)
	}
	for _, name := range all {
		log := procs[name].log.String()
		assert.False(t, strings.Contains(log, "level=ERROR"), "%s logged an error:\n%s", name, log)
	}
}
