package k8s

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/discovery/k8s/k8stest"
	"github.com/ekka-mesh/ekka-mesh/internal/kubeapi"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestRealAPIServer replays the recorded emqx objects (the EndpointSlices of
// emqx-headless, emqx-dashboard and the dual-stack emqx-dual, and the
// Endpoints of emqx-headless) into a real kube-apiserver and runs the cases
// the recorded tests run against the fake one, with a ServiceAccount token
// the server minted and RBAC deciding: the same names come out. The server
// itself filters the slices by label, and answers 401 and 403 with its own
// Status objects.
func TestRealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kube-apiserver")
	}
	checkLeaks(t)
	srv := kubeapi.Start(t)
	ctx := t.Context()
	srv.MustApply(t, "", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: emqx\n")
	for _, fixture := range []string{"endpointslices-emqx.json", "endpointslices-emqx-dual.json"} {
		var list struct {
			Items []map[string]any `json:"items"`
		}
		require.NoError(t, json.Unmarshal(k8stest.Fixture(fixture), &list))
		for _, item := range list.Items {
			item["apiVersion"], item["kind"] = "discovery.k8s.io/v1", "EndpointSlice"
			srv.MustApply(t, "emqx", string(recorded(t, item)))
		}
	}
	var ep map[string]any
	require.NoError(t, json.Unmarshal(k8stest.Fixture("endpoints-emqx-headless.json"), &ep))
	srv.MustApply(t, "emqx", string(recorded(t, ep)))

	// Two service accounts: one may list EndpointSlices (and get
	// Endpoints), the other may only get Endpoints.
	srv.MustApply(t, "emqx", `apiVersion: v1
kind: ServiceAccount
metadata: {name: emqx}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: legacy}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: emqx}
rules:
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list]}
  - {apiGroups: [""], resources: [endpoints], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: legacy}
rules:
  - {apiGroups: [""], resources: [endpoints], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: emqx}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: emqx}
subjects: [{kind: ServiceAccount, name: emqx}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: legacy}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: legacy}
subjects: [{kind: ServiceAccount, name: legacy}]
`)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tokenFile := func(sa string) string {
		token, err := srv.ServiceAccountToken(ctx, "emqx", sa, time.Hour)
		require.NoError(t, err)
		require.NoError(t, srv.WaitAllowed(ctx, token, "emqx", "get", "", "endpoints"))
		return write(sa+".token", token)
	}
	var log testnet.SyncBuffer
	base := Config{
		APIServer: srv.URL, ServiceName: "emqx-headless", AppName: "emqx",
		TokenFile: tokenFile("emqx"), CACertFile: write("ca.crt", string(srv.CAPEM)), NamespaceFile: write("namespace", "emqx"),
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	run := func(t *testing.T, cfg Config) ([]string, error) {
		t.Helper()
		d, err := New(cfg)
		require.NoError(t, err)
		return d.Discover(ctx)
	}

	t.Run("address types", func(t *testing.T) {
		for _, tt := range []struct {
			typ    AddressType
			suffix string
			want   []string
		}{
			{AddressIP, "", readyIPs},
			{AddressDNS, "pod.cluster.local", readyDNS},
			{AddressHostname, "svc.cluster.local", readyHostnames},
		} {
			cfg := base
			cfg.AddressType, cfg.Suffix = tt.typ, tt.suffix
			got, err := run(t, cfg)
			require.NoError(t, err, "%s", tt.typ)
			assert.Equal(t, tt.want, got, "%s: only the ready endpoints of emqx-headless's slices, the dashboard's left out by the server", tt.typ)
		}
		assert.NotContains(t, log.String(), "level=WARN")
	})
	t.Run("dual stack", func(t *testing.T) {
		cfg := base
		cfg.ServiceName = "emqx-dual"
		got, err := run(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, []string{"emqx@10.244.1.5", "emqx@10.244.2.7"}, got)
	})
	t.Run("endpoints when slices are forbidden", func(t *testing.T) {
		cfg := base
		cfg.TokenFile = tokenFile("legacy")
		got, err := run(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, readyIPs, got, "the addresses of both subsets, never notReadyAddresses")
		assert.Contains(t, log.String(), "may not list EndpointSlices; using the legacy Endpoints")
	})
	t.Run("no slice for the service", func(t *testing.T) {
		cfg := base
		cfg.ServiceName = "nothing"
		_, err := run(t, cfg)
		assert.ErrorContains(t, err, "no EndpointSlice has the label kubernetes.io/service-name=nothing")
	})
	t.Run("another namespace", func(t *testing.T) {
		cfg := base
		cfg.Namespace = "kube-system"
		_, err := run(t, cfg)
		assert.ErrorContains(t, err, `403 Forbidden: endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:emqx:emqx" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "kube-system"`)
	})
	t.Run("a token the server did not mint", func(t *testing.T) {
		cfg := base
		cfg.TokenFile = write("bad.token", "not-a-token")
		_, err := run(t, cfg)
		assert.ErrorContains(t, err, "401 Unauthorized")
	})
}

// recorded returns a recorded object without what the server that recorded
// it set (uid, resourceVersion, owner, ...), to create it again.
func recorded(t *testing.T, obj map[string]any) []byte {
	t.Helper()
	meta := obj["metadata"].(map[string]any)
	for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences", "namespace", "generateName", "selfLink"} {
		delete(meta, k)
	}
	data, err := json.Marshal(obj)
	require.NoError(t, err)
	return data
}
