package mesh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// resolveTimeout bounds Start's check that the node's host resolves.
const resolveTimeout = 5 * time.Second

// lookupHost resolves a host name (a variable for tests).
var lookupHost = net.DefaultResolver.LookupHost

// checkHostResolves refuses a node named with a host this machine cannot
// resolve: other nodes dial a node by its name, and such a node would run
// unreachable (listening on every address) instead of failing. An IP
// address needs no lookup; with Config.Resolve the application maps names
// itself and nothing is checked. The lookup ends with ctx and after
// resolveTimeout.
func checkHostResolves(ctx context.Context, cfg *Config) error {
	if cfg.Resolve != nil {
		return nil
	}
	name, err := portmap.Parse(cfg.Name)
	if err != nil || name.HostIP() != nil {
		return nil // Validate reports a bad name; an IP address is fine
	}
	lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := lookupHost(lctx, name.Host)
	if err == nil && len(addrs) > 0 {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("mesh: node %s: start abandoned while resolving its host %q: %w", cfg.Name, name.Host, context.Cause(ctx))
	}
	why := "no address"
	switch {
	case errors.Is(lctx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("no answer within %v", resolveTimeout)
	case err != nil:
		why = err.Error()
	}
	return fmt.Errorf("mesh: node name %s (node.name): its host %q does not resolve on this machine (%s); want an IP address or a host name this machine resolves, as other nodes dial the node by its name",
		cfg.Name, name.Host, why)
}
