package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// Type is the record type that lists the nodes (cluster.dns.type).
type Type string

// The record types.
const (
	TypeA    Type = "a"    // IPv4 addresses: app@a.b.c.d
	TypeAAAA Type = "aaaa" // IPv6 addresses: app@fd00::1
	TypeSRV  Type = "srv"  // SRV targets: app@target (no trailing dot)
)

// Config configures the DNS strategy.
type Config struct {
	// Name is this node's name (short@host). Its short name is the App used
	// when App is empty; otherwise Name may be empty.
	Name string
	// Domain is the DNS name whose records list the nodes
	// (cluster.dns.name), such as emqx.example.com or
	// _emqx._tcp.example.com. A trailing dot makes it absolute (no search
	// domains).
	Domain string
	// App is the short name of every discovered node (cluster.dns.app):
	// an address a becomes App@a. Empty means the short name of Name.
	App string
	// Type is the record type to look up; empty means TypeA.
	Type Type
	// Server is the DNS server to ask, host:port (cluster.dns.server).
	// Empty means the system resolver.
	Server string
}

// ErrNoNodes is wrapped by the error Discover returns when the name does
// not exist (NXDOMAIN) or has no usable records of the configured type.
// The autocluster loop retries; records that appear later are found then.
var ErrNoNodes = errors.New("no nodes in DNS")

// DNS discovers the nodes listed by the records of one DNS name.
type DNS struct {
	domain   string
	app      string
	typ      Type
	server   string
	resolver *net.Resolver
}

var _ discovery.Strategy = (*DNS)(nil)

// New checks cfg and returns the strategy. It does no lookup: a name that
// does not resolve yet is not an error until Discover.
func New(cfg Config) (*DNS, error) {
	d := &DNS{domain: cfg.Domain, app: cfg.App, typ: cfg.Type, server: cfg.Server}
	if err := checkDomain(cfg.Domain); err != nil {
		return nil, fmt.Errorf("dns discovery: domain %q: %w", cfg.Domain, err)
	}
	switch d.typ {
	case "":
		d.typ = TypeA
	case TypeA, TypeAAAA, TypeSRV:
	default:
		return nil, fmt.Errorf("dns discovery: type %q: want one of a, aaaa, srv", cfg.Type)
	}
	if d.app == "" {
		if cfg.Name == "" {
			return nil, errors.New("dns discovery: app and this node's name are both empty: want the nodes' short name (app) or this node's name (short@host) to take it from")
		}
		self, err := portmap.Parse(cfg.Name)
		if err != nil {
			return nil, fmt.Errorf("dns discovery: app is empty and this node's name cannot supply it: %w", err)
		}
		d.app = self.Short
	} else if _, err := portmap.Parse(d.app + "@localhost"); err != nil {
		return nil, fmt.Errorf("dns discovery: app %q: want a short name of A-Z a-z 0-9 _ . - (%w)", d.app, err)
	}
	if d.server != "" {
		if err := checkServer(d.server); err != nil {
			return nil, fmt.Errorf("dns discovery: server %q: %w", d.server, err)
		}
	}
	d.resolver = newResolver(d.server)
	return d, nil
}

// newResolver returns the resolver Discover asks. With server set, Go's
// resolver (PreferGo) asks that server alone: it dials once per query
// attempt, with "udp", or "tcp" after a truncated answer, and the address
// of a server from /etc/resolv.conf, which is replaced by server. Without
// server, the system's configuration decides as for any lookup.
//
// Either way each connection closes as soon as the lookup's context ends:
// Go's resolver honours only deadlines on its connections, so without this
// a cancelled lookup would linger in a read until its own timeout.
func newResolver(server string) *net.Resolver {
	return &net.Resolver{
		PreferGo: server != "",
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if server != "" {
				addr = server
			}
			var dialer net.Dialer
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			stop := context.AfterFunc(ctx, func() { c.Close() })
			if u, ok := c.(*net.UDPConn); ok {
				// Go's resolver frames messages for a packet conn only.
				return &ctxUDPConn{UDPConn: u, stop: stop}, nil
			}
			return &ctxConn{Conn: c, stop: stop}, nil
		},
	}
}

// ctxConn is a resolver connection closed when its lookup's context ends.
type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// ctxUDPConn is ctxConn for UDP: it stays a net.PacketConn.
type ctxUDPConn struct {
	*net.UDPConn
	stop func() bool
}

func (c *ctxUDPConn) Close() error {
	c.stop()
	return c.UDPConn.Close()
}

// checkDomain accepts a DNS name: labels of 1 to 63 letters, digits, '-'
// and '_' (SRV names such as _emqx._tcp.example.com have underscores),
// at most 253 characters, an optional trailing dot, not an IP address.
func checkDomain(domain string) error {
	name := strings.TrimSuffix(domain, ".")
	if name == "" {
		return errors.New("empty; want a DNS name such as emqx.example.com")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return errors.New("an IP address; want a DNS name such as emqx.example.com")
	}
	if len(name) > 253 {
		return fmt.Errorf("%d characters long; want at most 253", len(name))
	}
	for i, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("label %d is %d characters long; want 1 to 63", i+1, len(label))
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("label %q contains %q; want letters, digits, '-' and '_'", label, r)
			}
		}
	}
	return nil
}

