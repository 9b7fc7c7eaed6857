package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// Addr returns the address to dial node at: its host resolved through the
// same resolver Discover asks (cluster.dns.server when set), and the port
// the port rule gives for basePort. SRV records name nodes by host names
// that may exist only in that server; a node dials them through Addr
// (mesh.Config.Resolve). IPv4 addresses are preferred.
func (d *DNS) Addr(ctx context.Context, node string, basePort int) (string, error) {
	name, err := portmap.Parse(node)
	if err != nil {
		return "", fmt.Errorf("dns discovery: address of %s: %w", node, err)
	}
	port, err := portmap.Port(node, basePort)
	if err != nil {
		return "", fmt.Errorf("dns discovery: address of %s: %w", node, err)
	}
	if ip := name.HostIP(); ip != nil {
		return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
	}
	addrs, err := d.resolver.LookupNetIP(ctx, "ip", name.Host)
	if err != nil {
		return "", fmt.Errorf("dns discovery: address of %s: looking up %s from %s: %w", node, name.Host, d.source(), err)
	}
	best := netip.Addr{}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			best = a
			break
		}
		if !best.IsValid() {
			best = a
		}
	}
	if !best.IsValid() {
		return "", fmt.Errorf("dns discovery: address of %s: %s has no address in %s", node, name.Host, d.source())
	}
	return net.JoinHostPort(best.String(), strconv.Itoa(port)), nil
}
