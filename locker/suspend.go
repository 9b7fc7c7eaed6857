package locker

import (
	"context"
	"fmt"
	"sync"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// A locker whose node is suspended (mesh.Node.Suspend: its side lost a
// split-brain decision, package splitbrain) takes no locks and grants none
// until the node resumes:
//
//   - at the node's EventSuspended it gives up every lock it holds: each
//     Lease is lost at once (Lost is closed, Err wraps ErrLeaseLost and
//     mesh.ErrSuspended, automatic renewals stop), then the lock is
//     released on the nodes that granted it, best effort, within
//     Config.CallTimeout;
//   - Acquire and Renew fail at once with an error that wraps
//     mesh.ErrSuspended and names the node and why it is suspended;
//   - its table refuses every acquire, renew and fence, from this node or
//     another, with such an error (the asker sees mesh.ErrSuspended, the
//     wire's CodeSuspended); releases are still served, so that a release
//     always frees.
//
// After mesh.Node.Resume everything works again.

// watch gives up the locker's locks whenever its node suspends itself. It
// returns at Close, or when the node stops (its subscription closes).
func (l *Locker) watch(sub *mesh.Subscription) {
	defer l.wg.Done()
	defer sub.Close()
	for {
		select {
		case <-l.ctx.Done():
			return
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			switch ev.Kind {
			case mesh.EventSuspended:
				l.giveUp(ev.Reason)
			case mesh.EventResumed:
				l.log.Info("node resumed: taking and granting locks again", "reason", ev.Reason)
			}
		}
	}
}

// giveUp ends every lease the locker holds, reporting it lost, and then
// releases the locks on the nodes that granted them, waiting at most
// Config.CallTimeout: a node on the other side of a split does not answer,
// and its grant ends with its lease. Until the releases are done, Acquire
// waits (settled), so that a late release cannot free a lock taken again
// after a quick Resume.
func (l *Locker) giveUp(reason string) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	leases := make([]*Lease, 0, len(l.held))
	for k, ls := range l.held {
		leases = append(leases, ls)
		delete(l.held, k)
	}
	done := make(chan struct{})
	l.givingUp = done
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.givingUp == done {
			l.givingUp = nil
		}
		l.mu.Unlock()
		close(done)
	}()
	l.log.Warn("node suspended: giving up every lock this locker holds, granting none until it resumes",
		"reason", reason, "locks", len(leases))
	for _, ls := range leases {
		k := ls.key
		ls.end(fmt.Errorf("%w: %s lock on %q for owner %s given up: %s is suspended (%s): %w",
			ErrLeaseLost, k.typ, k.resource, k.owner, l.node.Name(), reason, mesh.ErrSuspended))
	}
	l.stats.givenUp.Add(uint64(len(leases)))
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.CallTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, ls := range leases {
		wg.Go(func() {
			req := opRequest{Resource: ls.key.resource, Owner: ls.key.owner}
			for _, a := range l.fanout(ctx, ls.nodes, mRelease, req) {
				if a.err != nil {
					l.log.Debug("lock given up but not released: its grant ends with its lease",
						"resource", ls.key.resource, "owner", ls.key.owner, "node", a.node, "err", a.err)
				}
			}
		})
	}
	wg.Wait()
}

// settled waits until the releases of the last give-up are done, or ctx
// ends.
func (l *Locker) settled(ctx context.Context) error {
	l.mu.Lock()
	done := l.givingUp
	l.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("locker: waiting for the locks given up at the last suspension to be released: %w", context.Cause(ctx))
	}
}

// suspendedError is the error of what (an Acquire or Renew) on a suspended
// node, or nil when the node serves.
func (l *Locker) suspendedError(what string) error {
	reason, ok := l.node.Suspended()
	if !ok {
		return nil
	}
	return fmt.Errorf("locker: %s: %s is suspended and takes no locks until it resumes (%s): %w",
		what, l.node.Name(), reason, mesh.ErrSuspended)
}

// tableSuspendedError is the error this node's table answers a request
// other than a release with while the node is suspended, or nil.
func (l *Locker) tableSuspendedError() error {
	reason, ok := l.node.Suspended()
	if !ok {
		return nil
	}
	l.stats.suspendedRefused.Add(1)
	return fmt.Errorf("%s is suspended and its lock table grants nothing until it resumes (%s): %w",
		l.node.Name(), reason, mesh.ErrSuspended)
}
