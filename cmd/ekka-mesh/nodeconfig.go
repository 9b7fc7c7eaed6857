package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// meshConfig maps a node's settings to the mesh.Config it starts with. The
// cookie must be resolved already (config.ResolveCookie). Every error names
// the key concerned, its value and what was expected.
func meshConfig(s config.Settings) (mesh.Config, error) {
	return meshConfigLog(s, slog.New(slog.DiscardHandler))
}

// meshConfigLog is meshConfig with the logger the discovery strategy logs
// to (its outages, dropped packets...).
func meshConfigLog(s config.Settings, log *slog.Logger) (mesh.Config, error) {
	cfg := mesh.DefaultConfig()
	cfg.Name = s.Node.Name.String()
	cfg.Cookie = s.Node.Cookie
	cfg.CookiePrevious = s.Node.CookiePrevious
	cfg.Cluster = s.Cluster.Name
	cfg.BasePort = s.Node.BasePort
	cfg.Version = nodeVersion() // shown by ctl status on every member
	cfg.Tags = s.Node.Tags      // node.tags.*, checked by cfg.Validate
	if s.Node.Bind.IsValid() {
		cfg.Bind = s.Node.Bind.String()
	}
	cfg.HeartbeatInterval = s.Node.HeartbeatInterval
	cfg.HeartbeatTimeout = s.Node.HeartbeatTimeout
	comp, err := mesh.ParseCompression(string(s.Node.Compression))
	if err != nil {
		return mesh.Config{}, fmt.Errorf("node.compression: %w", err)
	}
	cfg.Compression = comp
	cfg.Autoclean = s.Cluster.Autoclean
	cfg.AutoclusterInterval = s.Cluster.AutoclusterInterval
	cfg.Hooks = meshHooks(s.Node.Hooks, log) // node.hooks.* (hookcmd.go)
	applyLimits(&cfg, s)

	tc, err := tlsConfig(s.Node.TLS)
	if err != nil {
		return mesh.Config{}, err
	}
	cfg.TLS = tc

	d, err := newDiscovery(s, log)
	if err != nil {
		return mesh.Config{}, err
	}
	cfg.Discovery = d
	if a, ok := d.(addresser); ok {
		// Names the strategy found may be host names only its own server
		// knows (DNS SRV targets with cluster.dns.server): dial through it.
		base := cfg.BasePort
		cfg.Resolve = func(node string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return a.Addr(ctx, node, base)
		}
	}

	if err := cfg.Validate(); err != nil {
		return mesh.Config{}, err
	}
	return cfg, nil
}

// applyLimits maps node.limits.* and the cluster's membership bounds to
// cfg. config.Defaults holds the same numbers as mesh's defaults (a test
// checks it), so a node started without these keys gets mesh's defaults.
// The ranges config accepts fit mesh's int fields on any platform.
func applyLimits(cfg *mesh.Config, s config.Settings) {
	l := s.Node.Limits
	cfg.MaxMessage = int(l.MaxMessage)
	cfg.LaneBudget = int(l.LaneBudget)
	cfg.StallTimeout = l.StallTimeout
	cfg.MinDrainRate = int(l.MinDrainRate)
	cfg.MaxReassemblyPerLink = l.ReassemblyPerLink
	cfg.MaxReassemblyPerNode = l.ReassemblyPerNode
	cfg.ChunkTimeout = l.ChunkTimeout
	cfg.MaxServingCalls = l.ServingCalls
	cfg.MaxServingBytes = l.ServingBytes
	cfg.MaxCastQueue = l.CastQueue
	cfg.MaxCastQueueBytes = l.CastQueueBytes
	cfg.MaxHandshakes = l.Handshakes
	cfg.MaxHandshakesPerAddr = l.HandshakesPerAddr
	cfg.MaxListenerConns = l.ListenerConns // 0: auto, from the descriptor limit
	cfg.MaxIncompleteLinksPerPeer = l.IncompleteLinksPerPeer
	cfg.FirstByteTimeout = l.FirstByteTimeout
	cfg.RefusalLogInterval = l.RefusalLogInterval

	c := s.Cluster
	cfg.MaxMembers = c.MaxMembers
	cfg.LearnRate = c.LearnRate
	cfg.LearnBurst = c.LearnBurst
	cfg.ForgetUnreached = c.ForgetUnreached
	if c.ForgetUnreached == 0 { // off
		cfg.ForgetUnreached = -1
	}
	cfg.RedialRate = c.RedialRate
}

