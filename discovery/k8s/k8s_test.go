package k8s

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s/k8stest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
)

const testToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZW1xeDplbXF4In0.c2lnbmF0dXJl"

func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// apiFixture is a TLS fake API server with the recorded emqx objects, and
// the service-account files a pod would have for it.
type apiFixture struct {
	srv                       *k8stest.Server
	dir                       string
	tokenFile, caFile, nsFile string
	logBuf                    *testnet.SyncBuffer
	logger                    *slog.Logger
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	srv := k8stest.NewTLSServer(testToken)
	t.Cleanup(srv.Close)
	srv.SetEndpointSlices("emqx", k8stest.Fixture("endpointslices-emqx.json"))
	srv.SetEndpointSlices("ekka", k8stest.Fixture("endpointslices-local.json"))
	srv.SetEndpoints("emqx", "emqx-headless", k8stest.Fixture("endpoints-emqx-headless.json"))
	dir := t.TempDir()
	f := &apiFixture{
		srv: srv, dir: dir,
		tokenFile: filepath.Join(dir, "token"), caFile: filepath.Join(dir, "ca.crt"), nsFile: filepath.Join(dir, "namespace"),
		logBuf: &testnet.SyncBuffer{},
	}
	f.logger = slog.New(slog.NewTextHandler(f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	require.NoError(t, os.WriteFile(f.tokenFile, []byte(testToken+"\n"), 0o600))
	require.NoError(t, os.WriteFile(f.caFile, srv.CACertPEM(), 0o600))
	require.NoError(t, os.WriteFile(f.nsFile, []byte("emqx"), 0o600))
	return f
}

// config is the emqx-headless service as a pod in namespace emqx sees it.
func (f *apiFixture) config() Config {
	return Config{
		APIServer: f.srv.URL, ServiceName: "emqx-headless", AppName: "emqx",
		TokenFile: f.tokenFile, CACertFile: f.caFile, NamespaceFile: f.nsFile,
		Logger: f.logger,
	}
}

func discover(t *testing.T, cfg Config) ([]string, error) {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.Discover(ctx)
}

// The ready endpoints of the recorded slices: emqx-0, -1, -3 (ready) and
// -5 (no ready condition: ready, per the API); not emqx-2 (not ready), -4
// (terminating) nor the emqx-dashboard slice.
var (
	readyIPs       = []string{"emqx@10.244.1.12", "emqx@10.244.1.5", "emqx@10.244.2.7", "emqx@10.244.3.20"}
	readyDNS       = []string{"emqx@10-244-1-12.emqx.pod.cluster.local", "emqx@10-244-1-5.emqx.pod.cluster.local", "emqx@10-244-2-7.emqx.pod.cluster.local", "emqx@10-244-3-20.emqx.pod.cluster.local"}
	readyHostnames = []string{"emqx@emqx-0.emqx-headless.emqx.svc.cluster.local", "emqx@emqx-1.emqx-headless.emqx.svc.cluster.local", "emqx@emqx-3.emqx-headless.emqx.svc.cluster.local", "emqx@emqx-5.emqx-headless.emqx.svc.cluster.local"}
)

func TestAddressTypes(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	for _, tt := range []struct {
		typ    AddressType
		suffix string
		want   []string
	}{
		{"", "", readyIPs},
		{AddressIP, "svc.cluster.local", readyIPs}, // the suffix does not apply to ip
		{AddressDNS, "pod.cluster.local", readyDNS},
		{AddressDNS, "", []string{"emqx@10-244-1-12", "emqx@10-244-1-5", "emqx@10-244-2-7", "emqx@10-244-3-20"}},
		{AddressHostname, "svc.cluster.local", readyHostnames},
		{AddressHostname, "", []string{"emqx@emqx-0", "emqx@emqx-1", "emqx@emqx-3", "emqx@emqx-5"}},
	} {
		t.Run(fmt.Sprintf("%s/%q", tt.typ, tt.suffix), func(t *testing.T) {
			cfg := f.config()
			cfg.AddressType, cfg.Suffix = tt.typ, tt.suffix
			got, err := discover(t, cfg)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Zero(t, f.srv.Unauthorized())
}

func TestFallbackToEndpointsWhenSlicesAreNotServed(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	f.srv.SetSlicesStatus(http.StatusNotFound)
	for typ, want := range map[AddressType][]string{AddressIP: readyIPs, AddressDNS: readyDNS, AddressHostname: readyHostnames} {
		cfg := f.config()
		cfg.AddressType = typ
		cfg.Suffix = map[AddressType]string{AddressDNS: "pod.cluster.local", AddressHostname: "svc.cluster.local"}[typ]
		got, err := discover(t, cfg)
		require.NoError(t, err, "%s", typ)
		assert.Equal(t, want, got, "%s: the addresses of both subsets, never notReadyAddresses", typ)
	}
	assert.NotContains(t, f.logBuf.String(), "level=WARN", "a cluster without slices is no reason to warn")
	assert.Contains(t, f.logBuf.String(), "EndpointSlices not served; used the legacy Endpoints")
}

func TestFallbackToEndpointsWhenSlicesAreForbidden(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	f.srv.SetSlicesStatus(http.StatusForbidden)
	got, err := discover(t, f.config())
	require.NoError(t, err)
	assert.Equal(t, readyIPs, got)
	log := f.logBuf.String()
	assert.Contains(t, log, "level=WARN")
	assert.Contains(t, log, "may not list EndpointSlices; using the legacy Endpoints")
	assert.Contains(t, log, `cannot list resource \"endpointslices\"`)
}

func TestBothAPIsFailing(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	f.srv.SetSlicesStatus(http.StatusNotFound)
	cfg := f.config()
	cfg.ServiceName = "nosuch"
	_, err := discover(t, cfg)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "GET "+f.srv.URL+"/apis/discovery.k8s.io/v1/namespaces/emqx/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dnosuch: 404 Not Found")
	assert.Contains(t, msg, `GET `+f.srv.URL+`/api/v1/namespaces/emqx/endpoints/nosuch: 404 Not Found: endpoints "nosuch" not found (reason NotFound)`)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
}

func TestNoSliceForTheService(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	cfg := f.config()
	cfg.ServiceName = "nosuch"
	_, err := discover(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no EndpointSlice has the label kubernetes.io/service-name=nosuch; want the service nosuch to exist in namespace emqx")
}

func TestBearerToken(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)

	t.Run("missing token file", func(t *testing.T) {
		cfg := f.config()
		cfg.TokenFile = filepath.Join(f.dir, "no-such-token")
		d, err := New(cfg)
		require.NoError(t, err)
		for range 2 {
			_, err = d.Discover(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), "GET "+f.srv.URL+"/apis/discovery.k8s.io/v1/namespaces/emqx/endpointslices")
			assert.Contains(t, err.Error(), "401 Unauthorized: Unauthorized (reason Unauthorized); check the service-account token file")
		}
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
		warnings := strings.Count(f.logBuf.String(), "level=WARN msg=\"k8s discovery: cannot read the token file; asking without an Authorization header\"")
		assert.Equal(t, 1, warnings, "warned once, not on every pass:\n%s", f.logBuf.String())
	})

	t.Run("wrong token", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, "wrong"), []byte("wrong-token"), 0o600))
		cfg := f.config()
		cfg.TokenFile = filepath.Join(f.dir, "wrong")
		_, err := discover(t, cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "401 Unauthorized")
	})

	t.Run("no token configured", func(t *testing.T) {
		cfg := f.config()
		cfg.TokenFile = ""
		_, err := discover(t, cfg)
		assert.ErrorContains(t, err, "401 Unauthorized")
	})

	t.Run("rotated token is read again", func(t *testing.T) {
		tokenFile := filepath.Join(f.dir, "rotating")
		require.NoError(t, os.WriteFile(tokenFile, []byte("old"), 0o600))
		cfg := f.config()
		cfg.TokenFile = tokenFile
		d, err := New(cfg)
		require.NoError(t, err)
		_, err = d.Discover(context.Background())
		assert.ErrorContains(t, err, "401")
		require.NoError(t, os.WriteFile(tokenFile, []byte(testToken), 0o600))
		got, err := d.Discover(context.Background())
		require.NoError(t, err)
		assert.Equal(t, readyIPs, got)
	})
}

