// Package metrics exports a node's counters to Prometheus: every metric is
// named ekka_mesh_*, read from the node (and its locker, autoheal and
// split-brain resolver, when given) at scrape time. docs/METRICS.md lists them all.
//
// The collector holds no state of its own and adds nothing to the node's
// hot paths: the node counts with atomic counters, and the collector reads
// them when Prometheus scrapes. A library user registers it in a registry
// of their own:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(node, metrics.WithLocker(lk), metrics.WithAutoheal(h)))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The collector describes every metric it sends (it is a checked
// collector), so registering two collectors of the same node's metrics in
// one registry fails: give each node a registry of its own, or wrap one
// with prometheus.WrapRegistererWith and a label that tells them apart.
package metrics

import (
	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
	"github.com/prometheus/client_golang/prometheus"
)

// Option adds a service of the node to what the collector reports.
type Option func(*Collector)

// WithLocker reports the locks of lk.
func WithLocker(lk *locker.Locker) Option { return func(c *Collector) { c.locker = lk } }

// WithAutoheal reports the heals of a.
func WithAutoheal(a *autoheal.Autoheal) Option { return func(c *Collector) { c.heal = a } }

// WithSplitBrain reports the decisions of r.
func WithSplitBrain(r *splitbrain.Resolver) Option { return func(c *Collector) { c.split = r } }

// Collector is a prometheus.Collector of one node's metrics.
type Collector struct {
	node   *mesh.Node
	locker *locker.Locker
	heal   *autoheal.Autoheal
	split  *splitbrain.Resolver
}

// NewCollector returns the collector of node's metrics; register it in a
// prometheus.Registry.
func NewCollector(node *mesh.Node, opts ...Option) *Collector {
	c := &Collector{node: node}
	for _, o := range opts {
		o(c)
	}
	return c
}

const ns = "ekka_mesh_"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(ns+name, help, labels, nil)
}

// The node's metrics.
var (
	dInfo            = desc("node_info", "The node's identity: always 1, with the node's name and cluster as labels.", "node", "cluster")
	dMembers         = desc("members", "Members of the cluster as this node sees them (itself included), by status.", "status")
	dLinks           = desc("links", "Links this node has to members now (hidden clients not counted).")
	dPartitions      = desc("partitions", "Members with a partition recorded on this node now.")
	dLinksOpened     = desc("links_opened_total", "Links started (to members and hidden clients).")
	dLinksClosed     = desc("links_closed_total", "Links ended (to members and hidden clients).")
	dListenerConns   = desc("listener_connections", "Connections the listener holds that are not part of a link yet: handshakes in progress and lanes of incomplete links.")
	dListenerAccept  = desc("listener_connections_accepted_total", "TCP connections the listener accepted, before any handshake.")
	dHandshakesOK    = desc("handshakes_accepted_total", "Handshakes the listener accepted (one per lane of a link).")
	dHandshakesNo    = desc("handshakes_refused_total", "Connections the listener refused or closed before they joined a link, by reason.", "reason")
	dLaneBytes       = desc("lane_bytes_total", "Bytes of frames (header and payload) sent and received on the lanes of every link.", "lane", "direction")
	dLaneFrames      = desc("lane_frames_total", "Frames sent and received on the lanes of every link (a chunk counts one).", "lane", "direction")
	dLaneQueued      = desc("lane_queued_bytes", "Bytes of frames waiting to be written on the lanes of the open links.", "lane")
	dCallSeconds     = desc("call_duration_seconds", "Time from the start of a Call (kind=call) or Multicall (kind=multicall) to its reply or error.", "kind")
	dCallErrors      = desc("call_errors_total", "Calls that failed, by kind of call and of error (a multicall counts each failed target).", "kind", "reason")
	dCallsServed     = desc("calls_served_total", "Calls of peers that this node handed to a handler.")
	dCastsSent       = desc("casts_sent_total", "Casts sent (Cast returned no error).")
	dCastsFailed     = desc("casts_failed_total", "Casts not sent (Cast returned an error).")
	dCastsReceived   = desc("casts_received_total", "Casts received from peers.")
	dCastsDropped    = desc("casts_dropped_total", "Casts received for a method without a handler, and dropped.")
	dSuspended       = desc("suspended", "1 while this node is suspended (it serves no calls of the application), else 0.")
	dCallsSuspended  = desc("calls_suspended_total", "Calls and casts to this node's methods refused because it was suspended.")
	dBeatsSent       = desc("heartbeats_sent_total", "Heartbeat pings sent.")
	dBeatsMissed     = desc("heartbeats_missed_total", "Links closed because nothing was heard on them for the heartbeat timeout.")
	dEvents          = desc("membership_events_total", "Membership events this node published, by kind.", "kind")
	dPartitionsSeen  = desc("partitions_seen_total", "Partitions this node recorded (partition-occurred events).")
	dPartitionsHeal  = desc("partitions_healed_total", "Recorded partitions cleared (partition-healed events).")
	dDiscoveryPasses = desc("discovery_passes_total", "Autocluster passes, by result: ok (linked to every node found), error (discovery failed), alone (found no other node), unreachable (some found nodes did not answer).", "result")
	dDiscoveryNodes  = desc("discovery_nodes", "Nodes the last autocluster pass discovered (only once a pass ran).")
)

