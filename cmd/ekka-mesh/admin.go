package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/ekka-mesh/ekka-mesh/admin"
	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// adminListenTimeout bounds resolving and binding node.admin.listen.
const adminListenTimeout = 10 * time.Second

// startAdmin starts the admin endpoint of node.admin.* beside the node
// (nothing when node.admin.listen is empty), serving HTTPS when tlsCfg (from
// adminTLS, which run calls before the node starts) is not nil. heal may be
// nil (autoheal off), and split (the strategy is autoheal). stop shuts the
// endpoint down; it is never nil.
func startAdmin(s config.Settings, tlsCfg *tls.Config, node *mesh.Node, lk *locker.Locker, heal *autoheal.Autoheal, split *splitbrain.Resolver, log *slog.Logger) (stop func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	a := s.Node.Admin
	if a.Listen == "" {
		return noop, nil
	}
	h := admin.Handler(admin.Options{
		Node:            node,
		Locker:          lk,
		Autoheal:        heal,
		SplitBrain:      split,
		ReadyMinMembers: a.ReadyMinMembers,
		Pprof:           a.Pprof,
		Logger:          log,
	})
	ctx, cancel := context.WithTimeout(context.Background(), adminListenTimeout)
	defer cancel()
	srv, err := admin.Listen(ctx, a.Listen, tlsCfg, h, log)
	if err != nil {
		return noop, fmt.Errorf("node.admin.listen = %s: %s", a.Listen, listenProblem(err))
	}
	attrs := []any{"url", srv.URL(), "pprof", a.Pprof, "ready_min_members", max(a.ReadyMinMembers, 1)}
	if tlsCfg != nil {
		attrs = append(attrs, "client_certificates", tlsCfg.ClientAuth == tls.RequireAndVerifyClientCert)
	}
	log.Info("admin endpoint listening", attrs...)
	return srv.Shutdown, nil
}

// adminTLS reads node.admin.tls.*: nil when no certificate is set.
func adminTLS(t config.AdminTLS) (*tls.Config, error) {
	switch {
	case t.CertFile == "" && t.KeyFile == "":
		if t.CACertFile != "" {
			return nil, errors.New("node.admin.tls.cacertfile is set but node.admin.tls.certfile and node.admin.tls.keyfile are not: client certificates need HTTPS; set both, or unset node.admin.tls.cacertfile")
		}
		return nil, nil
	case t.CertFile == "":
		return nil, errors.New("node.admin.tls.keyfile is set but node.admin.tls.certfile is not: set both for HTTPS, or neither")
	case t.KeyFile == "":
		return nil, errors.New("node.admin.tls.certfile is set but node.admin.tls.keyfile is not: set both for HTTPS, or neither")
	}
	cert, err := loadKeyPair("node.admin.tls", t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.CACertFile != "" {
		pool, err := loadCAPool("node.admin.tls", t.CACertFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// listenProblem says why listening failed, in words an operator acts on.
func listenProblem(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "port already in use (another process listens there; pick another port or stop it)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "address not available: no interface of this host has that IP address"
	case errors.Is(err, syscall.EACCES):
		return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
	case errors.As(err, &dnsErr):
		return "host " + dnsErr.Name + " does not resolve: " + dnsErr.Err
	}
	return err.Error()
}
