package locker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Lease is a holder's handle on a granted lock. The holder may act on the
// resource until Deadline, and should pass Token to the resource so that
// it can reject a stale holder. Lost is closed when the lease is lost:
// its deadline passed without a renewal, a renewal was refused by too many
// nodes, the locker closed, or its node was suspended (the locker gave up
// its locks). Release does not close Lost.
type Lease struct {
	l     *Locker
	key   heldKey
	nodes []string
	need  int
	lost  chan struct{}

	mu        sync.Mutex
	token     uint64
	lease     time.Duration
	autoRenew bool
	ctl       bool // taken for ctl, which does not renew: its end is not a loss
	deadline  time.Time
	retryAt   time.Time // after a failed automatic renewal: try again then
	timer     *time.Timer
	ended     bool
	err       error
}

// Resource is the locked resource.
func (ls *Lease) Resource() string { return ls.key.resource }

// Owner is the owner holding the lock.
func (ls *Lease) Owner() string { return ls.key.owner }

// Type is the lock type.
func (ls *Lease) Type() Type { return ls.key.typ }

// Nodes are the nodes asked when the lock was granted.
func (ls *Lease) Nodes() []string { return slices.Clone(ls.nodes) }

// Token is the grant's fencing token.
func (ls *Lease) Token() uint64 {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.token
}

// Deadline is when the lease ends unless renewed, on this node's clock. It
// is measured from before the request was sent, so it never lies after the
// end of the grant on a granting node (clocks ticking at the same rate).
func (ls *Lease) Deadline() time.Time {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.deadline
}

// Lost is closed when the lease is lost; Err then says why.
func (ls *Lease) Lost() <-chan struct{} { return ls.lost }

// Err is why the lease was lost (wrapping ErrLeaseLost or ErrClosed; given
// up at a suspension of the node, it wraps mesh.ErrSuspended too), or nil
// while it is held or after a Release.
func (ls *Lease) Err() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.err
}

// Renew extends the lease by lease from now (0: the lease it was granted
// with); see Locker.Renew.
func (ls *Lease) Renew(ctx context.Context, lease time.Duration) (Result, error) {
	if err := ls.l.suspendedError(fmt.Sprintf("renew %s lock on %q", ls.key.typ, ls.key.resource)); err != nil {
		return Result{}, err
	}
	if lease == 0 {
		ls.mu.Lock()
		lease = ls.lease
		ls.mu.Unlock()
	}
	if err := checkLease(lease); err != nil {
		return Result{}, fmt.Errorf("locker: %w", err)
	}
	return ls.renew(ctx, lease)
}

// Release releases the lock; see Locker.Release.
func (ls *Lease) Release(ctx context.Context) (Result, error) {
	return ls.l.Release(ctx, ls.key.resource, Options{Type: ls.key.typ, Owner: ls.key.owner})
}

func (ls *Lease) isEnded() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.ended
}

// end stops the lease's timer; a non-nil err reports it lost.
func (ls *Lease) end(err error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.ended {
		return
	}
	ls.ended = true
	if ls.timer != nil {
		ls.timer.Stop()
	}
	if err != nil {
		ls.err = err
		close(ls.lost)
	}
}

// lose forgets the lease in its locker and reports it lost.
func (ls *Lease) lose(err error) {
	ls.forget(err)
	ls.l.log.Warn("lease lost", "resource", ls.key.resource, "type", ls.key.typ.String(), "owner", ls.key.owner, "err", err)
}

// forget removes the lease from its locker and ends it with err.
func (ls *Lease) forget(err error) {
	l := ls.l
	l.mu.Lock()
	if l.held[ls.key] == ls {
		delete(l.held, ls.key)
	}
	l.mu.Unlock()
	ls.end(err)
}

