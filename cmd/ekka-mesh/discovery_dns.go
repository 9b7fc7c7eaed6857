package main

import (
	"fmt"
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/dns"
)

func init() {
	registerDiscovery(config.DiscoveryDNS, func(s config.Settings, log *slog.Logger) (discovery.Strategy, error) {
		// An empty cluster.dns.app means this node's short name.
		d, err := dns.New(dns.Config{
			Name:   s.Node.Name.String(),
			Domain: s.Cluster.DNS.Name,
			App:    s.Cluster.DNS.App,
			Type:   dns.Type(s.Cluster.DNS.Type),
			Server: s.Cluster.DNS.Server,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster.dns.*: %w", err)
		}
		return d, nil
	})
}
