package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/kubeapi"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// k8sNetnsChild marks the test binary re-executed inside the network
// namespace; k8sNetnsBinary passes it the ekka-mesh binary.
const (
	k8sNetnsChild  = "TEST_K8S_NETNS_CHILD"
	k8sNetnsBinary = "TEST_K8S_NETNS_EKKA_BINARY"
)

// k8sPodIPs are the "pod IPs" of the nodes: a real API server refuses
// loopback addresses in EndpointSlices and Endpoints (the recorded
// endpointslices-local.json of TestK8sCluster keeps them), so the nodes get
// addresses of a private range on the lo of a network namespace of their
// own.
var k8sPodIPs = []string{"10.77.0.1", "10.77.0.2", "10.77.0.3", "10.77.0.4"}

// TestK8sClusterRealAPIServer runs `ekka-mesh run` processes configured as
// the pods of deploy/kubernetes are (environment variables only, a node
// named after its "pod IP", k8s discovery with the ServiceAccount's token)
// against a real kube-apiserver: the ServiceAccount, Role, RoleBinding and
// Service come from deploy/kubernetes, the token is minted by the
// TokenRequest API, and the test writes the EndpointSlice the control plane
// would, listing three pod IPs. The three nodes form one cluster and their
// readiness probes say ready; then the slice grows to a fourth address, as
// when the StatefulSet is scaled, and a fourth node joins.
//
// The API server, etcd and the nodes run in a network namespace whose lo
// carries the pod IPs: the test binary re-executes itself there under
// unshare (as root, or in a user namespace of its own).
func TestK8sClusterRealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kube-apiserver, builds the binary and runs node processes")
	}
	if os.Getenv(k8sNetnsChild) == "" {
		runInK8sNetns(t)
		return
	}
	bin := os.Getenv(k8sNetnsBinary)
	require.NotEmpty(t, bin, "%s names the ekka-mesh binary", k8sNetnsBinary)
	ctx := t.Context()
	srv := kubeapi.Start(t)
	const ns = "ekka"
	srv.MustApply(t, "", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n")
	for _, file := range []string{"serviceaccount.yaml", "role.yaml", "rolebinding.yaml", "service.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", file))
		require.NoError(t, err)
		srv.MustApply(t, ns, string(data))
	}
	ips := k8sPodIPs
	var all []string
	for _, ip := range ips {
		all = append(all, "n@"+ip)
	}
	writeSlice(t, srv, ns, ips[:3])
	token, err := srv.ServiceAccountToken(ctx, ns, "ekka-mesh", time.Hour)
	require.NoError(t, err)

	dir := t.TempDir()
	sa := filepath.Join(dir, "serviceaccount")
	require.NoError(t, os.Mkdir(sa, 0o700))
	for file, content := range map[string][]byte{"token": []byte(token), "ca.crt": srv.CAPEM, "namespace": []byte(ns)} {
		require.NoError(t, os.WriteFile(filepath.Join(sa, file), content, 0o600))
	}

	h := &clusterHarness{
		t:      t,
		ctx:    ctx,
		bin:    bin,
		base:   testnet.FreeBase(t, all...),
		cookie: "k8s-apiserver-cookie",
	}
	// ctl (h.view) runs with this environment; each node with its own.
	base := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	admins := map[string]string{}
	procs := map[string]*nodeProc{}
	start := func(i int) {
		name := all[i]
		admins[name] = freeAddr(t, ips[i])
		env := map[string]string{
			"node.name":                    name,
			"node.cookie":                  h.cookie,
			"node.base_port":               strconv.Itoa(h.base),
			"node.admin.listen":            admins[name],
			"node.admin.ready_min_members": "3",
			"node.heartbeat_interval":      "200ms",
			"node.heartbeat_timeout":       "2s",
			"cluster.name":                 "k8sapi",
			"cluster.discovery":            "k8s",
			"cluster.autocluster.interval": "500ms",
			"cluster.autoheal":             "off",
			"cluster.k8s.apiserver":        srv.URL,
			"cluster.k8s.service_name":     "ekka-mesh",
			"cluster.k8s.app_name":         "n",
			"cluster.k8s.address_type":     "ip",
			"cluster.k8s.token_file":       filepath.Join(sa, "token"),
			"cluster.k8s.cacert_file":      filepath.Join(sa, "ca.crt"),
			"cluster.k8s.namespace_file":   filepath.Join(sa, "namespace"),
		}
		h.env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			h.env = append(h.env, config.EnvName(k)+"="+v)
		}
		procs[name] = h.run(t, name)
		h.env = base
	}
	for i := range 3 {
		start(i)
	}
	began := time.Now()
	testnet.Eventually(t, 60*time.Second, "every node running all three", h.view(t, all[:3], all[:3], all[:3], []string{}))
	t.Logf("three processes clustered through a real kube-apiserver %v after the last one started", time.Since(began).Round(time.Millisecond))
	for _, name := range all[:3] {
		testnet.Eventually(t, 30*time.Second, name+"'s /readyz saying ready", probe(admins[name], "/readyz"))
		assert.Empty(t, probe(admins[name], "/healthz")(), name)
	}

	// Scaled to four: the slice lists one more address.
	writeSlice(t, srv, ns, ips)
	start(3)
	testnet.Eventually(t, 60*time.Second, "every node running all four", h.view(t, all, all, all, []string{}))
	testnet.Eventually(t, 30*time.Second, all[3]+"'s /readyz saying ready", probe(admins[all[3]], "/readyz"))

	for _, name := range all {
		assert.Equal(t, exitOK, procs[name].term(t), name)
		log := procs[name].log.String()
		assert.Contains(t, logLines(log, "started")[0], "discovery=k8s", name)
		assert.NotContains(t, log, "level=WARN", "%s warned:\n%s", name, log)
		assert.NotContains(t, log, "level=ERROR", "%s:\n%s", name, log)
	}
}