func TestTLSVerification(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)

	t.Run("system roots do not know the test CA", func(t *testing.T) {
		cfg := f.config()
		cfg.CACertFile = filepath.Join(f.dir, "no-such-ca.crt")
		_, err := discover(t, cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "GET "+f.srv.URL+"/apis/")
		assert.Contains(t, err.Error(), "certificate")
		assert.Contains(t, f.logBuf.String(), "no CA file; verifying the API server's certificate against the system roots")
	})

	t.Run("insecure_skip_verify", func(t *testing.T) {
		cfg := f.config()
		cfg.CACertFile = ""
		cfg.InsecureSkipVerify = true
		got, err := discover(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, readyIPs, got)
	})

	t.Run("another CA", func(t *testing.T) {
		otherCA := filepath.Join(f.dir, "other-ca.crt")
		require.NoError(t, os.WriteFile(otherCA, testpki.Must(testpki.NewCA("unrelated test CA")).CertPEM, 0o600))
		cfg := f.config()
		cfg.CACertFile = otherCA
		_, err := discover(t, cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "x509")
	})

	t.Run("CA file without a certificate", func(t *testing.T) {
		bad := filepath.Join(f.dir, "bad.crt")
		require.NoError(t, os.WriteFile(bad, []byte("not a certificate\n"), 0o600))
		cfg := f.config()
		cfg.CACertFile = bad
		_, err := New(cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "CA file "+bad+": no PEM certificate in it")
	})
}

