package main

import (
	"fmt"
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/mcast"
)

func init() {
	registerDiscovery(config.DiscoveryMcast, func(s config.Settings, log *slog.Logger) (discovery.Strategy, error) {
		m := s.Cluster.Mcast
		d, err := mcast.New(mcast.Config{
			Name:    s.Node.Name.String(),
			Cluster: s.Cluster.Name,
			Cookie:  s.Node.Cookie,
			// A rotation in progress; later ones reach the strategy
			// through mesh.Node.SetCookie (it is a discovery.Keyed).
			CookiePrevious: s.Node.CookiePrevious,
			Addr:           m.Addr,
			Ports:          m.Ports,
			Iface:          m.Iface,
			TTL:            m.TTL,
			Loop:           m.Loop,
			Window:         m.Window,
			// cluster.mcast.sndbuf and recbuf; 0 leaves the system's default.
			SendBuffer: int(m.SndBuf),
			RecvBuffer: int(m.RecBuf),
			// Dropped packets (forgeries, other clusters, replays) are
			// warned about on stderr, at most once a minute per kind.
			Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster.mcast: %w", err)
		}
		return d, nil
	})
}
