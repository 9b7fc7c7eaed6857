package mesh

// The housekeeping loop: heartbeats, silent peers, redials, superseded
// links, forgetting members never reached, and autoclean.

import (
	"context"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// maintain is the node's housekeeping loop: heartbeats, silent-peer
// detection, redials with backoff, and autoclean. It sleeps until the next
// of these is due, or a kick, rather than ticking.
//
// Beats fall on the multiples of HeartbeatInterval of the wall clock, so
// the nodes of a cluster (whose clocks roughly agree) beat at about the
// same moment: a node's heartbeat traffic, its own pings and its peers',
// comes as one burst per interval instead of one per peer spread over it,
// and an idle process woken once a second costs far less than one woken
// once per peer. On each link one end pings and the other answers, and
// not on every beat when the link is busy or the timeout leaves room (see
// pingDue): with the defaults an idle pair exchanges one ping and one pong
// every two seconds instead of two of each every second.
// Silence is checked at each link's own deadline, not at beats, so a
// silent peer is seen HeartbeatTimeout after it was last heard.
func (n *Node) maintain() {
	defer n.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var w maintenance
	var lastBeat, nextBeat time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-timer.C:
		case <-n.kick:
		}
		now := time.Now()
		sinceBeat := time.Duration(-1) // not a beat
		if !now.Before(nextBeat) {
			sinceBeat = 2 * n.cfg.HeartbeatInterval // the first beat, or one long overdue
			if !lastBeat.IsZero() {
				sinceBeat = min(now.Sub(lastBeat), sinceBeat)
			}
			lastBeat, nextBeat = now, nextBeatAfter(now, n.cfg.HeartbeatInterval)
		}
		wait := min(n.collectMaintenance(now, sinceBeat, &w), nextBeat.Sub(now))
		n.runMaintenance(now, &w)
		timer.Reset(wait - time.Since(now))
	}
}

// maintenance is the work one pass of maintain found, gathered under n.mu
// and done outside it. Its slices are reused from pass to pass.
type maintenance struct {
	ping   []*link  // links this node pings on this beat
	silent []*link  // links silent for longer than the heartbeat timeout
	dials  []string // down members whose redial is due
}

// nextBeatAfter is the first multiple of interval of the wall clock after
// now, at least a tenth of an interval away (a timer that fired a hair
// before a multiple, on a clock being slewed, must not beat twice), carried
// on now's monotonic clock.
func nextBeatAfter(now time.Time, interval time.Duration) time.Time {
	untilNext := interval - now.Sub(now.Truncate(interval))
	if untilNext < interval/10 {
		untilNext += interval
	}
	return now.Add(untilNext)
}

// pingDue reports whether node self pings its member peer at a beat, given
// how long ago it last heard from peer and how long ago its previous beat
// was. Any frame heard counts, and a pong refreshes the pinging end as its
// ping refreshed the other, so one end pings and the other only answers
// while the link is healthy: the end whose name sorts first. With room in
// the timeout (at least four intervals, as with the defaults) that end also
// skips a beat when it heard the peer since its previous beat (the pong of
// that beat's ping, or traffic), so an idle link exchanges one ping and one
// pong every two intervals and a busy one none, and the answering end pings
// only after two and a half intervals without a word. With less room the
// first end pings every beat and the other after one and a half intervals
// of silence; under two intervals both ping every beat. Silence is still
// timed from the last frame heard, so no rule here delays detecting a
// silent peer.
func pingDue(self, peer string, sinceHeard, sinceBeat, interval, timeout time.Duration) bool {
	roomy := timeout >= 4*interval
	switch {
	case timeout < 2*interval:
		return true
	case self > peer && roomy:
		return sinceHeard >= 2*interval+interval/2
	case self > peer:
		return sinceHeard >= interval+interval/2
	case roomy:
		return sinceHeard >= sinceBeat
	default:
		return true
	}
}

