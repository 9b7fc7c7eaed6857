package main

import (
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/singleton"
)

func init() {
	registerDiscovery(config.DiscoverySingleton, func(config.Settings, *slog.Logger) (discovery.Strategy, error) {
		return singleton.New(), nil
	})
}