// autohealConfig maps cluster.autoheal to autoheal's Config: on reports
// whether autoheal runs (cluster.autoheal is not off), and the delay is its
// value; its hooks are the commands of node.hooks.prepare and reboot.
func autohealConfig(s config.Settings, log *slog.Logger) (cfg autoheal.Config, on bool) {
	if s.Cluster.Autoheal <= 0 {
		return autoheal.Config{}, false
	}
	return autoheal.Config{Delay: s.Cluster.Autoheal, Logger: log, Hooks: autohealHooks(s.Node.Hooks, s.Node.Name.String(), log)}, true
}

// addresser is a strategy that also says where to dial the nodes it names.
type addresser interface {
	Addr(ctx context.Context, node string, basePort int) (string, error)
}

// discoveryBuilder builds the strategy for one value of cluster.discovery
// from the node's settings (its name, cookie and cluster are there too).
type discoveryBuilder func(s config.Settings, log *slog.Logger) (discovery.Strategy, error)

// discoveryBuilders holds a builder per strategy; each strategy's file
// registers itself (discovery_<kind>.go), so that adding one touches no
// other file.
var discoveryBuilders = map[config.Discovery]discoveryBuilder{}

func registerDiscovery(kind config.Discovery, b discoveryBuilder) {
	if _, dup := discoveryBuilders[kind]; dup {
		panic("ekka-mesh: discovery " + string(kind) + " registered twice")
	}
	discoveryBuilders[kind] = b
}

// newDiscovery returns the strategy cluster.discovery names; nil for manual.
func newDiscovery(s config.Settings, log *slog.Logger) (discovery.Strategy, error) {
	kind := s.Cluster.Discovery
	if kind == config.DiscoveryManual || kind == "" {
		return nil, nil
	}
	if b, ok := discoveryBuilders[kind]; ok {
		return b(s, log.With("discovery", string(kind)))
	}
	return nil, fmt.Errorf("cluster.discovery = %s: want one of manual, static, mcast, dns, etcd, k8s, singleton", kind)
}

// tlsConfig builds the TLS configuration of node.tls.*, used both to accept
// (server side) and to dial (client side); nil when TLS is off.
//
//   - verify_peer: a peer's certificate must chain to node.tls.cacertfile
//     (the system roots when it is empty), whether the peer is the server or
//     the client; a dialed node's certificate must name its host.
//   - verify_none: any certificate is accepted.
//   - node.tls.fail_if_no_peer_cert: a dialing peer without a certificate is
//     refused (mutual TLS); otherwise a certificate is asked for but optional.
func tlsConfig(t config.TLSSettings) (*tls.Config, error) {
	if !t.Enable {
		return nil, nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("node.tls.enable = on: want node.tls.certfile and node.tls.keyfile set to PEM files")
	}
	cert, err := loadKeyPair("node.tls", t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool // nil: the system roots
	if t.CACertFile != "" {
		if pool, err = loadCAPool("node.tls", t.CACertFile); err != nil {
			return nil, err
		}
	}
	switch t.Verify {
	case config.VerifyNone:
		tc.InsecureSkipVerify = true
		tc.ClientAuth = tls.RequestClientCert
		if t.FailIfNoPeerCert {
			tc.ClientAuth = tls.RequireAnyClientCert
		}
	case config.VerifyPeer, "":
		tc.RootCAs = pool
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if t.FailIfNoPeerCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	default:
		return nil, fmt.Errorf("node.tls.verify = %s: want verify_peer or verify_none", t.Verify)
	}
	return tc, nil
}