// The locker's metrics.
var (
	dLocksGranted = desc("locks_granted_total", "Acquires on this node that got the lock.")
	dLocksRefused = desc("locks_refused_total", "Acquires on this node that did not get the lock.")
	dLocksHeld    = desc("locks_held", "Locks held in this node's lock table now.")
	dLocksExpired = desc("locks_expired_total", "Grants of this node's lock table that ended because their lease ran out.")
	dLockTable    = desc("lock_table_requests_total", "Answers of this node's lock table to the lockers of the cluster, by request and result.", "op", "result")
)

// Autoheal's metrics.
var (
	dHealRounds = desc("heal_rounds_total", "Autoheal rounds this node took part in (as leader, coordinator or victim).")
	dHeals      = desc("heals_total", "How this node's parts in autoheal rounds ended, by role and result.", "role", "result")
	dHealing    = desc("healing", "1 while this node coordinates or runs a heal, else 0.")
)

// The split-brain resolver's metrics.
var (
	dSplitServing = desc("split_brain_serving", "1 while the split-brain resolver lets this node serve, 0 while its side lost (it is suspended), with the strategy as a label.", "strategy")
	dSplitDowns   = desc("split_brain_downs_total", "Times this node stopped serving because its side lost a split-brain decision, or the view stayed unstable.")
	dSplitUps     = desc("split_brain_ups_total", "Times this node served again once the split was over.")
)

var (
	nodeDescs   = []*prometheus.Desc{dInfo, dMembers, dLinks, dPartitions, dLinksOpened, dLinksClosed, dListenerConns, dListenerAccept, dHandshakesOK, dHandshakesNo, dLaneBytes, dLaneFrames, dLaneQueued, dCallSeconds, dCallErrors, dCallsServed, dCastsSent, dCastsFailed, dCastsReceived, dCastsDropped, dSuspended, dCallsSuspended, dBeatsSent, dBeatsMissed, dEvents, dPartitionsSeen, dPartitionsHeal, dDiscoveryPasses, dDiscoveryNodes}
	lockerDescs = []*prometheus.Desc{dLocksGranted, dLocksRefused, dLocksHeld, dLocksExpired, dLockTable}
	healDescs   = []*prometheus.Desc{dHealRounds, dHeals, dHealing}
	splitDescs  = []*prometheus.Desc{dSplitServing, dSplitDowns, dSplitUps}
)

// handshakeReasons are the refusal reasons reported at 0 before the first
// refusal, so a rate over them works from the start: the failed handshakes
// (conn.ListenerStats.Refused lists every reason; others appear once seen).
var handshakeReasons = []string{"bad-cookie", "wrong-cluster", "wrong-node", "version", "malformed", "timeout", "silent", "tls"}

// Describe sends the descriptions of every metric the collector sends.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range nodeDescs {
		ch <- d
	}
	if c.locker != nil {
		for _, d := range lockerDescs {
			ch <- d
		}
	}
	if c.heal != nil {
		for _, d := range healDescs {
			ch <- d
		}
	}
	if c.split != nil {
		for _, d := range splitDescs {
			ch <- d
		}
	}
}

