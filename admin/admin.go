// Package admin is the HTTP admin endpoint of a node: Prometheus metrics,
// health and readiness probes, the node's status as JSON, a live status
// page and, when asked for, Go's profiler.
//
// Handler returns the endpoint as an http.Handler, for a program to mount
// in its own server; Listen runs it on a server of its own, as
// `ekka-mesh run` does with node.admin.listen. The endpoint is
// unauthenticated: bind it to loopback, or serve it over TLS with client
// certificates (see SECURITY.md).
//
// Routes (GET and HEAD; any other method is 405, an unknown path 404):
//
//	/metrics       Prometheus metrics, names prefixed ekka_mesh_
//	/healthz       200 while the node runs, 503 once it stopped (JSON Health)
//	/readyz        200 when the node is clustered as configured, else 503 (JSON Readiness)
//	/status        the node's mesh.Info, as `ekka-mesh ctl status --json` prints it
//	/snapshot      what the status page shows, as JSON (Snapshot)
//	/events        the same Snapshot as server-sent events, every second and on every membership event
//	/              the live status page
//	/debug/pprof/  Go's profiler, only with Options.Pprof
package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/metrics"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// Options configure Handler. Only Node is required.
type Options struct {
	// Node is the node the endpoint reports on.
	Node *mesh.Node
	// Locker, when not nil, adds the locks held in its table to the
	// status page and its counters to the metrics.
	Locker *locker.Locker
	// Autoheal, when not nil, adds its heals to the status page and its
	// counters to the metrics.
	Autoheal *autoheal.Autoheal
	// SplitBrain, when not nil, adds the resolver's status to the
	// snapshot and its counters to the metrics.
	SplitBrain *splitbrain.Resolver
	// Gatherer is what /metrics serves. Nil: a registry of its own with
	// metrics.NewCollector (with Locker, Autoheal and SplitBrain when set) and Go's
	// runtime and process collectors. A program with a registry of its own
	// registers metrics.NewCollector in it and passes it here.
	Gatherer prometheus.Gatherer
	// ReadyMinMembers is how many members, this node included, must be up
	// before /readyz says ready; below 1 means 1.
	ReadyMinMembers int
	// Pprof serves Go's profiler under /debug/pprof/. Profiles show memory
	// contents (heap) and cost CPU: leave it off on an exposed endpoint.
	Pprof bool
	// Logger receives the endpoint's own problems (a failed write, a
	// metric that failed to gather). Nil: slog.Default().
	Logger *slog.Logger
	// EventInterval is how often /events pushes a snapshot when nothing
	// happened; 0 means every second.
	EventInterval time.Duration
}

// handler serves the routes of one node.
type handler struct {
	node       *mesh.Node
	locker     *locker.Locker
	heal       *autoheal.Autoheal
	split      *splitbrain.Resolver
	minMembers int
	log        *slog.Logger
	interval   time.Duration
	mux        *http.ServeMux
}