func TestPlainHTTP(t *testing.T) {
	checkLeaks(t)
	srv := k8stest.NewServer(testToken)
	defer srv.Close()
	srv.SetEndpointSlices("emqx", k8stest.Fixture("endpointslices-emqx.json"))
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(testToken), 0o600))
	// The CA file is not even read for http://.
	got, err := discover(t, Config{
		APIServer: srv.URL, ServiceName: "emqx-headless", Namespace: "emqx", AppName: "emqx",
		TokenFile: tokenFile, CACertFile: filepath.Join(dir, "missing"),
	})
	require.NoError(t, err)
	assert.Equal(t, readyIPs, got)
}

func TestAPIServerPathPrefix(t *testing.T) {
	checkLeaks(t)
	srv := k8stest.NewServer("")
	defer srv.Close()
	srv.SetEndpointSlices("emqx", k8stest.Fixture("endpointslices-emqx.json"))
	proxy := httptest.NewServer(http.StripPrefix("/k8s/clusters/c-m-42", srv.Config.Handler))
	defer proxy.Close()
	got, err := discover(t, Config{APIServer: proxy.URL + "/k8s/clusters/c-m-42/", ServiceName: "emqx-headless", Namespace: "emqx", AppName: "emqx"})
	require.NoError(t, err)
	assert.Equal(t, readyIPs, got)
}

func TestNamespacePrecedence(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	for _, tt := range []struct {
		name, namespace, file, want, wantLog string
	}{
		{"explicit wins over the file", "ekka", write("ns1", "emqx\n"), "ekka", ""},
		{"the file when unset", "", write("ns2", " emqx\n"), "emqx", ""},
		{"default when the file is missing", "", filepath.Join(dir, "missing"), "default", "cannot read the namespace file; using the default namespace"},
		{"default when the file is empty", "", write("ns3", "\n"), "default", "the namespace file is empty"},
		{"default when no file is configured", "", "", "default", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config()
			cfg.Namespace, cfg.NamespaceFile = tt.namespace, tt.file
			d, err := New(cfg)
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.Namespace())
			if tt.wantLog != "" {
				assert.Contains(t, f.logBuf.String(), tt.wantLog)
			}
		})
	}
	cfg := f.config()
	cfg.NamespaceFile = write("bad", "Not_A_Label")
	_, err := New(cfg)
	assert.ErrorContains(t, err, `namespace file `+cfg.NamespaceFile+` holds "Not_A_Label": want a DNS label`)
}

func TestDualStackUsesIPv4Slices(t *testing.T) {
	checkLeaks(t)
	f := newAPIFixture(t)
	f.srv.SetEndpointSlices("emqx", k8stest.Fixture("endpointslices-emqx-dual.json"))
	cfg := f.config()
	cfg.ServiceName = "emqx-dual"
	got, err := discover(t, cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"emqx@10.244.1.5", "emqx@10.244.2.7"}, got)
	cfg.AddressType, cfg.Suffix = AddressHostname, "svc.cluster.local"
	got, err = discover(t, cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"emqx@emqx-0.emqx-dual.emqx.svc.cluster.local", "emqx@emqx-1.emqx-dual.emqx.svc.cluster.local"}, got)
}

// sliceJSON is a one-slice list for handler-made answers.
func sliceJSON(service, addressType string, endpoints string) string {
	return `{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{},"items":[{"metadata":{"name":"` + service +
		`-x","labels":{"kubernetes.io/service-name":"` + service + `"}},"addressType":"` + addressType + `","endpoints":` + endpoints + `}]}`
}

