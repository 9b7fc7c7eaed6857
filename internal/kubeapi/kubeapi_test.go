package kubeapi_test

import (
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/internal/kubeapi"
)

// TestStartStop starts a server, uses it as the tests do (an object
// applied with strict validation, a ServiceAccount token minted and
// checked by RBAC), and checks that when the test ends the process is gone,
// its port is free and no goroutine is left.
func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kube-apiserver")
	}
	before := goleak.IgnoreCurrent()
	var srv *kubeapi.Server
	var pid int
	ok := t.Run("server", func(t *testing.T) {
		kubeapi.Binary(t) // built or found before the timing
		start := time.Now()
		srv = kubeapi.Start(t)
		t.Logf("kube-apiserver %s ready at %s in %v (binary cached)", srv.Version, srv.URL, time.Since(start).Round(time.Millisecond))
		pid = srv.Pid()
		ctx := t.Context()

		// Anonymous requests are refused; the admin token may do anything.
		code, _, err := srv.Do(ctx, http.MethodGet, "/api/v1/namespaces", "", nil, "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, code)
		srv.MustApply(t, "", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kt\n")
		srv.MustApply(t, "kt", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n")

		// Strict field validation names an unknown field, and a
		// duplicated one.
		objs, err := kubeapi.SplitDocuments([]byte("# a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndatta:\n  a: b\n" +
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n  a: c\n"))
		require.NoError(t, err)
		require.Len(t, objs, 2)
		var se *kubeapi.StatusError
		err = srv.Create(ctx, "kt", objs[0], kubeapi.ApplyOptions{DryRun: true})
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusBadRequest, se.Code, "%v", err)
		assert.Contains(t, se.Message, `unknown field "datta"`)
		err = srv.Create(ctx, "kt", objs[1], kubeapi.ApplyOptions{DryRun: true})
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusBadRequest, se.Code, "%v", err)
		assert.Contains(t, se.Message, `key "a" already set in map`)
		err = srv.Apply(ctx, "kt", objs[0], kubeapi.ApplyOptions{DryRun: true})
		require.ErrorAs(t, err, &se, "server-side apply refuses an unknown field too")
		assert.Contains(t, se.Message, ".datta: field not declared in schema")

		// A minted token authenticates as the ServiceAccount, which RBAC
		// allows nothing yet.
		token, err := srv.ServiceAccountToken(ctx, "kt", "sa", 10*time.Minute)
		require.NoError(t, err)
		err = srv.Request(ctx, http.MethodGet, "/api/v1/namespaces/kt/endpoints", "", nil, token, nil)
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusForbidden, se.Code)
		assert.Contains(t, se.Message, `User "system:serviceaccount:kt:sa" cannot list resource "endpoints"`)
	})
	require.True(t, ok)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", u.Host)
	require.NoError(t, err, "the server's port is free once the test has ended")
	ln.Close()
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the process is gone")
	goleak.VerifyNone(t, before)
}

// TestMain checks that the package's tests leave no goroutine (the
// embedded etcd's included).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNetworkErrorSkips(t *testing.T) {
	for out, want := range map[string]bool{
		"go: k8s.io/api@v0.37.2: Get \"https://proxy.golang.org/k8s.io/api/@v/v0.37.2.mod\": dial tcp: lookup proxy.golang.org: no such host": true,
		"go: module lookup disabled by GOPROXY=off": true,
		"pkg/foo.go:12:3: undefined: bar":           false,
	} {
		assert.Equal(t, want, kubeapi.NetworkError(out) != "", out)
	}
}

// TestSkipWithoutProxy builds with an empty module cache and no module
// proxy: the test that needs the server would be skipped, with a message
// that names the proxy.
func TestSkipWithoutProxy(t *testing.T) {
	t.Setenv(kubeapi.BinaryEnv, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPROXY", "off")
	path, _, skip, err := kubeapi.FindOrBuild(t)
	require.NoError(t, err)
	assert.Empty(t, path)
	assert.Contains(t, skip, "kubeapi: cannot build kube-apiserver: the Go module proxy (GOPROXY=off) cannot be reached to download its modules: ")
	assert.Contains(t, skip, "GOPROXY=off")
	t.Log(skip)
}
