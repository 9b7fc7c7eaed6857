package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

// autocluster runs the discovery loop (after ekka_autocluster): lock,
// register, discover, link to every discovered node, unlock; retry every
// AutoclusterInterval until this node is linked to every discovered node
// and registered. Linking to one member merges member tables, so nodes that
// start at once end in one cluster whatever order they find each other in.
func (n *Node) autocluster() {
	defer n.wg.Done()
	var st autoclusterState
	for attempt := 1; ; attempt++ {
		done, why := n.autoclusterPass(&st)
		n.stats.discoveryPass(done, why)
		if done {
			n.log.Info("autocluster: done", "passes", attempt, "result", why)
			return
		}
		// The same reason pass after pass (a lone node, a seed that is
		// down for a while) is logged once at info, then at debug.
		level := slog.LevelInfo
		if why == st.lastWhy {
			level = slog.LevelDebug
		}
		st.lastWhy = why
		n.log.Log(n.ctx, level, "autocluster: will retry", "in", n.cfg.AutoclusterInterval, "why", why, "pass", attempt)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(n.cfg.AutoclusterInterval):
		}
	}
}

// autoclusterState is what the loop remembers between passes.
type autoclusterState struct {
	registered bool
	lastWhy    string // the last reason to retry, logged at info only when it changes
	lastFound  string // the last discovery result, likewise
}

// autoclusterPass is one pass: lock, register (once), discover, link to
// every discovered node, unlock. Registering before discovering means nodes
// that start together see each other on their first pass: a registry
// (etcd) lists the node, a multicast responder answers.
func (n *Node) autoclusterPass(st *autoclusterState) (bool, string) {
	d := n.cfg.Discovery
	ctx, cancel := context.WithTimeout(n.ctx, max(n.cfg.AutoclusterInterval, 2*n.cfg.HandshakeTimeout))
	defer cancel()
	if err := d.Lock(ctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
		return false, fmt.Sprintf("discovery lock failed: %v", err)
	}
	defer func() {
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		if err := d.Unlock(uctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
			n.log.Warn("autocluster: discovery unlock failed", "err", err)
		}
	}()
	if err := n.register(ctx, &st.registered); err != nil {
		return false, err.Error()
	}
	found, err := d.Discover(ctx)
	if err != nil {
		return false, fmt.Sprintf("discover failed: %v", err)
	}
	n.stats.discovered.Store(int64(len(found)))
	if len(found) == 0 {
		return false, "discovered no nodes"
	}
	if list := strings.Join(found, ","); list != st.lastFound {
		st.lastFound = list
		n.log.Info("autocluster: discovered", "nodes", list)
	}
	var others []string
	for _, node := range found {
		if node != n.cfg.Name && !slices.Contains(others, node) {
			others = append(others, node)
		}
	}
	slices.Sort(others)
	if len(others) == 0 {
		// Only this node: with DNS or Kubernetes the others may not be
		// published yet. Keep looking rather than settle as a cluster of
		// one that the others might never find.
		return false, "only this node was discovered"
	}
	var failed []string
	for _, node := range others {
		if _, err := n.linkTo(node); err == nil {
			continue
		}
		if err := n.dial(ctx, node); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", node, err))
			continue
		}
		n.log.Info("autocluster: joined", "member", node)
	}
	for _, node := range others {
		if _, err := n.linkTo(node); err != nil && !slices.ContainsFunc(failed, func(f string) bool { return strings.HasPrefix(f, node+" ") }) {
			failed = append(failed, fmt.Sprintf("%s (not linked yet)", node))
		}
	}
	if len(failed) > 0 {
		return false, "discovered nodes did not answer: " + strings.Join(failed, "; ")
	}
	return true, fmt.Sprintf("linked to all %d discovered nodes", len(others))
}

// register registers this node with discovery unless it already did.
func (n *Node) register(ctx context.Context, registered *bool) error {
	if *registered {
		return nil
	}
	if err := n.cfg.Discovery.Register(ctx); err != nil && !errors.Is(err, discovery.ErrNotSupported) {
		return fmt.Errorf("register failed: %v", err)
	}
	*registered = true
	return nil
}