func TestIPv6OnlyAndSkippedAddresses(t *testing.T) {
	checkLeaks(t)
	srv := k8stest.NewServer("")
	defer srv.Close()
	srv.SetEndpointSlices("default", []byte(sliceJSON("svc", "IPv6", `[
		{"addresses":["fd00::5"],"conditions":{"ready":true},"hostname":"svc-0"},
		{"addresses":["fd00::7"],"conditions":{"ready":true}},
		{"addresses":["not-an-ip"],"conditions":{"ready":true},"hostname":"svc-2"},
		{"addresses":[],"conditions":{"ready":true}},
		{"addresses":["fd00::5"],"conditions":{"ready":true},"hostname":"svc-0"}]`)))
	var logBuf testnet.SyncBuffer
	base := Config{APIServer: srv.URL, ServiceName: "svc", AppName: "n", Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
	got, err := discover(t, base)
	require.NoError(t, err)
	assert.Equal(t, []string{"n@fd00::5", "n@fd00::7"}, got, "duplicates dropped, bad address skipped")
	assert.Contains(t, logBuf.String(), `\"not-an-ip\" is not an IP address`)

	cfg := base
	cfg.AddressType, cfg.Suffix = AddressDNS, "pod.cluster.local"
	got, err = discover(t, cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"n@fd00--5.default.pod.cluster.local", "n@fd00--7.default.pod.cluster.local"}, got)

	cfg = base
	cfg.AddressType = AddressHostname
	got, err = discover(t, cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"n@svc-0", "n@svc-2"}, got)
	assert.Contains(t, logBuf.String(), "fd00::7 has no hostname")
}

func TestPagination(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	var continues []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		continues = append(continues, r.URL.Query().Get("continue"))
		mu.Unlock()
		switch r.URL.Query().Get("continue") {
		case "":
			io.WriteString(w, strings.Replace(sliceJSON("svc", "IPv4", `[{"addresses":["10.0.0.1"]}]`), `"metadata":{}`, `"metadata":{"continue":"page2"}`, 1))
		case "page2":
			io.WriteString(w, sliceJSON("svc", "IPv4", `[{"addresses":["10.0.0.2"]}]`))
		}
	}))
	defer srv.Close()
	got, err := discover(t, Config{APIServer: srv.URL, ServiceName: "svc", AppName: "n"})
	require.NoError(t, err)
	assert.Equal(t, []string{"n@10.0.0.1", "n@10.0.0.2"}, got)
	assert.Equal(t, []string{"", "page2"}, continues)

	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Replace(sliceJSON("svc", "IPv4", `[]`), `"metadata":{}`, `"metadata":{"continue":"again"}`, 1))
	}))
	defer endless.Close()
	_, err = discover(t, Config{APIServer: endless.URL, ServiceName: "svc", AppName: "n"})
	assert.ErrorContains(t, err, "still more after 100 pages of EndpointSlices")
}

