package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s/k8stest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

func TestK8sDiscoveryConfig(t *testing.T) {
	dir := t.TempDir()
	nsFile := filepath.Join(dir, "namespace")
	require.NoError(t, os.WriteFile(nsFile, []byte("ekka\n"), 0o600))
	base := []string{
		"node.cookie=c", "cluster.discovery=k8s", "cluster.k8s.apiserver=http://127.0.0.1:8001",
		"cluster.k8s.service_name=ekka-mesh", "cluster.k8s.app_name=n", "cluster.k8s.namespace_file=" + nsFile,
	}
	s, err := config.Load("", base, nil)
	require.NoError(t, err)
	cfg, err := meshConfig(s)
	require.NoError(t, err)
	d, ok := cfg.Discovery.(*k8s.K8s)
	require.True(t, ok, "cluster.discovery = k8s built a %T", cfg.Discovery)
	assert.Equal(t, "ekka", d.Namespace(), "the namespace file is read when cluster.k8s.namespace is unset")

	s, err = config.Load("", append(base, "cluster.k8s.namespace=emqx"), nil)
	require.NoError(t, err)
	cfg, err = meshConfig(s)
	require.NoError(t, err)
	assert.Equal(t, "emqx", cfg.Discovery.(*k8s.K8s).Namespace(), "cluster.k8s.namespace wins over the file")

	notPEM := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello\n"), 0o600))
	s, err = config.Load("", append(base, "cluster.k8s.apiserver=https://127.0.0.1:6443", "cluster.k8s.cacert_file="+notPEM), nil)
	require.NoError(t, err)
	_, err = meshConfig(s)
	assert.ErrorContains(t, err, "k8s discovery: CA file "+notPEM+": no PEM certificate in it")
}

// TestK8sCluster runs three `ekka-mesh run` processes, n@127.0.0.1,
// n@127.0.0.2 and n@127.0.0.3, configured only by their config files with
// cluster.discovery = k8s, against a fake Kubernetes API server over TLS
// serving the recorded EndpointSlices of service ekka-mesh; they form one
// cluster, seen through `ctl status --json`.
func TestK8sCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	api := k8stest.NewTLSServer("k8s-cluster-token")
	defer api.Close()
	api.SetEndpointSlices("ekka", k8stest.Fixture("endpointslices-local.json"))

	bin := buildBinary(t)
	all := []string{"n@127.0.0.1", "n@127.0.0.2", "n@127.0.0.3"}
	h := newHarness(t, bin, "k8s-cluster-cookie", all)
	dir := t.TempDir()
	sa := filepath.Join(dir, "serviceaccount")
	require.NoError(t, os.Mkdir(sa, 0o700))
	for file, content := range map[string][]byte{"token": []byte("k8s-cluster-token\n"), "ca.crt": api.CACertPEM(), "namespace": []byte("ekka")} {
		require.NoError(t, os.WriteFile(filepath.Join(sa, file), content, 0o600))
	}

	procs := map[string]*nodeProc{}
	var lastStart time.Time
	for _, name := range all {
		conf := filepath.Join(dir, strings.ReplaceAll(name, "@", "_")+".conf")
		require.NoError(t, os.WriteFile(conf, []byte(strings.Join([]string{
			"## " + name + ": everything comes from this file.",
			"node.name = " + name,
			`node.cookie = "` + h.cookie + `"`,
			"node.base_port = " + strconv.Itoa(h.base),
			"node.heartbeat_interval = 200ms",
			"node.heartbeat_timeout = 2s",
			"cluster.name = k8scl",
			"cluster.discovery = k8s",
			"cluster.autocluster.interval = 500ms",
			"cluster.autoheal = off",
			"cluster.k8s.apiserver = " + api.URL,
			"cluster.k8s.service_name = ekka-mesh",
			"cluster.k8s.app_name = n",
			"cluster.k8s.address_type = ip",
			"cluster.k8s.token_file = " + filepath.Join(sa, "token"),
			"cluster.k8s.cacert_file = " + filepath.Join(sa, "ca.crt"),
			"cluster.k8s.namespace_file = " + filepath.Join(sa, "namespace"),
		}, "\n")+"\n"), 0o600))
		procs[name] = h.startConf(t, name, conf)
		lastStart = time.Now()
	}
	testnet.Eventually(t, 30*time.Second, "every node running all three", h.view(t, all, all, all, []string{}))
	t.Logf("three processes clustered through k8s discovery %v after the last one started", time.Since(lastStart).Round(time.Millisecond))
	assert.Zero(t, api.Unauthorized(), "every request carried the token")
	assert.Positive(t, api.Requests())

	for _, name := range all {
		assert.Equal(t, exitOK, procs[name].term(t), name)
		log := procs[name].log.String()
		assert.Contains(t, logLines(log, "started")[0], "discovery=k8s", name)
		assert.NotContains(t, log, "level=WARN", "%s warned:\n%s", name, log)
		assert.NotContains(t, log, "level=ERROR", "%s:\n%s", name, log)
	}
}
