package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/admin"
	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster starts n meshtest nodes, formed into one cluster when form is
// set, stopped at the end of the test.
func cluster(t *testing.T, n int, form bool) *meshtest.Cluster {
	t.Helper()
	if form {
		return meshtest.Formed(t, n, nil)
	}
	return meshtest.Started(t, n, nil)
}

// serve serves admin.Handler(o) on an httptest server closed at the end of
// the test.
func serve(t *testing.T, o admin.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(admin.Handler(o))
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, url string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return reply{res.StatusCode, res.Header, string(b)}
}

func get(t *testing.T, url string) reply { return do(t, http.DefaultClient, http.MethodGet, url) }

// decode decodes a JSON reply's body into a V.
func decode[V any](t *testing.T, r reply) V {
	t.Helper()
	var v V
	require.Equal(t, "application/json", r.header.Get("Content-Type"), "body %q", r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &v), "body %q", r.body)
	return v
}

func TestAdminRoutes(t *testing.T) {
	c := cluster(t, 3, true)
	node := c.Node(0)
	lk, err := locker.New(node, locker.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { lk.Close() })
	heal, err := autoheal.Attach(node, autoheal.Config{})
	require.NoError(t, err)
	t.Cleanup(heal.Close)
	srv := serve(t, admin.Options{Node: node, Locker: lk, Autoheal: heal, ReadyMinMembers: 3})

	t.Run("healthz", func(t *testing.T) {
		r := get(t, srv.URL+"/healthz")
		assert.Equal(t, http.StatusOK, r.code)
		assert.Equal(t, admin.Health{Node: c.Name(0), Healthy: true, Reasons: []string{}}, decode[admin.Health](t, r))
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	})
	t.Run("readyz", func(t *testing.T) {
		r := get(t, srv.URL+"/readyz")
		assert.Equal(t, http.StatusOK, r.code, r.body)
		assert.Equal(t, admin.Readiness{Node: c.Name(0), Ready: true, Status: mesh.StatusUp, MembersUp: 3, MinMembers: 3,
			Partitions: []string{}, Reasons: []string{}}, decode[admin.Readiness](t, r))
	})
	t.Run("status is what ctl status --json prints", func(t *testing.T) {
		r := get(t, srv.URL+"/status")
		assert.Equal(t, http.StatusOK, r.code)
		// The built-in info method's reply, as ctl prints it: one line.
		raw, err := node.Call(t.Context(), node.Name(), mesh.MethodInfo, nil)
		require.NoError(t, err)
		assert.Equal(t, string(raw)+"\n", r.body)
		info := decode[mesh.Info](t, r)
		assert.Equal(t, c.Names(), info.RunningNodes)
		assert.Len(t, info.Members, 3)
	})
	t.Run("metrics", func(t *testing.T) {
		r := get(t, srv.URL+"/metrics")
		assert.Equal(t, http.StatusOK, r.code)
		assert.Contains(t, r.header.Get("Content-Type"), "text/plain")
		assert.Contains(t, r.body, "\ngo_goroutines ")
		assert.Contains(t, r.body, "\nprocess_resident_memory_bytes ")
		assert.True(t, strings.Contains(r.body, "\nekka_mesh_"), "/metrics has no ekka_mesh_ metric (metrics.NewCollector)")
	})
	t.Run("snapshot", func(t *testing.T) {
		r := get(t, srv.URL+"/snapshot")
		assert.Equal(t, http.StatusOK, r.code)
		s := decode[admin.Snapshot](t, r)
		assert.Equal(t, c.Name(0), s.Info.Node)
		assert.Len(t, s.Info.Members, 3)
		assert.Equal(t, mesh.StatusUp, s.Status)
		assert.True(t, s.Ready.Ready)
		assert.True(t, s.Locker)
		assert.NotNil(t, s.Locks)
		assert.NotNil(t, s.Links)
		require.NotNil(t, s.Autoheal, "autoheal runs on this node")
		assert.False(t, s.Stopped)
		assert.NotContains(t, r.body, "null", "lists are [] when empty")
	})
	t.Run("page", func(t *testing.T) {
		r := get(t, srv.URL+"/")
		assert.Equal(t, http.StatusOK, r.code)
		assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
		assert.Contains(t, r.header.Get("Content-Security-Policy"), "default-src 'none'")
		assert.Contains(t, r.header.Get("Content-Security-Policy"), "connect-src 'self'")
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		assert.Contains(t, r.body, `<tbody id="members">`)
		assert.Contains(t, r.body, `new EventSource("events")`)
	})
	t.Run("head", func(t *testing.T) {
		r := do(t, http.DefaultClient, http.MethodHead, srv.URL+"/healthz")
		assert.Equal(t, http.StatusOK, r.code)
		assert.Empty(t, r.body)
	})
	t.Run("unknown path", func(t *testing.T) {
		for _, p := range []string{"/nope", "/healthz/x", "/status.json", "/debug/pprof/", "/debug/pprof/heap"} {
			assert.Equal(t, http.StatusNotFound, get(t, srv.URL+p).code, p)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/status", "/metrics", "/", "/events"} {
			r := do(t, http.DefaultClient, http.MethodPost, srv.URL+p)
			assert.Equal(t, http.StatusMethodNotAllowed, r.code, p)
			assert.Contains(t, r.header.Get("Allow"), "GET", p)
		}
	})
}

