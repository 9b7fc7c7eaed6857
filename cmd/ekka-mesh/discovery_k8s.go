package main

import (
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s"
)

func init() {
	registerDiscovery(config.DiscoveryK8s, func(s config.Settings, log *slog.Logger) (discovery.Strategy, error) {
		c := s.Cluster.K8s
		return k8s.New(k8s.Config{
			APIServer:          c.APIServer,
			ServiceName:        c.ServiceName,
			Namespace:          c.Namespace,
			AddressType:        k8s.AddressType(c.AddressType),
			AppName:            c.AppName,
			Suffix:             c.Suffix,
			TokenFile:          c.TokenFile,
			CACertFile:         c.CACertFile,
			NamespaceFile:      c.NamespaceFile,
			InsecureSkipVerify: c.InsecureSkipVerify,
			// The builder gets no logger: the strategy's warnings (token
			// file missing, fallback to Endpoints, skipped addresses) go to
			// stderr in the run command's format.
			Logger: log,
		})
	})
}
