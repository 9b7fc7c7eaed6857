package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// autocluster runs the discovery loop (after ekka_autocluster): lock,
// discover, link to every discovered node, register, unlock; retry every
// AutoclusterInterval until this node is linked to every discovered node
// and registered. Linking to one member merges member tables, so nodes that
// start at once end in one cluster whatever order they find each other in.
func (n *Node) autocluster() {
	defer n.wg.Done()
	registered := false
	for attempt := 1; ; attempt++ {
		done, why := n.autoclusterPass(&registered)
		if done {
			n.log.Info("autocluster: done", "passes", attempt, "result", why)
			return
		}
		n.log.Info("autocluster: will retry", "in", n.cfg.AutoclusterInterval, "why", why)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(n.cfg.AutoclusterInterval):
		}
	}
}

func (n *Node) autoclusterPass(registered *bool) (bool, string) {
	d := n.cfg.Discovery
	ctx, cancel := context.WithTimeout(n.ctx, max(n.cfg.AutoclusterInterval, 2*n.cfg.HandshakeTimeout))
	defer cancel()
	if err := d.Lock(ctx); err != nil && !errors.Is(err, ErrNotSupported) {
		return false, fmt.Sprintf("discovery lock failed: %v", err)
	}
	defer func() {
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		if err := d.Unlock(uctx); err != nil && !errors.Is(err, ErrNotSupported) {
			n.log.Warn("autocluster: discovery unlock failed", "err", err)
		}
	}()
	found, err := d.Discover(ctx)
	if err != nil {
		return false, fmt.Sprintf("discover failed: %v", err)
	}
	var others []string
	for _, node := range found {
		if node != n.cfg.Name && !slices.Contains(others, node) {
			others = append(others, node)
		}
	}
	slices.Sort(others)
	if len(found) == 0 {
		// Register anyway: with a registry (etcd, k8s...) the first node
		// finds nobody, and if it never registered no node would ever
		// find another.
		if err := n.register(ctx, registered); err != nil {
			return false, err.Error()
		}
		return false, "discovered no nodes"
	}
	n.log.Info("autocluster: discovered", "nodes", strings.Join(found, ","))
	var failed []string
	for _, node := range others {
		if _, err := n.linkTo(node); err == nil {
			continue
		}
		if err := n.dial(ctx, node); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", node, err))
			continue
		}
		n.log.Info("autocluster: joined", "node", node)
	}
	for _, node := range others {
		if _, err := n.linkTo(node); err != nil && !slices.ContainsFunc(failed, func(f string) bool { return strings.HasPrefix(f, node+" ") }) {
			failed = append(failed, fmt.Sprintf("%s (not linked yet)", node))
		}
	}
	if err := n.register(ctx, registered); err != nil {
		return false, err.Error()
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
	if err := n.cfg.Discovery.Register(ctx); err != nil && !errors.Is(err, ErrNotSupported) {
		return fmt.Errorf("register failed: %v", err)
	}
	*registered = true
	return nil
}
