package mcast

import (
	"sync"
	"time"
)

// replayGuard remembers the nonces of accepted packets until their
// timestamps leave the acceptance window, so a copy of a packet is refused
// while its timestamp would still pass. Only packets with a valid MAC reach
// it, so only the cluster's own traffic can fill it; when it holds max
// nonces that are all still live, new packets are refused rather than old
// nonces forgotten.
type replayGuard struct {
	mu   sync.Mutex
	seen map[nonce]time.Time // nonce -> when it may be forgotten
	max  int
	next time.Time // when the next sweep is due
}

// sweepEvery bounds the work of forgetting: expired nonces are swept at most
// once per sweepEvery unless the guard is full.
const sweepEvery = time.Second

func newReplayGuard(max int) *replayGuard {
	return &replayGuard{seen: make(map[nonce]time.Time), max: max}
}

// replayResult is what check decided.
type replayResult uint8

const (
	replayFresh replayResult = iota // first sighting, now remembered
	replaySeen                      // a copy of a packet already accepted
	replayFull                      // too many live nonces to remember another
)

// check remembers n until forget and says whether it was new.
func (g *replayGuard) check(n nonce, now, forget time.Time) replayResult {
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[n]; ok && now.Before(exp) {
		return replaySeen
	}
	if len(g.seen) >= g.max || (!g.next.IsZero() && !now.Before(g.next)) {
		g.sweep(now)
	}
	if len(g.seen) >= g.max {
		return replayFull
	}
	g.seen[n] = forget
	if g.next.IsZero() {
		g.next = now.Add(sweepEvery)
	}
	return replayFresh
}

// sweep forgets expired nonces.
func (g *replayGuard) sweep(now time.Time) {
	for n, exp := range g.seen {
		if !now.Before(exp) {
			delete(g.seen, n)
		}
	}
	g.next = time.Time{}
	if len(g.seen) > 0 {
		g.next = now.Add(sweepEvery)
	}
}

// len returns how many nonces are remembered.
func (g *replayGuard) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}
