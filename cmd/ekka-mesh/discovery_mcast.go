package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/mcast"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

func init() {
	registerDiscovery(config.DiscoveryMcast, func(s config.Settings) (mesh.Discovery, error) {
		m := s.Cluster.Mcast
		d, err := mcast.New(mcast.Config{
			Name:    s.Node.Name.String(),
			Cluster: s.Cluster.Name,
			Cookie:  s.Node.Cookie,
			Addr:    m.Addr,
			Ports:   m.Ports,
			Iface:   m.Iface,
			TTL:     m.TTL,
			Loop:    m.Loop,
			Window:  m.Window,
			// Dropped packets (forgeries, other clusters, replays) are
			// warned about on stderr, at most once a minute per kind.
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			return nil, fmt.Errorf("cluster.mcast: %w", err)
		}
		return d, nil
	})
}