// collectMaintenance finds, under n.mu, the links to ping and to close as
// silent and the redials that are due into w, applies the superseded-link
// and autoclean rules, and returns how long until the next silence or
// redial deadline (or an hour if there is none). sinceBeat is the time since
// the previous beat if this pass is a beat (pings go out only on beats),
// else negative.
func (n *Node) collectMaintenance(now time.Time, sinceBeat time.Duration, w *maintenance) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	next := time.Hour
	interval, timeout := n.cfg.HeartbeatInterval, n.cfg.HeartbeatTimeout
	for _, lk := range n.linkset.current {
		sinceHeard := now.Sub(lk.heard())
		if sinceHeard > timeout {
			w.silent = append(w.silent, lk)
			continue
		}
		next = min(next, timeout-sinceHeard+time.Millisecond)
		if sinceBeat >= 0 && pingDue(n.cfg.Name, lk.peer, sinceHeard, sinceBeat, interval, timeout) {
			w.ping = append(w.ping, lk)
		}
	}
	var unreached []string // due redials of members never reached, after the others
	for node, st := range n.redial {
		if _, member := n.table.get(node); !member {
			delete(n.redial, node)
			continue
		}
		if n.linkset.current[node] != nil || n.dialing[node] {
			continue // a failed dial reschedules, and that wakes maintain
		}
		switch due := st.next.Sub(now); {
		case due > 0:
			next = min(next, due)
		case n.table.reached(node):
			w.dials = append(w.dials, node)
		default:
			unreached = append(unreached, node)
		}
	}
	w.dials = append(w.dials, unreached...)
	if allowed := n.redialBudget.available(now); len(w.dials) > allowed {
		// The rest stay due and go as the budget refills.
		clear(w.dials[allowed:])
		w.dials = w.dials[:allowed]
		next = min(next, max(n.redialBudget.untilNext(now), time.Millisecond))
	}
	n.redialBudget.spend(now, len(w.dials))
	for node, since := range n.superseded {
		switch {
		case n.linkset.current[node] != nil:
			delete(n.superseded, node)
		case now.Sub(since) > n.cfg.HandshakeTimeout:
			delete(n.superseded, node)
			ch := n.table.observeDown(node, now)
			n.applyChangeLocked(ch, "the peer closed a duplicate link and the link it kept never came")
			if _, ok := n.table.get(node); ok {
				n.scheduleRedialLocked(node, 0)
			}
		default:
			next = min(next, n.cfg.HandshakeTimeout-now.Sub(since)+time.Millisecond)
		}
	}
	if forgotten := n.table.forgetUnreached(now, n.cfg.ForgetUnreached); len(forgotten) > 0 {
		reason := fmt.Sprintf("never reached: learned from a peer more than %v ago, and no link to it came", n.cfg.ForgetUnreached)
		for _, node := range forgotten {
			delete(n.redial, node)
			n.publishLocked(EventNodeLeaving, node, GUID{}, reason)
		}
		n.log.Info("removed members learned from peers that this node never reached", "count", len(forgotten), "first", forgotten[0], "after", n.cfg.ForgetUnreached)
	}
	if n.cfg.ForgetUnreached > 0 {
		if at, ok := n.table.nextUnreachedExpiry(n.cfg.ForgetUnreached); ok {
			next = min(next, max(at.Sub(now), time.Millisecond))
		}
	}
	for _, node := range n.table.autoclean(now, n.cfg.Autoclean) {
		delete(n.redial, node)
		n.publishLocked(EventNodeLeaving, node, GUID{}, fmt.Sprintf("autoclean: down for longer than %v", n.cfg.Autoclean))
		n.log.Info("autoclean removed a member that stayed down", "member", node, "after", n.cfg.Autoclean)
	}
	return next
}

// runMaintenance pings, closes silent links and starts redials, outside
// n.mu, and empties w for the next pass.
func (n *Node) runMaintenance(now time.Time, w *maintenance) {
	for _, lk := range w.ping {
		lk.ping(now)
	}
	n.stats.beatsMissed.Add(uint64(len(w.silent)))
	for _, lk := range w.silent {
		lk.downReason = fmt.Sprintf("heartbeat timeout: nothing heard for %v", n.cfg.HeartbeatTimeout)
		n.log.Warn("peer silent; closing its link", "peer", lk.peer, "timeout", n.cfg.HeartbeatTimeout)
		lk.c.Abort(wire.CodeTimeout, lk.downReason)
	}
	for _, node := range w.dials {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, 2*n.cfg.HandshakeTimeout)
			err := n.dial(ctx, node)
			cancel()
			n.mu.Lock()
			defer n.mu.Unlock()
			if err != nil && n.linkset.current[node] == nil {
				if st := n.redial[node]; st != nil {
					n.scheduleRedialLocked(node, st.attempt+1)
				}
				n.log.Debug("redial failed", "member", node, "err", err)
			}
		}()
	}
	clear(w.ping)
	clear(w.silent)
	w.ping, w.silent, w.dials = w.ping[:0], w.silent[:0], w.dials[:0]
}
