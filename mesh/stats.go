package mesh

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
)

// This file holds the node's counters, read by Stats (and by the metrics
// package at scrape time). Counting on the call and cast paths is a few
// atomic adds: no lock, no allocation.

// LatencyBounds are the upper bounds, in seconds, of the buckets of the
// call latency histograms (Stats.Calls, Stats.Multicalls); a last bucket
// holds what is above them.
var LatencyBounds = [...]float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

var latencyBoundsNs = func() (b [len(LatencyBounds)]int64) {
	for i, s := range LatencyBounds {
		b[i] = int64(s * float64(time.Second))
	}
	return b
}()

// histogram is a lock-free histogram of durations over LatencyBounds:
// one atomic counter per bucket and an atomic sum.
type histogram struct {
	buckets [len(LatencyBounds) + 1]atomic.Uint64 // not cumulative; the last is above every bound
	sumNs   atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(latencyBoundsNs) && int64(d) > latencyBoundsNs[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNs.Add(int64(d))
}

// Histogram is a snapshot of a latency histogram.
type Histogram struct {
	// Buckets[i] counts the observations of at most LatencyBounds[i]
	// seconds (cumulative, as Prometheus has them).
	Buckets [len(LatencyBounds)]uint64
	// Count is the number of observations; Sum their total in seconds.
	Count uint64
	Sum   float64
}

func (h *histogram) snapshot() Histogram {
	var s Histogram
	var cum uint64
	for i := range h.buckets {
		cum += h.buckets[i].Load()
		if i < len(s.Buckets) {
			s.Buckets[i] = cum
		}
	}
	s.Count = cum
	s.Sum = time.Duration(h.sumNs.Load()).Seconds()
	return s
}

// CallErrorKinds name the kinds of errors calls end with, as Stats counts
// them (see callErrorKind).
var CallErrorKinds = [...]string{
	"timeout",      // ctx's deadline passed, here or on the callee
	"canceled",     // ctx was cancelled
	"node_down",    // no link to the node, or it went down before the reply
	"unknown_node", // not a member
	"stopped",      // this node is stopped
	"too_large",    // the payload is above Config.MaxMessage
	"no_handler",   // the callee has no handler for the method
	"panic",        // the callee's handler panicked
	"not_member",   // the callee does not count this node a member
	"refused",      // the callee refused the request
	"remote",       // the callee's handler returned an error
	"other",        // anything else (a bad method name, ...)
}

const errOther = len(CallErrorKinds) - 1

// callErrorKind sorts a call's error into CallErrorKinds.
func callErrorKind(err error) int {
	switch {
	case errors.Is(err, ErrStopped):
		return 4
	case errors.Is(err, ErrUnknownNode):
		return 3
	case errors.Is(err, ErrNodeDown):
		return 2
	case errors.Is(err, ErrTooLarge):
		return 5
	case errors.Is(err, ErrNoHandler):
		return 6
	case errors.Is(err, ErrPanic):
		return 7
	case errors.Is(err, ErrNotMember):
		return 8
	case errors.Is(err, ErrRefused):
		return 9
	case errors.Is(err, context.DeadlineExceeded):
		return 0
	case errors.Is(err, context.Canceled):
		return 1
	case errors.Is(err, ErrRemote):
		return 10
	}
	return errOther
}

// callCounts counts one kind of call (Call or Multicall).
type callCounts struct {
	latency histogram
	errors  [len(CallErrorKinds)]atomic.Uint64
}

func (c *callCounts) errorMap() map[string]uint64 {
	m := make(map[string]uint64, len(CallErrorKinds))
	for i, k := range CallErrorKinds {
		m[k] = c.errors[i].Load()
	}
	return m
}

// DiscoveryResults name the outcomes of an autocluster pass, as Stats
// counts them.
var DiscoveryResults = [...]string{
	"ok",          // linked to every node discovered: the loop is done
	"error",       // discovery failed (lock, register or discover)
	"alone",       // discovery found no node, or only this one
	"unreachable", // some nodes discovered did not answer
}

// discoveryResult sorts an autocluster pass's outcome (autoclusterPass's
// reason) into DiscoveryResults.
func discoveryResult(done bool, why string) int {
	switch {
	case done:
		return 0
	case strings.HasPrefix(why, "discovered no nodes"), strings.HasPrefix(why, "only this node"):
		return 2
	case strings.HasPrefix(why, "discovered nodes did not answer"):
		return 3
	}
	return 1
}

// nodeStats are the node's counters (Node.stats).
type nodeStats struct {
	calls, multicalls callCounts
	served            atomic.Uint64 // calls of peers handed to a handler
	serviceRefused    atomic.Uint64 // service messages refused at a full gate
	suspendedRefused  atomic.Uint64 // calls and casts refused while suspended

	castsSent, castsFailed, castsReceived, castsDropped atomic.Uint64

	beatsSent, beatsMissed atomic.Uint64

	discovery  [len(DiscoveryResults)]atomic.Uint64
	discovered atomic.Int64 // nodes the last discovery pass found

	// The links whose lanes are counted: those started and not done, and
	// the sums of those done, so lane counters never go down.
	linkMu  sync.Mutex
	live    map[*link]struct{}
	gone    [conn.Lanes]conn.LaneStats
	opened  uint64
	dropped uint64
}

// callDone counts a Call that started at t0 and ended with *err.
func (s *nodeStats) callDone(t0 time.Time, err *error) {
	s.calls.latency.observe(time.Since(t0))
	if *err != nil {
		s.calls.errors[callErrorKind(*err)].Add(1)
	}
}

// multicallDone counts a Multicall that started at t0, and each of its
// failed targets.
func (s *nodeStats) multicallDone(t0 time.Time, res *MulticallResult) {
	s.multicalls.latency.observe(time.Since(t0))
	for _, err := range res.Errors {
		s.multicalls.errors[callErrorKind(err)].Add(1)
	}
}

// castDone counts a Cast that returned err.
func (s *nodeStats) castDone(err *error) {
	if *err != nil {
		s.castsFailed.Add(1)
		return
	}
	s.castsSent.Add(1)
}

func (s *nodeStats) discoveryPass(done bool, why string) {
	s.discovery[discoveryResult(done, why)].Add(1)
}

// linkStarted counts a link whose connection starts now.
func (s *nodeStats) linkStarted(lk *link) {
	s.linkMu.Lock()
	if s.live == nil {
		s.live = make(map[*link]struct{})
	}
	s.live[lk] = struct{}{}
	s.opened++
	s.linkMu.Unlock()
}

// linkDone folds the counts of a link whose connection is done into the
// node's sums.
func (s *nodeStats) linkDone(lk *link) {
	ls := lk.c.LaneStats()
	s.linkMu.Lock()
	if _, ok := s.live[lk]; ok {
		delete(s.live, lk)
		for i := range s.gone {
			addLane(&s.gone[i], ls[i])
		}
		s.dropped++
	}
	s.linkMu.Unlock()
}

func addLane(sum *conn.LaneStats, l conn.LaneStats) {
	sum.BytesSent += l.BytesSent
	sum.BytesReceived += l.BytesReceived
	sum.FramesSent += l.FramesSent
	sum.FramesReceived += l.FramesReceived
	sum.Queued += l.Queued
}

// Stats is a snapshot of a node's counters since it started: what the
// metrics package exports.
type Stats struct {
	// Calls and Multicalls are the latencies of Call and Multicall.
	Calls, Multicalls Histogram
	// CallErrors and MulticallErrors count failed calls by kind (every key
	// of CallErrorKinds is present); a Multicall counts each failed target.
	CallErrors, MulticallErrors map[string]uint64
	// CallsServed is the calls of peers handed to a handler.
	CallsServed uint64
	// ServiceMessagesRefused counts the service messages (partition,
	// autoheal, lock) refused because the peer had MaxServingCalls of
	// them, or MaxServingBytes, being served already.
	ServiceMessagesRefused uint64
	// CallsSuspended counts the calls and casts to this node's methods
	// refused because it was suspended (Node.Suspend).
	CallsSuspended uint64

	// CastsSent counts the casts sent (Cast returned nil); CastsFailed
	// those not sent (Cast returned an error). CastsReceived counts the
	// casts peers sent to this node, CastsDropped those of them with no
	// handler.
	CastsSent, CastsFailed, CastsReceived, CastsDropped uint64

	// HeartbeatsSent counts the pings sent; HeartbeatsMissed the links
	// closed because nothing was heard on them for HeartbeatTimeout.
	HeartbeatsSent, HeartbeatsMissed uint64

	// Events counts the membership events published, by EventKind's
	// String (every kind is present).
	Events map[string]uint64

	// Discovery counts the autocluster passes by DiscoveryResults (every
	// key present); Discovered is the number of nodes the last pass
	// found, -1 before the first (or without Discovery).
	Discovery  map[string]uint64
	Discovered int

	// Lanes sums the lanes of every link this node had, members and
	// hidden clients, open or closed (Queued: open links only), indexed
	// by wire.LaneControl, wire.LaneData, wire.LaneLarge.
	Lanes [conn.Lanes]conn.LaneStats
	// LinksOpened and LinksClosed count the links started and ended.
	LinksOpened, LinksClosed uint64

	// Listener is what the node's listener holds now and refused;
	// Admitted what it admitted.
	Listener conn.ListenerStats
	Admitted conn.ListenerCounts
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	s := &n.stats
	st := Stats{
		Calls:                  s.calls.latency.snapshot(),
		Multicalls:             s.multicalls.latency.snapshot(),
		CallErrors:             s.calls.errorMap(),
		MulticallErrors:        s.multicalls.errorMap(),
		CallsServed:            s.served.Load(),
		ServiceMessagesRefused: s.serviceRefused.Load(),
		CastsSent:              s.castsSent.Load(),
		CastsFailed:            s.castsFailed.Load(),
		CastsReceived:          s.castsReceived.Load(),
		CastsDropped:           s.castsDropped.Load(),
		CallsSuspended:         s.suspendedRefused.Load(),
		HeartbeatsSent:         s.beatsSent.Load(),
		HeartbeatsMissed:       s.beatsMissed.Load(),
		Events:                 n.events.counts(),
		Discovery:              make(map[string]uint64, len(DiscoveryResults)),
		Discovered:             -1,
		Listener:               n.ln.Stats(),
		Admitted:               n.ln.Counts(),
	}
	passes := uint64(0)
	for i, r := range DiscoveryResults {
		st.Discovery[r] = s.discovery[i].Load()
		passes += st.Discovery[r]
	}
	if passes > 0 {
		st.Discovered = int(s.discovered.Load())
	}
	// Live links are read under linkMu, so that none is counted both live
	// and gone: the lane counters a scrape sees never go down.
	s.linkMu.Lock()
	st.Lanes = s.gone
	for i := range st.Lanes {
		st.Lanes[i].Queued = 0
	}
	st.LinksOpened, st.LinksClosed = s.opened, s.dropped
	for lk := range s.live {
		ls := lk.c.LaneStats()
		for i := range st.Lanes {
			addLane(&st.Lanes[i], ls[i])
		}
	}
	s.linkMu.Unlock()
	return st
}
