// Package etcdtest runs a real, single-member etcd server inside the test
// process (go.etcd.io/etcd/server/v3/embed) so that tests of the etcd
// discovery strategy need nothing installed. The server listens on free
// ports of 127.0.0.1, keeps its data in a temporary directory and logs
// nothing; it can be stopped and started again on the same ports and data,
// to test a node riding out an etcd outage.
//
//	srv := etcdtest.Start(t, etcdtest.Options{})
//	d, _ := etcd.New(etcd.Config{Servers: []string{srv.URL()}, ...})
//
// With Options.TLS the server speaks https only and requires a client
// certificate; the CA, client certificate and client key are written as PEM
// files whose paths the Server reports.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
)

// Options configure Start.
type Options struct {
	// TLS makes the client port https with client certificate
	// authentication (the peer port stays plain, on loopback).
	TLS bool
}

// Server is an embedded etcd server.
type Server struct {
	t       testing.TB
	opts    Options
	dir     string
	client  url.URL
	peer    url.URL
	certDir string

	mu sync.Mutex
	e  *embed.Etcd
}

// Start starts a server and stops it when the test ends. It fails the test
// if the server does not become ready within 30 seconds.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: opts, dir: filepath.Join(t.TempDir(), "etcd")}
	scheme := "http"
	if opts.TLS {
		scheme = "https"
		s.certDir = t.TempDir()
		if err := writeCerts(s.certDir); err != nil {
			t.Fatalf("etcdtest: writing test certificates: %v", err)
		}
	}
	ports := testnet.FreePorts(t, 2)
	s.client = url.URL{Scheme: scheme, Host: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	s.peer = url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// URL is the client URL, such as http://127.0.0.1:40123.
func (s *Server) URL() string { return s.client.String() }

// CAFile, CertFile and KeyFile are the PEM files of the CA that signed the
// server's certificate and of a client certificate and key it accepts
// (empty without Options.TLS).
func (s *Server) CAFile() string   { return s.file("ca.pem") }
func (s *Server) CertFile() string { return s.file("client.pem") }
func (s *Server) KeyFile() string  { return s.file("client-key.pem") }

func (s *Server) file(name string) string {
	if s.certDir == "" {
		return ""
	}
	return filepath.Join(s.certDir, name)
}

// Running reports whether the server is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.e != nil
}

// Stop stops the server, keeping its data; clients see it unreachable. It
// does nothing if the server is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	e := s.e
	s.e = nil
	s.mu.Unlock()
	if e == nil {
		return
	}
	e.Close()
	select {
	case <-e.Server.StopNotify():
	case <-time.After(30 * time.Second):
		s.t.Errorf("etcdtest: server on %s did not stop within 30s", s.URL())
	}
}

// Restart starts the server again on the same ports and data directory (or
// for the first time). The ports were free when Start chose them; if
// another process took one since, the test fails.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e != nil {
		return
	}
	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = s.dir
	cfg.ListenClientUrls = []url.URL{s.client}
	cfg.AdvertiseClientUrls = []url.URL{s.client}
	cfg.ListenPeerUrls = []url.URL{s.peer}
	cfg.AdvertisePeerUrls = []url.URL{s.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogLevel = "error"
	cfg.EnableGRPCGateway = false
	cfg.Metrics = "basic"
	// A single member elects itself at once; short ticks keep a restart quick.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	if s.opts.TLS {
		cfg.ClientTLSInfo.CertFile = s.file("server.pem")
		cfg.ClientTLSInfo.KeyFile = s.file("server-key.pem")
		cfg.ClientTLSInfo.TrustedCAFile = s.file("ca.pem")
		cfg.ClientTLSInfo.ClientCertAuth = true
	}
	var (
		e   *embed.Etcd
		err error
	)
	// Right after a Stop the kernel may not have released a port yet.
	for attempt := 0; ; attempt++ {
		e, err = embed.StartEtcd(cfg)
		if err == nil || attempt == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("etcdtest: starting etcd on %s (peer %s, data %s): %v", s.client.String(), s.peer.String(), s.dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		s.t.Fatalf("etcdtest: etcd on %s failed while starting: %v", s.URL(), err)
	case <-time.After(30 * time.Second):
		e.Close()
		s.t.Fatalf("etcdtest: etcd on %s not ready within 30s", s.URL())
	}
	s.e = e
}

// writeCerts writes a CA, a server and a client certificate for 127.0.0.1
// and localhost, both signed by the CA, with their keys.
func writeCerts(dir string) error {
	ca, err := testpki.NewCA("etcdtest CA")
	if err != nil {
		return err
	}
	for _, name := range []string{"server", "client"} {
		c, err := ca.Issue(testpki.Leaf{CommonName: "etcdtest " + name, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
		if err != nil {
			return err
		}
		if _, err := ca.WriteFiles(dir, name, c); err != nil {
			return err
		}
	}
	return nil
}
