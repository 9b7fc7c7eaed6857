package singleton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/locker"
)

// Func is the singleton's work. It runs while its node holds the lock; ctx
// is cancelled when the lock is lost, about to be lost, or Run is stopped,
// and token is the grant's fencing token, to pass to every resource the
// function changes.
type Func func(ctx context.Context, token uint64) error

// Config tunes Run. The zero value is valid.
type Config struct {
	// Lease is the lock's lease, renewed every Lease/2 while the function
	// runs; it bounds the restart after a crash. It is the lease of this
	// singleton's lock whatever the locker's Config.Lease. Default
	// locker.DefaultLease.
	Lease time.Duration
	// Margin is how long before the lease's deadline the function's ctx is
	// cancelled when renewals fail: the time the function has to stop
	// before another node may be granted the lock. Default Lease/4; it must
	// be below Lease/2.
	Margin time.Duration
	// Retry is how often a Run that does not hold the lock tries to take
	// it (at random between Retry/2 and 3 Retry/2 after the last attempt),
	// and how soon a failed renewal is retried. Default Lease/10.
	Retry time.Duration
	// Backoff is how long Run waits after the function returned an error
	// before it competes for the lock again. Default Lease/5.
	Backoff time.Duration
	// Logger receives the runs, handovers and the function's errors.
	// Default: none.
	Logger *slog.Logger
}

// ErrLeaseEnding is the cause (context.Cause) of the function's ctx when
// renewals failed until Config.Margin before the deadline.
var ErrLeaseEnding = errors.New("singleton: lease about to end without renewal")

// ErrStopped is returned by Run when its node stopped or its locker closed.
var ErrStopped = errors.New("singleton: node stopped or locker closed")

var runs atomic.Uint64 // makes every Run's owner unique

// Resource is the lock resource a singleton named name holds.
func Resource(name string) string { return "singleton:" + name }

