package main

import (
	"time"

	"github.com/ekka-mesh/ekka-mesh/locker"
)

// demoLockHold is how long the first holder keeps the demo's lock.
const demoLockHold = 200 * time.Millisecond

// lockContention is a demo step: a lock service on the first two nodes,
// and a worker on each contending for one resource with a quorum lock.
func (d *demo) lockContention() bool {
	d.step(4, "Two nodes contend for a lock")
	ls := make([]*locker.Locker, d.n)
	for i := range ls {
		l, err := locker.New(d.c.Node(i), locker.Config{Lease: 2 * time.Second})
		if err != nil {
			d.fail("expected %s to start a lock service; got: %v", d.name(i), err)
			return false
		}
		defer l.Close()
		ls[i] = l
	}
	const res = "invoice-run"
	a, b := "worker-on-"+d.name(0), "worker-on-"+d.name(1)
	opts := func(owner string) locker.Options {
		return locker.Options{Type: locker.Quorum, Owner: owner}
	}
	d.say("Every node attaches a lock service. A worker on %s and one on %s want the", d.name(0), d.name(1))
	d.say("resource %q with a quorum lock: the members a hash ring assigns to the", res)
	d.say("resource must grant it by a majority. Every grant has a lease (2s here) and a")
	d.say("fencing token that grows from grant to grant.")
	ctx, cancel := demoContext()
	defer cancel()
	ra, err := ls[0].Acquire(ctx, res, opts(a))
	if err != nil || !ra.OK {
		d.fail("expected %s to get the lock; got %+v, %v", a, ra, err)
		return false
	}
	held := time.Now()
	d.say("  %s: granted by %s, token %d.", a, demoList(ra.Granted), ra.Token)
	rb, err := ls[1].Acquire(ctx, res, opts(b))
	if err != nil || rb.OK {
		d.fail("expected %s to be refused while %s holds the lock; got %+v, %v", b, a, rb, err)
		return false
	}
	for _, n := range rb.Nodes() {
		if why, ok := rb.Refused[n]; ok {
			d.say("  %s: refused by %s: %s.", b, n, why)
		}
	}
	d.say("%s retries every 20ms; %s works for %v, then releases.", b, a, demoLockHold)
	got := make(chan locker.Result, 1)
	go func() {
		for ctx.Err() == nil {
			r, err := ls[1].Acquire(ctx, res, opts(b))
			if err == nil && r.OK {
				got <- r
				return
			}
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		close(got)
	}()
	time.Sleep(demoLockHold)
	rel, err := ls[0].Release(ctx, res, opts(a))
	released := time.Now()
	if err != nil || !rel.OK {
		d.fail("expected %s to release the lock; got %+v, %v", a, rel, err)
	} else {
		d.say("  %s released it on %s after %s.", a, demoList(rel.Granted), demoDur(released.Sub(held)))
	}
	r, ok := <-got
	if !ok {
		d.fail("expected %s to get the lock after the release within %v", b, demoWait)
		return false
	}
	d.say("  %s: granted by %s, token %d, %s after the release.", b, demoList(r.Granted), r.Token, demoDur(time.Since(released)))
	if r.Token <= ra.Token {
		d.fail("expected the second grant's token %d to be above the first's %d", r.Token, ra.Token)
	} else {
		d.say("The second token is larger, so a resource that remembers the last token it")
		d.say("saw would reject a late write from the first holder.")
	}
	if _, err := ls[1].Release(ctx, res, opts(b)); err != nil {
		d.fail("expected %s to release the lock; got %v", b, err)
	}
	return true
}
