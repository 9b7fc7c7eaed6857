package main

import (
	"fmt"
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/etcd"
)

func init() {
	registerDiscovery(config.DiscoveryEtcd, func(s config.Settings, log *slog.Logger) (discovery.Strategy, error) {
		c := s.Cluster.Etcd
		tc, err := etcd.LoadTLS(c.SSL.CertFile, c.SSL.KeyFile, c.SSL.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("cluster.etcd.ssl: %w", err)
		}
		// The client is created on first use and closed by Unregister, which
		// the node calls when it stops: a node that never starts leaves
		// nothing running.
		d, err := etcd.New(etcd.Config{
			Name:    s.Node.Name.String(),
			Cluster: s.Cluster.Name,
			Servers: c.Servers,
			Prefix:  c.Prefix,
			NodeTTL: c.NodeTTL,
			TLS:     tc,
			// etcd going away and coming back, and the registration renewed
			// after its lease was lost, are logged on stderr.
			Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster.etcd: %w", err)
		}
		return d, nil
	})
}
