package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/dns"
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

// dnsZone is a DNS server on 127.0.0.1, UDP and TCP on one free port,
// answering A records from a map the test changes while it runs; names
// without records get NXDOMAIN.
type dnsZone struct {
	addr string
	mu   sync.Mutex
	a    map[string][]string // lowercase absolute name -> IPv4 addresses
}

func startDNSZone(t *testing.T) *dnsZone {
	t.Helper()
	z := &dnsZone{a: map[string][]string{}}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		require.Less(t, attempt, 50, "no port free for both UDP and TCP: %v", err)
	}
	z.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	done := make(chan struct{}, 2)
	servers := []*mdns.Server{
		{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { started <- struct{}{} }},
		{Listener: ln, Handler: z, NotifyStartedFunc: func() { started <- struct{}{} }},
	}
	for _, srv := range servers {
		go func() {
			defer func() { done <- struct{}{} }()
			srv.ActivateAndServe()
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("test DNS server did not start within 10s")
		}
	}
	t.Cleanup(func() {
		for _, srv := range servers {
			srv.Shutdown()
		}
		<-done
		<-done
	})
	return z
}

// setA publishes the A records of name (absolute, with the trailing dot).
func (z *dnsZone) setA(name string, ips ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.a[strings.ToLower(name)] = ips
}

func (z *dnsZone) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if len(req.Question) != 1 {
		resp.Rcode = mdns.RcodeFormatError
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	z.mu.Lock()
	ips, ok := z.a[strings.ToLower(q.Name)]
	z.mu.Unlock()
	switch {
	case !ok:
		resp.Rcode = mdns.RcodeNameError
	case q.Qtype == mdns.TypeA:
		for _, ip := range ips {
			resp.Answer = append(resp.Answer, &mdns.A{
				Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET},
				A:   net.ParseIP(ip),
			})
		}
	}
	w.WriteMsg(resp)
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
	zone := startDNSZone(t)
	h := &clusterHarness{
		t:      t,
		ctx:    t.Context(),
		bin:    buildBinary(t),
		base:   freeBase(t, all...),
		cookie: "dns-cluster-test-cookie",
		env:    []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")},
	}
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
`, name, h.cookie, h.base, zone.addr)), 0o600))
		procs[name] = h.startFromFile(t, name, conf)
	}

	const deadline = 30 * time.Second
	for _, name := range all {
		waitFor(t, deadline, name+" running alone while DNS has no records", h.view(t, []string{name}, []string{name}, []string{name}, []string{}))
	}
	for _, name := range all {
		waitFor(t, deadline, name+" logging why it retries", func() string {
			log := procs[name].log.String()
			if !strings.Contains(log, "records of nodes.dnscl.test from server "+zone.addr+": none") || !strings.Contains(log, "no nodes in DNS") {
				return "no retry line naming the missing records in:\n" + log
			}
			return ""
		})
	}

	var ips []string
	for _, name := range all {
		ips = append(ips, strings.TrimPrefix(name, "n@"))
	}
	zone.setA("nodes.dnscl.test.", ips...)
	t0 := time.Now()
	waitFor(t, deadline, "every node running all three", h.view(t, all, all, all, []string{}))
	t.Logf("three processes clustered %v after the A records appeared (autocluster interval 500ms, as measured through ctl)", time.Since(t0).Round(time.Millisecond))

	for _, name := range all {
		if code := procs[name].term(t); code != exitOK {
			t.Errorf("%s exited with %d after SIGTERM; want %d", name, code, exitOK)
		}
	}
	for _, name := range all {
		if log := procs[name].log.String(); strings.Contains(log, "level=ERROR") {
			t.Errorf("%s logged an error:\n%s", name, log)
		}
	}
}