func TestBadAnswers(t *testing.T) {
	checkLeaks(t)
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"malformed JSON", 200, `{"kind":"EndpointSliceList","items":[{"endpoints":[{"addresses":`, "malformed JSON answer"},
		{"not JSON", 200, "<html>proxy error</html>", "malformed JSON answer (24 bytes)"},
		{"wrong types", 200, `{"kind":"EndpointSliceList","items":[{"endpoints":"ten"}]}`, "malformed JSON answer"},
		{"wrong kind", 200, `{"kind":"PodList","items":[]}`, "got a PodList, want an EndpointSliceList"},
		{"ready is not a bool", 200, sliceJSON("svc", "IPv4", `[{"addresses":["10.0.0.1"],"conditions":{"ready":"yes"}}]`), "malformed JSON answer"},
		{"server error with text", 500, "etcdserver: request timed out\n", `500 Internal Server Error: body "etcdserver: request timed out"`},
		{"too large", 200, `{"kind":"EndpointSliceList","items":[` + strings.Repeat(`{},`, 400) + `{}]}`, "answer larger than 1024 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := discover(t, Config{APIServer: srv.URL, ServiceName: "svc", AppName: "n", MaxResponseBytes: 1024})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "GET "+srv.URL+"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestContextIsHonoured(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	d, err := New(Config{APIServer: srv.URL, ServiceName: "svc", AppName: "n"})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.Discover(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = d.Discover(cancelled)
	assert.ErrorIs(t, err, context.Canceled)

	// Timeout bounds a request whatever the context.
	d, err = New(Config{APIServer: srv.URL, ServiceName: "svc", AppName: "n", Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	start = time.Now()
	_, err = d.Discover(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestConfigErrors(t *testing.T) {
	good := Config{APIServer: "https://kubernetes.default.svc:443", ServiceName: "emqx", AppName: "emqx"}
	_, err := New(good)
	require.NoError(t, err)
	for _, tt := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.APIServer = "" }, "APIServer is empty"},
		{func(c *Config) { c.APIServer = "kubernetes:443" }, `APIServer "kubernetes:443": want an http:// or https:// URL`},
		{func(c *Config) { c.APIServer = "https://" }, `APIServer "https://": want a URL with a host`},
		{func(c *Config) { c.APIServer = "https://k8s/?x=1" }, `APIServer "https://k8s/?x=1": want a URL without user, query or fragment`},
		{func(c *Config) { c.ServiceName = "" }, `ServiceName "": want a DNS label`},
		{func(c *Config) { c.ServiceName = "Emqx" }, `ServiceName "Emqx": want a DNS label (a-z 0-9 -)`},
		{func(c *Config) { c.ServiceName = "emqx-" }, `ServiceName "emqx-": want a DNS label that starts and ends with a letter or digit`},
		{func(c *Config) { c.Namespace = "a/b" }, `Namespace "a/b": want a DNS label`},
		{func(c *Config) { c.AppName = "" }, `AppName "": want a short node name`},
		{func(c *Config) { c.AppName = "em qx" }, `AppName "em qx"`},
		{func(c *Config) { c.AppName = "a@b" }, `AppName "a@b"`},
		{func(c *Config) { c.AddressType = "fqdn" }, `AddressType "fqdn": want ip, dns or hostname`},
		{func(c *Config) { c.Suffix = ".svc" }, `Suffix ".svc": want a DNS name`},
		{func(c *Config) { c.Suffix = "10.0.0.1" }, `Suffix "10.0.0.1"`},
		{func(c *Config) { c.Timeout = -time.Second }, "Timeout -1s"},
		{func(c *Config) { c.MaxResponseBytes = -1 }, "MaxResponseBytes -1"},
	} {
		cfg := good
		tt.change(&cfg)
		d, err := New(cfg)
		if assert.Error(t, err, "%+v", cfg) {
			assert.Contains(t, err.Error(), "k8s discovery: "+tt.want)
			assert.Nil(t, d)
		}
	}
}

func TestLockAndRegisterAreNotSupported(t *testing.T) {
	d, err := New(Config{APIServer: "http://127.0.0.1:1", ServiceName: "emqx", AppName: "emqx"})
	require.NoError(t, err)
	for name, fn := range map[string]func(context.Context) error{
		"lock": d.Lock, "unlock": d.Unlock, "register": d.Register, "unregister": d.Unregister,
	} {
		err := fn(context.Background())
		assert.ErrorIs(t, err, discovery.ErrNotSupported, name)
		assert.ErrorContains(t, err, "k8s discovery: "+name, name)
	}
}

func TestUnreachableAPIServer(t *testing.T) {
	checkLeaks(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := discover(t, Config{APIServer: url, ServiceName: "emqx", AppName: "emqx"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "k8s discovery: GET "+url+"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Demqx: dial tcp")
}

// fuzzTransport answers every request with the same body.
type fuzzTransport struct {
	status int
	body   []byte
}

func (f fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: f.status, Status: fmt.Sprintf("%d %s", f.status, http.StatusText(f.status)),
		Body: io.NopCloser(bytes.NewReader(f.body)), Header: http.Header{}, Request: r,
	}, nil
}

// FuzzDiscover feeds any answer to the decoders of both APIs and every
// address type: an error or names, never a panic, and every name valid.
func FuzzDiscover(f *testing.F) {
	f.Add(200, k8stest.Fixture("endpointslices-emqx.json"))
	f.Add(200, k8stest.Fixture("endpoints-emqx-headless.json"))
	f.Add(200, k8stest.Fixture("endpointslices-emqx-dual.json"))
	f.Add(404, []byte(`{"kind":"Status","message":"x","reason":"NotFound","code":404}`))
	f.Add(403, []byte(`{"kind":"Status","message":"forbidden"}`))
	f.Add(200, []byte(`{"items":[{"metadata":{"labels":{"kubernetes.io/service-name":"emqx-headless"}},"addressType":"IPv4","endpoints":[{"addresses":["1.2.3.4"],"hostname":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		for _, typ := range []AddressType{AddressIP, AddressDNS, AddressHostname} {
			d, err := New(Config{APIServer: "http://apiserver", ServiceName: "emqx-headless", AppName: "emqx", AddressType: typ, Suffix: "cluster.local"})
			require.NoError(t, err)
			d.client.Transport = fuzzTransport{status: status, body: body}
			names, err := d.Discover(context.Background())
			if err != nil {
				continue
			}
			for _, n := range names {
				require.True(t, strings.HasPrefix(n, "emqx@"), "%s gave the bad name %q", typ, n)
				require.Equal(t, 1, strings.Count(n, "@"), "%s gave the bad name %q", typ, n)
			}
		}
	})
}