// scheduleLocked sets the timer: at the deadline, or earlier for an
// automatic renewal.
func (ls *Lease) scheduleLocked() {
	if ls.ended {
		return
	}
	at := ls.deadline
	if ls.autoRenew {
		renewAt := ls.deadline.Add(-ls.lease / 3)
		if ls.retryAt.After(renewAt) {
			renewAt = ls.retryAt
		}
		if renewAt.Before(at) {
			at = renewAt
		}
	}
	d := time.Until(at)
	if ls.timer == nil {
		ls.timer = time.AfterFunc(d, ls.fire)
		return
	}
	ls.timer.Reset(d)
}

// fire runs on the lease's timer: the deadline passed (the lease is lost)
// or an automatic renewal is due.
func (ls *Lease) fire() {
	l := ls.l
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()

	ls.mu.Lock()
	if ls.ended {
		ls.mu.Unlock()
		return
	}
	now := time.Now()
	if !now.Before(ls.deadline) {
		deadline, token, byCtl := ls.deadline, ls.token, ls.ctl && !ls.autoRenew
		ls.mu.Unlock()
		err := fmt.Errorf("%w: %s lock on %q for owner %s ended at %s without renewal",
			ErrLeaseLost, ls.key.typ, ls.key.resource, ls.key.owner, deadline.Format(time.RFC3339Nano))
		if byCtl {
			// ctl cannot renew: the lease running out is how its lock
			// ends when nobody unlocks it, not a loss.
			ls.forget(err)
			l.log.Info("lease ended", "resource", ls.key.resource, "type", ls.key.typ.String(), "owner", ls.key.owner,
				"token", token, "why", "taken through ctl, which does not renew it; its lease ran out")
			return
		}
		ls.lose(err)
		return
	}
	if !ls.autoRenew {
		ls.scheduleLocked()
		ls.mu.Unlock()
		return
	}
	lease, deadline := ls.lease, ls.deadline
	ls.mu.Unlock()
	ctx, cancel := context.WithDeadline(l.ctx, deadline)
	res, _ := ls.renew(ctx, lease)
	cancel()
	if !res.OK {
		ls.mu.Lock()
		ls.retryAt = time.Now().Add(max(lease/10, time.Millisecond))
		ls.scheduleLocked()
		ls.mu.Unlock()
	}
}

// renew asks the granting nodes to extend the lease.
func (ls *Lease) renew(ctx context.Context, lease time.Duration) (Result, error) {
	k := ls.key
	ls.mu.Lock()
	if ls.ended {
		err := ls.err
		ls.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: %s lock on %q for owner %s was released", ErrNotHeld, k.typ, k.resource, k.owner)
		}
		return Result{}, err
	}
	ls.mu.Unlock()
	res := Result{Type: k.typ, Resource: k.resource, Owner: k.owner, Refused: map[string]string{}}
	start := time.Now()
	refused := 0
	for _, a := range ls.l.fanout(ctx, ls.nodes, mRenew, opRequest{Lease: lease, Resource: k.resource, Owner: k.owner}) {
		switch {
		case a.err == nil && (a.reply.Status == stGranted || a.reply.Status == stReentry):
			res.Granted = append(res.Granted, a.node)
		case a.err == nil:
			res.Refused[a.node] = refusal(a)
			refused++
		default:
			res.Refused[a.node] = refusal(a)
		}
	}
	slices.Sort(res.Granted)
	if len(res.Granted) >= ls.need {
		ls.mu.Lock()
		if ls.ended {
			err := ls.err
			ls.mu.Unlock()
			return res, err
		}
		if d := start.Add(lease); d.After(ls.deadline) {
			ls.deadline = d
		}
		ls.lease, ls.retryAt = lease, time.Time{}
		ls.scheduleLocked()
		res.OK, res.Token, res.Lease = true, ls.token, ls
		ls.mu.Unlock()
		return res, nil
	}
	if len(ls.nodes)-refused < ls.need {
		err := fmt.Errorf("%w: %s lock on %q for owner %s: renewal refused by %d of %d nodes (%v), want at most %d refusals",
			ErrLeaseLost, k.typ, k.resource, k.owner, refused, len(ls.nodes), res.Refused, len(ls.nodes)-ls.need)
		ls.lose(err)
		return res, err
	}
	return res, nil
}