// runInK8sNetns builds what the test needs (kube-apiserver, with the
// network the module proxy may need; ekka-mesh) and runs the test again in a
// new network namespace with k8sPodIPs on its lo.
func runInK8sNetns(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"unshare", "ip", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux unshare, iproute2 ip) to run the nodes in a network namespace: %v", tool, err)
		}
	}
	unshare := []string{"unshare", "--net"}
	if os.Geteuid() != 0 {
		unshare = []string{"unshare", "--user", "--map-root-user", "--net"}
	}
	if out, err := exec.Command(unshare[0], append(unshare[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace for the nodes (%s true): %v: %s; run as root", strings.Join(unshare, " "), err, strings.TrimSpace(string(out)))
	}
	apiserver, _ := kubeapi.Binary(t)
	bin := buildBinary(t)
	self, err := os.Executable()
	require.NoError(t, err)
	script := "set -e; ip link set lo up"
	for _, ip := range k8sPodIPs {
		script += "; ip addr add " + ip + "/32 dev lo"
	}
	script += `; exec "$0" "$@"`
	args := append(unshare[1:], "sh", "-c", script, self, "-test.run=^TestK8sClusterRealAPIServer$", "-test.v", "-test.count=1")
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.CommandContext(t.Context(), unshare[0], args...)
	cmd.Env = append(os.Environ(), k8sNetnsChild+"=1", k8sNetnsBinary+"="+bin, kubeapi.BinaryEnv+"="+apiserver)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the test in its network namespace failed:\n%s", out)
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "discovery_k8s_apiserver_test.go") || strings.HasPrefix(strings.TrimSpace(line), "---") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// writeSlice writes the EndpointSlice of service ekka-mesh in ns with a
// ready endpoint per IP, as the control plane would for its pods.
func writeSlice(t *testing.T, srv *kubeapi.Server, ns string, ips []string) {
	t.Helper()
	var eps []string
	for i, ip := range ips {
		eps = append(eps, fmt.Sprintf(`{addresses: [%q], conditions: {ready: true}, hostname: ekka-mesh-%d}`, ip, i))
	}
	srv.MustApply(t, ns, `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ekka-mesh-x7k2p
  labels: {kubernetes.io/service-name: ekka-mesh}
addressType: IPv4
ports: [{name: mesh, port: 4370, protocol: TCP}]
endpoints: [`+strings.Join(eps, ", ")+`]
`)
}

// freeAddr returns host:port with a port of host that was free a moment ago.
func freeAddr(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// probe returns a condition for waitFor: GET http://addr/path answers 200,
// as a Kubernetes httpGet probe wants.
func probe(addr, path string) func() string {
	return func() string {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprintf("GET %s: %s: %s", path, resp.Status, body)
		}
		return ""
	}
}