// Handler returns the admin endpoint of o.Node. Mount it at the root of a
// server, or under a prefix with http.StripPrefix (the status page uses
// relative URLs). The streams of /events end when their request's context
// does (the client goes, or the server's BaseContext is cancelled) or when
// the node stops; a server that shuts down gracefully cancels them first
// (Listen's Server does). Handler panics when o.Node is nil.
func Handler(o Options) http.Handler {
	if o.Node == nil {
		panic("admin: Handler: Options.Node is nil, want the node to report on")
	}
	h := &handler{
		node:       o.Node,
		locker:     o.Locker,
		heal:       o.Autoheal,
		split:      o.SplitBrain,
		minMembers: max(o.ReadyMinMembers, 1),
		log:        o.Logger,
		interval:   o.EventInterval,
		mux:        http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.interval <= 0 {
		h.interval = time.Second
	}
	g := o.Gatherer
	if g == nil {
		g = defaultRegistry(o)
	}
	m := h.mux
	m.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	m.HandleFunc("GET /healthz", h.healthz)
	m.HandleFunc("GET /readyz", h.readyz)
	m.HandleFunc("GET /status", h.status)
	m.HandleFunc("GET /snapshot", h.snapshot)
	m.HandleFunc("GET /events", h.events)
	m.HandleFunc("GET /{$}", h.page)
	if o.Pprof {
		registerPprof(m)
	}
	return h
}

// defaultRegistry is the registry /metrics serves when Options.Gatherer is nil.
func defaultRegistry(o Options) *prometheus.Registry {
	var opts []metrics.Option
	if o.Locker != nil {
		opts = append(opts, metrics.WithLocker(o.Locker))
	}
	if o.Autoheal != nil {
		opts = append(opts, metrics.WithAutoheal(o.Autoheal))
	}
	if o.SplitBrain != nil {
		opts = append(opts, metrics.WithSplitBrain(o.SplitBrain))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewCollector(o.Node, opts...),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Nothing the endpoint serves may be framed or sniffed into another type.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

// Health is the body of /healthz.
type Health struct {
	Node    string   `json:"node"`
	Healthy bool     `json:"healthy"`
	Reasons []string `json:"reasons"` // why not healthy; empty when healthy
}

// Readiness is the body of /readyz.
type Readiness struct {
	Node  string `json:"node"`
	Ready bool   `json:"ready"`
	// Status is this node's own status (joining, up, healing, leaving).
	Status mesh.Status `json:"status"`
	// MembersUp counts the members up, this node included; MinMembers is
	// how many must be.
	MembersUp  int `json:"members_up"`
	MinMembers int `json:"min_members"`
	// Partitions are the members this node records a partition with.
	Partitions []string `json:"partitions"`
	// Reasons say why the node is not ready; empty when it is.
	Reasons []string `json:"reasons"`
}

func (h *handler) health() Health {
	hl := Health{Node: h.node.Name(), Healthy: true, Reasons: []string{}}
	if h.node.Stopping() {
		hl.Healthy = false
		hl.Reasons = append(hl.Reasons, "node "+h.node.Name()+" is stopping or stopped")
	}
	return hl
}

func (h *handler) readiness() Readiness {
	info := h.node.Info()
	self := h.node.Status()
	rd := Readiness{
		Node:       info.Node,
		Status:     self,
		MinMembers: h.minMembers,
		Partitions: info.Partitions,
		Reasons:    []string{},
	}
	for _, m := range info.Members {
		if m.Status == mesh.StatusUp {
			rd.MembersUp++
		}
	}
	if self == mesh.StatusUp && !slices.ContainsFunc(info.Members, func(m mesh.MemberInfo) bool { return m.Node == info.Node }) {
		rd.MembersUp++
	}
	if h.node.Stopping() {
		rd.Reasons = append(rd.Reasons, "node "+info.Node+" is stopping or stopped")
	} else if self != mesh.StatusUp {
		rd.Reasons = append(rd.Reasons, fmt.Sprintf("this node is %s, not up", self))
	}
	if rd.MembersUp < rd.MinMembers {
		rd.Reasons = append(rd.Reasons, fmt.Sprintf("%d of %d members up", rd.MembersUp, rd.MinMembers))
	}
	for _, p := range info.Partitions {
		rd.Reasons = append(rd.Reasons, "partition recorded with "+p)
	}
	if info.Suspended != "" { // it serves no calls of the application
		rd.Reasons = append(rd.Reasons, "suspended: "+info.Suspended)
	}
	rd.Ready = len(rd.Reasons) == 0
	return rd
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	hl := h.health()
	h.writeJSON(w, r, okOr503(hl.Healthy), hl)
}

func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	rd := h.readiness()
	h.writeJSON(w, r, okOr503(rd.Ready), rd)
}

func okOr503(ok bool) int {
	if ok {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// status serves the reply of the node's built-in info method, the bytes
// `ekka-mesh ctl status --json` prints.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	raw, err := h.node.Call(ctx, h.node.Name(), mesh.MethodInfo, nil)
	if err != nil {
		h.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"error": "status of " + h.node.Name() + ": " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(raw)
	w.Write([]byte("\n"))
}

// writeJSON writes v as one line of JSON with code.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("admin: encoding a reply", "path", r.URL.Path, "err", err)
		http.Error(w, "encoding the reply failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(append(b, '\n'))
}
