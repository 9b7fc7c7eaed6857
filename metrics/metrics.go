// Package metrics exports a node's counters to Prometheus: every metric is
// named ekka_mesh_*, read from the node (and its locker and autoheal, when
// given) at scrape time.
package metrics

import (
	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/prometheus/client_golang/prometheus"
)

// Option adds a service of the node to what the collector reports.
type Option func(*Collector)

// WithLocker reports the locks of lk.
func WithLocker(lk *locker.Locker) Option { return func(c *Collector) { c.locker = lk } }

// WithAutoheal reports the heals of a.
func WithAutoheal(a *autoheal.Autoheal) Option { return func(c *Collector) { c.heal = a } }

// Collector is a prometheus.Collector of one node's metrics.
type Collector struct {
	node   *mesh.Node
	locker *locker.Locker
	heal   *autoheal.Autoheal
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

// Describe sends nothing: the collector is unchecked (its label values are
// only known at scrape time).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends the node's metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	// TODO(metrics): fill in.
}
