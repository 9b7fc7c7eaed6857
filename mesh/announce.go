package mesh

// What this node tells its members about itself (its status, version and
// services) and records of what they tell about themselves.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// setSelfStatus records and announces this node's own status.
func (n *Node) setSelfStatus(s Status) {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	n.table.setStatus(n.cfg.Name, s, time.Now())
	// Duplicate links still draining hear it too (linkSet.members).
	links := n.linkset.members()
	n.mu.Unlock()
	tellAll(n.ctx, links, wire.TypeMemberStatus, n.statusMessage(s))
}

// statusMessage is the body announcing this node's own status s.
func (n *Node) statusMessage(s Status) []byte {
	m := wire.MemberStatus{Node: []byte(n.cfg.Name), GUID: n.guid, Status: wire.Status(s)}
	return m.Append(nil)
}

// announceStatusTo tells a newly adopted link this node's own status when it
// is healing or leaving: the peer records the node up when the link comes
// up, and must not keep seeing it so while it heals. Joining is not told:
// Join links to the members while it runs and announces up at its end, so
// a member would only see a moment of joining before up.
func (n *Node) announceStatusTo(lk *link) {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	self, _ := n.table.get(n.cfg.Name)
	n.mu.Unlock()
	if self.Status != StatusHealing && self.Status != StatusLeaving {
		return
	}
	lk.c.Send(lk.ctx, wire.TypeMemberStatus, 0, n.statusMessage(self.Status), nil)
}

// tellAll sends one control message on each link. It gives up only when
// ctx ends: a link whose send fails is going down and has nothing more to
// learn.
func tellAll(ctx context.Context, links []*link, t wire.Type, body []byte) error {
	for _, lk := range links {
		if err := lk.c.Send(ctx, t, 0, body, nil); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// AddService advertises that this node runs service (such as "autoheal",
// which autoheal adds when attached): every member shows it in
// MemberInfo.Services of this node, and members that link later are told
// too. A name is 1 to MaxServiceLen bytes of A-Z a-z 0-9 _ . -; a node
// advertises at most MaxServices. Adding a service already advertised does
// nothing.
func (n *Node) AddService(service string) error {
	if err := checkServiceName(service); err != nil {
		return fmt.Errorf("mesh: AddService: %w", err)
	}
	return n.changeServices(func(cur []string) ([]string, error) {
		if slices.Contains(cur, service) {
			return cur, nil
		}
		if len(cur) >= MaxServices {
			return nil, fmt.Errorf("mesh: AddService(%q): this node already advertises %d services, the most it may", service, MaxServices)
		}
		out := append(slices.Clone(cur), service)
		slices.Sort(out)
		return out, nil
	})
}

// RemoveService stops advertising service; removing one not advertised
// does nothing.
func (n *Node) RemoveService(service string) error {
	return n.changeServices(func(cur []string) ([]string, error) {
		return slices.DeleteFunc(slices.Clone(cur), func(s string) bool { return s == service }), nil
	})
}

// changeSelf changes what this node announces about itself (its services,
// tags or suspension): on a running node (else ErrStopped) it runs change
// under n.mu, and when change returns a body (nil: nothing changed), tells
// every member that body as a message of type t, with ctx, once n.mu is
// released. statusMu is held throughout, so that announcements reach each
// link in order (announceSelfTo holds it too). err is change's error;
// tellErr is the announcement's, which tellAll returns only when ctx ended.
func (n *Node) changeSelf(ctx context.Context, t wire.Type, change func() ([]byte, error)) (tellErr, err error) {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil, ErrStopped
	}
	body, err := change()
	if err != nil || body == nil {
		n.mu.Unlock()
		return nil, err
	}
	links := n.linkset.members()
	n.mu.Unlock()
	return tellAll(ctx, links, t, body), nil
}

// changeServices applies f to this node's services and announces the new
// set to every member when it changed.
func (n *Node) changeServices(f func([]string) ([]string, error)) error {
	_, err := n.changeSelf(n.ctx, wire.TypeMemberServices, func() ([]byte, error) {
		next, err := f(n.services)
		if err != nil || slices.Equal(next, n.services) {
			return nil, err
		}
		n.services = next
		n.announced = true
		n.table.setServices(n.cfg.Name, n.guid, next)
		return n.servicesMessageLocked(), nil
	})
	return err
}

// servicesMessageLocked is the body announcing this node's services.
func (n *Node) servicesMessageLocked() []byte {
	m := wire.MemberServices{Node: []byte(n.cfg.Name), GUID: n.guid, Services: make([][]byte, len(n.services))}
	for i, s := range n.services {
		m.Services[i] = []byte(s)
	}
	return m.Append(nil)
}

// announceServicesTo tells a newly adopted link this node's version, when
// it has one, and its services, once it has advertised any. The version
// travels on a message of its own (MemberVersion, optional) so that a node
// that predates it skips it.
func (n *Node) announceServicesTo(lk *link) {
	if n.cfg.Version != "" {
		v := wire.MemberVersion{Node: []byte(n.cfg.Name), GUID: n.guid, Version: []byte(n.cfg.Version)}
		lk.c.Send(lk.ctx, wire.TypeMemberVersion, 0, v.Append(nil), nil)
	}
	n.announceSelfTo(lk, wire.TypeMemberServices, func() []byte {
		if !n.announced {
			return nil
		}
		return n.servicesMessageLocked()
	})
}

// announceSelfTo sends lk a message of type t about this node, whose body
// bodyLocked makes under n.mu (nil: nothing to tell). It holds statusMu
// too, so that a newer set announced to every member meanwhile cannot
// reach lk before this one.
func (n *Node) announceSelfTo(lk *link, t wire.Type, bodyLocked func() []byte) {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	body := bodyLocked()
	n.mu.Unlock()
	if body != nil {
		lk.c.Send(lk.ctx, t, 0, body, nil)
	}
}

// memberServices records the services a member announced over its own link.
func (n *Node) memberServices(lk *link, m *wire.MemberServices) {
	services, err := parseServices(m.Services)
	if err != nil {
		n.log.Debug("ignored a bad service list from a member", "peer", lk.peer, "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.table.setServices(lk.peer, lk.guid, services)
}

// memberVersion records the version a member announced over its own link.
func (n *Node) memberVersion(lk *link, m *wire.MemberVersion) {
	version := string(m.Version)
	if err := checkVersion(version); err != nil {
		n.log.Debug("ignored a bad version from a member", "peer", lk.peer, "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.table.setVersion(lk.peer, lk.guid, version)
}