// oneIf is 1 when b, else 0: a gauge of a condition.
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, h mesh.Histogram, labels ...string) {
	b := make(map[float64]uint64, len(h.Buckets))
	for i, le := range mesh.LatencyBounds {
		b[le] = h.Buckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(d, h.Count, h.Sum, b, labels...)
}

// Collect sends the node's metrics, read now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	n := c.node
	gauge(ch, dInfo, 1, n.Name(), n.Cluster())
	info := n.Info()
	byStatus := map[mesh.Status]int{}
	for _, m := range info.Members {
		byStatus[m.Status]++
	}
	for s := mesh.StatusJoining; s <= mesh.StatusDown; s++ {
		gauge(ch, dMembers, float64(byStatus[s]), s.String())
	}
	gauge(ch, dLinks, float64(len(n.Links())))
	gauge(ch, dPartitions, float64(len(info.Partitions)))

	st := n.Stats()
	counter(ch, dLinksOpened, st.LinksOpened)
	counter(ch, dLinksClosed, st.LinksClosed)
	gauge(ch, dListenerConns, float64(st.Listener.Conns))
	counter(ch, dListenerAccept, st.Admitted.Accepted)
	counter(ch, dHandshakesOK, st.Admitted.Handshakes)
	for _, r := range handshakeReasons {
		if _, ok := st.Listener.Refused[r]; !ok {
			counter(ch, dHandshakesNo, 0, r)
		}
	}
	for r, v := range st.Listener.Refused {
		counter(ch, dHandshakesNo, v, r)
	}
	for i, l := range st.Lanes {
		lane := conn.LaneName(uint8(i))
		counter(ch, dLaneBytes, l.BytesSent, lane, "sent")
		counter(ch, dLaneBytes, l.BytesReceived, lane, "received")
		counter(ch, dLaneFrames, l.FramesSent, lane, "sent")
		counter(ch, dLaneFrames, l.FramesReceived, lane, "received")
		gauge(ch, dLaneQueued, float64(l.Queued), lane)
	}
	histogram(ch, dCallSeconds, st.Calls, "call")
	histogram(ch, dCallSeconds, st.Multicalls, "multicall")
	for _, k := range mesh.CallErrorKinds {
		counter(ch, dCallErrors, st.CallErrors[k], "call", k)
		counter(ch, dCallErrors, st.MulticallErrors[k], "multicall", k)
	}
	counter(ch, dCallsServed, st.CallsServed)
	counter(ch, dCastsSent, st.CastsSent)
	counter(ch, dCastsFailed, st.CastsFailed)
	counter(ch, dCastsReceived, st.CastsReceived)
	counter(ch, dCastsDropped, st.CastsDropped)
	_, suspended := n.Suspended()
	gauge(ch, dSuspended, oneIf(suspended))
	counter(ch, dCallsSuspended, st.CallsSuspended)
	counter(ch, dBeatsSent, st.HeartbeatsSent)
	counter(ch, dBeatsMissed, st.HeartbeatsMissed)
	for k, v := range st.Events {
		counter(ch, dEvents, v, k)
	}
	counter(ch, dPartitionsSeen, st.Events[mesh.EventPartitionOccurred.String()])
	counter(ch, dPartitionsHeal, st.Events[mesh.EventPartitionHealed.String()])
	for _, r := range mesh.DiscoveryResults {
		counter(ch, dDiscoveryPasses, st.Discovery[r], r)
	}
	if st.Discovered >= 0 {
		gauge(ch, dDiscoveryNodes, float64(st.Discovered))
	}

	if c.locker != nil {
		ls := c.locker.Stats()
		counter(ch, dLocksGranted, ls.Granted)
		counter(ch, dLocksRefused, ls.Refused)
		gauge(ch, dLocksHeld, float64(ls.Held))
		counter(ch, dLocksExpired, ls.Expired)
		for _, t := range ls.Table {
			counter(ch, dLockTable, t.Count, t.Op, t.Result)
		}
	}
	if c.heal != nil {
		hs := c.heal.Stats()
		counter(ch, dHealRounds, hs.Rounds)
		counter(ch, dHeals, hs.Planned, "leader", "ok")
		counter(ch, dHeals, hs.PlanFailed, "leader", "failed")
		counter(ch, dHeals, hs.Coordinated, "coordinator", "ok")
		counter(ch, dHeals, hs.CoordinateFailed, "coordinator", "failed")
		counter(ch, dHeals, hs.Healed, "victim", "ok")
		counter(ch, dHeals, hs.HealFailed, "victim", "failed")
		gauge(ch, dHealing, oneIf(hs.Healing))
	}
	if c.split != nil {
		ss := c.split.Status()
		gauge(ch, dSplitServing, oneIf(ss.Serving), string(ss.Strategy))
		counter(ch, dSplitDowns, ss.Downs)
		counter(ch, dSplitUps, ss.Ups)
	}
}