func TestAdminReadyzReasons(t *testing.T) {
	t.Run("too few members", func(t *testing.T) {
		c := cluster(t, 2, false)
		srv := serve(t, admin.Options{Node: c.Node(0), ReadyMinMembers: 3})
		r := get(t, srv.URL+"/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		rd := decode[admin.Readiness](t, r)
		assert.False(t, rd.Ready)
		assert.Equal(t, []string{"1 of 3 members up"}, rd.Reasons)

		require.NoError(t, c.FormCluster(t.Context()))
		rd = decode[admin.Readiness](t, get(t, srv.URL+"/readyz"))
		assert.Equal(t, []string{"2 of 3 members up"}, rd.Reasons)
		assert.Equal(t, 2, rd.MembersUp)
	})

	t.Run("default is this node alone", func(t *testing.T) {
		c := cluster(t, 1, false)
		srv := serve(t, admin.Options{Node: c.Node(0)})
		r := get(t, srv.URL+"/readyz")
		assert.Equal(t, http.StatusOK, r.code, r.body)
		assert.Equal(t, 1, decode[admin.Readiness](t, r).MinMembers)
	})

	t.Run("partition recorded", func(t *testing.T) {
		c := cluster(t, 3, true)
		srv := serve(t, admin.Options{Node: c.Node(0), ReadyMinMembers: 3})
		c.Partition([]int{0, 1}, []int{2})
		require.NoError(t, c.WaitRunning(t.Context(), 0, 1))
		c.HealAll()
		require.NoError(t, c.WaitRunning(t.Context(), 0, 1, 2))
		testnet.Eventually(t, 20*time.Second, "a partition recorded on n1", func() string {
			if p := c.Node(0).Info().Partitions; !slices.Equal(p, c.Names(2)) {
				return "partitions " + strings.Join(p, ",")
			}
			return ""
		})
		r := get(t, srv.URL+"/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		rd := decode[admin.Readiness](t, r)
		assert.Equal(t, []string{"partition recorded with n3@127.0.0.1"}, rd.Reasons)
		assert.Equal(t, c.Names(2), rd.Partitions)
		assert.Equal(t, 3, rd.MembersUp)

		assert.True(t, c.Node(0).ClearPartition(c.Name(2)))
		assert.Equal(t, http.StatusOK, get(t, srv.URL+"/readyz").code)
	})

	t.Run("suspended", func(t *testing.T) {
		c := cluster(t, 1, false)
		srv := serve(t, admin.Options{Node: c.Node(0)})
		require.NoError(t, c.Node(0).Suspend("keep-majority: a minority"))
		r := get(t, srv.URL+"/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		assert.Equal(t, []string{"suspended: keep-majority: a minority"}, decode[admin.Readiness](t, r).Reasons)
		require.NoError(t, c.Node(0).Resume("keep-majority: every member is reachable"))
		assert.Equal(t, http.StatusOK, get(t, srv.URL+"/readyz").code)
	})

	t.Run("joining", func(t *testing.T) {
		c := cluster(t, 2, false)
		srv := serve(t, admin.Options{Node: c.Node(1)})
		c.Cut(0, 1) // the join cannot finish: n2 stays joining
		ctx, cancel := context.WithCancel(t.Context())
		joined := make(chan error, 1)
		go func() { joined <- c.Node(1).Join(ctx, c.Name(0)) }()
		testnet.Eventually(t, 20*time.Second, "n2 joining", func() string {
			if s := c.Node(1).Status(); s != mesh.StatusJoining {
				return "status " + s.String()
			}
			return ""
		})
		r := get(t, srv.URL+"/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		rd := decode[admin.Readiness](t, r)
		assert.Equal(t, mesh.StatusJoining, rd.Status)
		assert.Equal(t, []string{"this node is joining, not up", "0 of 1 members up"}, rd.Reasons)
		cancel()
		require.Error(t, <-joined)
		assert.Equal(t, http.StatusOK, get(t, srv.URL+"/readyz").code)
	})
}

func TestAdminHealthzStopped(t *testing.T) {
	c := cluster(t, 1, false)
	srv := serve(t, admin.Options{Node: c.Node(0)})
	assert.Equal(t, http.StatusOK, get(t, srv.URL+"/healthz").code)
	require.NoError(t, c.Kill(t.Context(), 0))

	r := get(t, srv.URL+"/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, r.code)
	assert.Equal(t, admin.Health{Node: "n1@127.0.0.1", Healthy: false, Reasons: []string{"node n1@127.0.0.1 is stopping or stopped"}},
		decode[admin.Health](t, r))
	r = get(t, srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, r.code)
	assert.Contains(t, decode[admin.Readiness](t, r).Reasons, "node n1@127.0.0.1 is stopping or stopped")
}

func TestAdminPprof(t *testing.T) {
	c := cluster(t, 1, false)
	on := serve(t, admin.Options{Node: c.Node(0), Pprof: true})
	off := serve(t, admin.Options{Node: c.Node(0)})

	r := get(t, on.URL+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, r.code)
	assert.Contains(t, r.body, `href="heap?debug=1"`)
	assert.Contains(t, r.body, `href="goroutine?debug=1"`)
	r = get(t, on.URL+"/debug/pprof/goroutine?debug=1")
	assert.Equal(t, http.StatusOK, r.code)
	assert.Contains(t, r.body, "goroutine profile:")
	r = get(t, on.URL+"/debug/pprof/heap")
	assert.Equal(t, http.StatusOK, r.code)
	assert.Equal(t, "application/octet-stream", r.header.Get("Content-Type"))
	assert.NotEmpty(t, r.body)
	r = get(t, on.URL+"/debug/pprof/profile?seconds=1")
	assert.Equal(t, http.StatusOK, r.code)
	assert.NotEmpty(t, r.body, "a CPU profile")
	r = get(t, on.URL+"/debug/pprof/profile?seconds=many")
	assert.Equal(t, http.StatusBadRequest, r.code)
	assert.Contains(t, r.body, `seconds="many": want a whole number from 1 to 300`)
	assert.Equal(t, http.StatusNotFound, get(t, on.URL+"/debug/pprof/nosuch").code)

	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile", "/debug/pprof/cmdline"} {
		assert.Equal(t, http.StatusNotFound, get(t, off.URL+p).code, p)
	}
	// The package does not import net/http/pprof, which would put the
	// profiler on every importer's http.DefaultServeMux.
	_, pattern := http.DefaultServeMux.Handler(httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
	assert.Empty(t, pattern, "http.DefaultServeMux serves /debug/pprof/")
}

// TestAdminNamesAreValidated: member names reach the page from the
// network, but mesh only accepts A-Z a-z 0-9 _ . - before the @ and a host
// name or IP address after it, so no name carries markup. The page puts
// every value in as text anyway (lock resources are free-form).
func TestAdminNamesAreValidated(t *testing.T) {
	for _, name := range []string{`<img src=x onerror=alert(1)>@127.0.0.1`, `n1@<b>`, `a"b@127.0.0.1`, `n1@127.0.0.1&x`} {
		cfg := mesh.DefaultConfig()
		cfg.Name = name
		cfg.Cookie = "cookie"
		cfg.ListenAddr = "127.0.0.1:0"
		_, err := mesh.Start(t.Context(), cfg)
		assert.Error(t, err, "mesh accepted the name %q", name)
	}
	c := cluster(t, 1, false)
	page := get(t, serve(t, admin.Options{Node: c.Node(0)}).URL+"/").body
	script := page[strings.Index(page, "<script>"):]
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		assert.NotContains(t, script, sink, "the page's script must set text only")
	}
	for _, external := range []string{"http://", "https://", `src="//`, `href="//`} {
		assert.NotContains(t, page, external, "the page must load nothing from elsewhere")
	}
}
