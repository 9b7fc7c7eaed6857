package main

import (
	"fmt"
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/static"
)

func init() {
	registerDiscovery(config.DiscoveryStatic, func(s config.Settings, log *slog.Logger) (discovery.Strategy, error) {
		seeds := make([]string, len(s.Cluster.Static.Seeds))
		for i, seed := range s.Cluster.Static.Seeds {
			seeds[i] = seed.String()
		}
		st, err := static.New(seeds)
		if err != nil {
			return nil, fmt.Errorf("cluster.static.seeds: %w", err)
		}
		return st, nil
	})
}
