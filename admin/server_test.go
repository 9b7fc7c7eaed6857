package admin_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/admin"
	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// stream reads server-sent events from an /events response.
type stream struct {
	res *http.Response
	rd  *bufio.Reader
}

func openStream(t *testing.T, ctx context.Context, c *http.Client, url string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	t.Cleanup(func() { res.Body.Close() })
	return &stream{res: res, rd: bufio.NewReader(res.Body)}
}

// next returns the next snapshot event; the error is io.EOF when the
// server ended the stream.
func (s *stream) next() (admin.Snapshot, error) {
	var event, data string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return admin.Snapshot{}, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if event == "snapshot" {
				var snap admin.Snapshot
				err := json.Unmarshal([]byte(data), &snap)
				return snap, err
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// until reads snapshots until cond holds for one.
func (s *stream) until(t *testing.T, what string, cond func(admin.Snapshot) bool) admin.Snapshot {
	t.Helper()
	for {
		snap, err := s.next()
		require.NoError(t, err, "the stream ended before %s", what)
		if cond(snap) {
			return snap
		}
	}
}

func memberStatus(s admin.Snapshot, node string) string {
	for _, m := range s.Info.Members {
		if m.Node == node {
			return m.Status.String()
		}
	}
	return "absent"
}

// tracked counts the handler calls under way, to see that a stream's
// handler returned.
type tracked struct {
	h    http.Handler
	done chan string
}

func (tr *tracked) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() { tr.done <- r.URL.Path }()
	tr.h.ServeHTTP(w, r)
}

func (tr *tracked) returned(t *testing.T, path string) {
	t.Helper()
	for {
		select {
		case p := <-tr.done:
			if p == path {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s handler did not return within 10s", path)
		}
	}
}

func TestAdminEventsStream(t *testing.T) {
	c := cluster(t, 3, true)
	// A long interval: what arrives after the first snapshot is pushed by
	// membership events, not by the clock.
	tr := &tracked{h: admin.Handler(admin.Options{Node: c.Node(0), ReadyMinMembers: 3, EventInterval: time.Hour}), done: make(chan string, 16)}
	srv := httptest.NewServer(tr)
	t.Cleanup(srv.Close)

	ctx, disconnect := context.WithCancel(t.Context())
	s := openStream(t, ctx, srv.Client(), srv.URL+"/events")
	first, err := s.next()
	require.NoError(t, err)
	assert.Len(t, first.Info.Members, 3)
	assert.Nil(t, first.Event)
	for _, n := range c.Names() {
		assert.Equal(t, "up", memberStatus(first, n))
	}

	require.NoError(t, c.Kill(t.Context(), 2))
	down := s.until(t, "n3 shown down", func(s admin.Snapshot) bool { return memberStatus(s, c.Name(2)) == "down" })
	require.NotNil(t, down.Event, "pushed by the event, not by the hour-long tick")
	assert.Equal(t, c.Name(2), down.Event.Node)
	assert.Equal(t, mesh.EventNodeDown.String(), down.Event.Kind)
	assert.False(t, down.Ready.Ready)
	assert.Equal(t, []string{"2 of 3 members up"}, down.Ready.Reasons)

	disconnect()
	tr.returned(t, "/events")
}

func TestAdminEventsEndWhenNodeStops(t *testing.T) {
	c := cluster(t, 1, false)
	tr := &tracked{h: admin.Handler(admin.Options{Node: c.Node(0), EventInterval: time.Hour}), done: make(chan string, 16)}
	srv := httptest.NewServer(tr)
	t.Cleanup(srv.Close)
	s := openStream(t, t.Context(), srv.Client(), srv.URL+"/events")
	_, err := s.next()
	require.NoError(t, err)

	require.NoError(t, c.Kill(t.Context(), 0))
	last := s.until(t, "a snapshot saying the node stopped", func(s admin.Snapshot) bool { return s.Stopped })
	assert.False(t, last.Ready.Ready)
	_, err = s.next()
	assert.ErrorIs(t, err, io.EOF, "the stream ends after the node stopped")
	tr.returned(t, "/events")
}

func TestAdminListenShutdown(t *testing.T) {
	c := cluster(t, 1, false)
	srv, err := admin.Listen(t.Context(), "127.0.0.1:0", nil, admin.Handler(admin.Options{Node: c.Node(0)}), nil)
	require.NoError(t, err)
	assert.Equal(t, "http://"+srv.Addr().String()+"/", srv.URL())
	assert.Equal(t, http.StatusOK, get(t, srv.URL()+"healthz").code)

	s := openStream(t, t.Context(), http.DefaultClient, srv.URL()+"events")
	_, err = s.next()
	require.NoError(t, err)
	// Shutdown ends the open stream rather than waiting for it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	_, err = s.next()
	assert.Error(t, err)
	_, err = http.Get(srv.URL() + "healthz")
	assert.Error(t, err, "nothing listens after Shutdown")
	require.NoError(t, srv.Shutdown(ctx), "a second Shutdown does nothing")

	// A port in use is an error from Listen, not a server that fails later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = admin.Listen(t.Context(), ln.Addr().String(), nil, admin.Handler(admin.Options{Node: c.Node(0)}), nil)
	assert.ErrorContains(t, err, "address already in use")
}

func TestAdminTLS(t *testing.T) {
	c := cluster(t, 1, false)
	h := admin.Handler(admin.Options{Node: c.Node(0)})
	ca := testpki.Must(testpki.NewCA("admin test CA"))
	server := testpki.Must(ca.Issue(testpki.Leaf{CommonName: "admin", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}))
	client := testpki.Must(ca.Issue(testpki.Leaf{CommonName: "prometheus"}))
	other := testpki.Must(testpki.Must(testpki.NewCA("another CA")).Issue(testpki.Leaf{CommonName: "intruder"}))

	httpsClient := func(cert *testpki.Cert) *http.Client {
		cfg := &tls.Config{RootCAs: ca.Pool()}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{cert.TLS}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	listen := func(cfg *tls.Config) *admin.Server {
		srv, err := admin.Listen(t.Context(), "127.0.0.1:0", cfg, h, nil)
		require.NoError(t, err)
		t.Cleanup(func() { srv.Shutdown(context.Background()) })
		assert.True(t, strings.HasPrefix(srv.URL(), "https://"), srv.URL())
		return srv
	}

	t.Run("https", func(t *testing.T) {
		srv := listen(&tls.Config{Certificates: []tls.Certificate{server.TLS}})
		assert.Equal(t, http.StatusOK, do(t, httpsClient(nil), http.MethodGet, srv.URL()+"healthz").code)
		// Plain HTTP to the TLS port gets no admin answer.
		res, err := http.Get("http://" + srv.Addr().String() + "/healthz")
		if err == nil {
			res.Body.Close()
			assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		}
	})

	t.Run("client certificates", func(t *testing.T) {
		srv := listen(&tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientCAs: ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert})
		assert.Equal(t, http.StatusOK, do(t, httpsClient(client), http.MethodGet, srv.URL()+"status").code)
		for name, cl := range map[string]*http.Client{"no certificate": httpsClient(nil), "another CA's certificate": httpsClient(other)} {
			res, err := cl.Get(srv.URL() + "status")
			if err == nil {
				res.Body.Close()
			}
			assert.Error(t, err, "%s: the server answered", name)
		}
	})

	t.Run("no certificate", func(t *testing.T) {
		_, err := admin.Listen(t.Context(), "127.0.0.1:0", &tls.Config{}, h, nil)
		assert.ErrorContains(t, err, "the TLS configuration has no certificate")
	})
}
