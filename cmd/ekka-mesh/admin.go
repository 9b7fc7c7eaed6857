package main

import (
	"context"
	"log/slog"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// startAdmin starts the admin endpoint of node.admin.* beside the node
// (nothing when node.admin.listen is empty). heal may be nil (autoheal
// off). stop shuts the endpoint down; it is never nil.
func startAdmin(s config.Settings, node *mesh.Node, lk *locker.Locker, heal *autoheal.Autoheal, log *slog.Logger) (stop func(context.Context) error, err error) {
	// TODO(admin): fill in.
	return func(context.Context) error { return nil }, nil
}