func (c Config) withDefaults() (Config, error) {
	if c.Lease == 0 {
		c.Lease = locker.DefaultLease
	}
	if c.Lease < 10*time.Millisecond || c.Lease > locker.MaxLease {
		return c, fmt.Errorf("singleton: Config.Lease %v out of range, want 10ms..%v", c.Lease, locker.MaxLease)
	}
	if c.Margin == 0 {
		c.Margin = c.Lease / 4
	}
	if c.Margin < 0 || c.Margin >= c.Lease/2 {
		return c, fmt.Errorf("singleton: Config.Margin %v, want a positive duration below Lease/2 (%v)", c.Margin, c.Lease/2)
	}
	if c.Retry == 0 {
		c.Retry = c.Lease / 10
	}
	if c.Retry < 0 {
		return c, fmt.Errorf("singleton: Config.Retry %v is negative, want a positive duration", c.Retry)
	}
	if c.Backoff == 0 {
		c.Backoff = c.Lease / 5
	}
	if c.Backoff < 0 {
		return c, fmt.Errorf("singleton: Config.Backoff %v is negative, want a positive duration", c.Backoff)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Run runs fn as the cluster singleton name, using the quorum locks of l,
// until ctx is cancelled (it returns ctx.Err()), fn returns nil (nil), or
// l's node stops or l closes (ErrStopped). See the package documentation
// for the guarantees and for what happens when fn returns an error.
// Every node that may run the singleton calls Run with a locker of the
// same name.
func Run(ctx context.Context, l *locker.Locker, name string, fn Func, cfg Config) error {
	switch {
	case l == nil:
		return errors.New("singleton: Run: locker is nil, want one from locker.New")
	case name == "" || strings.ContainsAny(name, " \t\n"):
		return fmt.Errorf("singleton: Run: name %q, want a non-empty name without spaces", name)
	case fn == nil:
		return fmt.Errorf("singleton: Run %s: fn is nil, want the function to run", name)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	r := &runner{l: l, name: name, fn: fn, cfg: cfg, log: cfg.Logger.With("singleton", name)}
	// The node stopping stops Run as its ctx would.
	ctx, cancel := context.WithCancel(ctx)
	nodeDone := l.Node().Done()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-nodeDone:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		cancel()
		<-watched
	}()
	return r.loop(ctx, nodeDone)
}

type runner struct {
	l    *locker.Locker
	name string
	fn   Func
	cfg  Config
	log  *slog.Logger
}

func (r *runner) loop(ctx context.Context, nodeDone <-chan struct{}) error {
	base := r.l.Owner() + "/singleton"
	for {
		owner := fmt.Sprintf("%s/%d", base, runs.Add(1))
		res, err := r.l.Acquire(ctx, Resource(r.name), locker.Options{Type: locker.Quorum, Owner: owner, Lease: r.cfg.Lease})
		if err := r.stopped(ctx, nodeDone); err != nil {
			if res.OK {
				r.release(ctx, res.Lease)
			}
			return err
		}
		if errors.Is(err, locker.ErrClosed) {
			return fmt.Errorf("singleton %s: %w: %w", r.name, ErrStopped, err)
		}
		if err != nil || !res.OK {
			if err != nil {
				r.log.Debug("cannot take the lock", "err", err)
			}
			// Jittered: nodes that split the quorum's grants between them
			// and gave them back do not collide again in step.
			if err := r.wait(ctx, nodeDone, r.cfg.Retry/2+rand.N(r.cfg.Retry+1)); err != nil {
				return err
			}
			continue
		}
		fnErr, lost := r.hold(ctx, res.Lease)
		r.release(ctx, res.Lease)
		if err := r.stopped(ctx, nodeDone); err != nil {
			return err
		}
		switch {
		case lost != nil:
			r.log.Warn("stopped: lease lost", "token", res.Token, "why", lost, "fn", fnErr)
		case fnErr == nil:
			r.log.Info("done", "token", res.Token)
			return nil
		default:
			r.log.Warn("failed, restarting after a backoff", "token", res.Token, "err", fnErr, "backoff", r.cfg.Backoff)
			if err := r.wait(ctx, nodeDone, r.cfg.Backoff); err != nil {
				return err
			}
		}
	}
}

// stopped says why Run must return, or nil.
func (r *runner) stopped(ctx context.Context, nodeDone <-chan struct{}) error {
	select {
	case <-nodeDone:
		return fmt.Errorf("singleton %s: %w: node %s stopped", r.name, ErrStopped, r.l.Node().Name())
	default:
	}
	return ctx.Err()
}

func (r *runner) wait(ctx context.Context, nodeDone <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return r.stopped(ctx, nodeDone)
	}
}

// hold runs fn under the lease: it renews the lease every Lease/2 and
// cancels fn's ctx when the lease is lost or within Margin of its
// deadline. It returns fn's error and, when the lease ended under fn, why.
func (r *runner) hold(ctx context.Context, ls *locker.Lease) (fnErr, lost error) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	guarded := make(chan struct{})
	go func() {
		defer close(guarded)
		r.guard(runCtx, cancel, ls)
	}()
	r.log.Info("running", "token", ls.Token(), "owner", ls.Owner())
	fnErr = r.fn(runCtx, ls.Token())
	if c := context.Cause(runCtx); c != nil && ctx.Err() == nil && !errors.Is(c, context.Canceled) {
		lost = c
	}
	cancel(nil)
	<-guarded
	return fnErr, lost
}

// guard renews ls while ctx lasts and cancels it when the lease is lost
// or about to end.
func (r *runner) guard(ctx context.Context, cancel context.CancelCauseFunc, ls *locker.Lease) {
	var retryAt time.Time
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		deadline := ls.Deadline()
		stopAt := deadline.Add(-r.cfg.Margin)
		next := deadline.Add(-r.cfg.Lease / 2)
		if retryAt.After(next) {
			next = retryAt
		}
		if stopAt.Before(next) {
			next = stopAt
		}
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-ls.Lost():
			cancel(fmt.Errorf("singleton %s: %w", r.name, ls.Err()))
			return
		case <-t.C:
		}
		if !time.Now().Before(ls.Deadline().Add(-r.cfg.Margin)) {
			cancel(fmt.Errorf("%w: %s, token %d, deadline %s, margin %v", ErrLeaseEnding, r.name, ls.Token(), ls.Deadline().Format(time.RFC3339Nano), r.cfg.Margin))
			return
		}
		if time.Now().Before(next) {
			continue
		}
		rctx, rcancel := context.WithDeadline(ctx, stopAt)
		res, err := ls.Renew(rctx, r.cfg.Lease)
		rcancel()
		if !res.OK {
			r.log.Debug("renewal failed", "err", err, "refused", res.Refused)
			retryAt = time.Now().Add(r.cfg.Retry)
		} else {
			retryAt = time.Time{}
		}
	}
}

// release gives the lock back, waiting for the answers until the lease's
// deadline at most (after it the grant ends by itself).
func (r *runner) release(ctx context.Context, ls *locker.Lease) {
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), ls.Deadline())
	defer cancel()
	if res, err := ls.Release(rctx); err != nil || !res.OK {
		r.log.Debug("release incomplete: the grant ends with its lease", "err", err, "refused", res.Refused)
	}
}