// checkServer accepts host:port with a numeric port in 1..65535.
func checkServer(server string) error {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return fmt.Errorf("want host:port, such as 10.0.0.53:53 or [fd00::53]:53 (%w)", err)
	}
	if host == "" {
		return errors.New("empty host; want host:port, such as 10.0.0.53:53")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q: want a number in 1..65535", port)
	}
	return nil
}

// Domain returns the DNS name looked up.
func (d *DNS) Domain() string { return d.domain }

// App returns the short name given to discovered nodes.
func (d *DNS) App() string { return d.app }

// Type returns the record type looked up.
func (d *DNS) Type() Type { return d.typ }

// Discover looks the records up and returns one node name per address or
// SRV target, sorted, without duplicates. A name that does not exist or
// has no records of the type is an error wrapping ErrNoNodes; a lookup
// that fails (server unreachable, timeout, bad answer) is an error naming
// the domain, the type and the server; ctx bounds the whole lookup.
// Records that make no valid node name (an SRV target of "." or one with
// characters a host name cannot have) are skipped; if nothing valid
// remains, that is an ErrNoNodes error listing what was skipped.
func (d *DNS) Discover(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dns discovery: %w", err)
	}
	var hosts []string
	var err error
	switch d.typ {
	case TypeSRV:
		hosts, err = d.lookupSRV(ctx)
	default:
		hosts, err = d.lookupAddrs(ctx)
	}
	if err != nil {
		return nil, err
	}
	var names, skipped []string
	for _, host := range hosts {
		name, err := portmap.Parse(d.app + "@" + host)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%q", host))
			continue
		}
		s := name.String()
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		what := "none"
		if len(skipped) > 0 {
			what = "none valid; skipped " + strings.Join(skipped, ", ")
		}
		return nil, fmt.Errorf("dns discovery: %s records of %s from %s: %s: %w", d.typeName(), d.domain, d.source(), what, ErrNoNodes)
	}
	slices.Sort(names)
	return names, nil
}

// lookupAddrs returns the A or AAAA addresses of the domain, as hosts.
func (d *DNS) lookupAddrs(ctx context.Context) ([]string, error) {
	network := "ip4"
	if d.typ == TypeAAAA {
		network = "ip6"
	}
	addrs, err := d.resolver.LookupNetIP(ctx, network, d.domain)
	if err != nil {
		return nil, d.lookupError(ctx, err)
	}
	hosts := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if d.typ == TypeA {
			a = a.Unmap()
		}
		if !a.IsValid() || (d.typ == TypeA) != a.Is4() || a.Zone() != "" {
			continue
		}
		hosts = append(hosts, a.String())
	}
	return hosts, nil
}

// lookupSRV returns the SRV targets of the domain without their trailing
// dot. Go's resolver drops targets that are not valid domain names and
// says so with an error beside the remaining records; those are used.
func (d *DNS) lookupSRV(ctx context.Context) ([]string, error) {
	_, srvs, err := d.resolver.LookupSRV(ctx, "", "", d.domain)
	if err != nil && len(srvs) == 0 {
		return nil, d.lookupError(ctx, err)
	}
	hosts := make([]string, 0, len(srvs))
	for _, srv := range srvs {
		hosts = append(hosts, strings.TrimSuffix(srv.Target, "."))
	}
	return hosts, nil
}

// lookupError words a failed lookup: not found wraps ErrNoNodes, an ended
// ctx wraps ctx.Err(), anything else keeps the resolver's error.
func (d *DNS) lookupError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("dns discovery: looking up %s records of %s from %s: %w (%v)", d.typeName(), d.domain, d.source(), cerr, err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return fmt.Errorf("dns discovery: %s records of %s from %s: none (the name does not exist or has no such records): %w", d.typeName(), d.domain, d.source(), ErrNoNodes)
	}
	return fmt.Errorf("dns discovery: looking up %s records of %s from %s: %w", d.typeName(), d.domain, d.source(), err)
}

func (d *DNS) typeName() string { return strings.ToUpper(string(d.typ)) }

func (d *DNS) source() string {
	if d.server == "" {
		return "the system resolver"
	}
	return "server " + d.server
}

// Lock is not supported: DNS has nothing to lock.
func (d *DNS) Lock(context.Context) error { return discovery.NotSupported("dns", "lock") }

// Unlock is not supported.
func (d *DNS) Unlock(context.Context) error { return discovery.NotSupported("dns", "unlock") }

// Register is not supported: the records are maintained outside the node.
func (d *DNS) Register(context.Context) error { return discovery.NotSupported("dns", "register") }

// Unregister is not supported.
func (d *DNS) Unregister(context.Context) error { return discovery.NotSupported("dns", "unregister") }
