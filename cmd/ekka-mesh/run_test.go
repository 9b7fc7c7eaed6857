package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/static"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// ---- helpers shared by run_test.go, ctl_test.go and cluster_test.go ----

// checkLeaks fails the test if goroutines started during it are still
// running once its cleanups (registered later, so run earlier) are done.
func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// envFunc returns a getenv reading only vars.
func envFunc(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// testPKI writes a throwaway CA and one node certificate (server and client
// use, valid for 127.0.0.1-127.0.0.3) as PEM files into dir.
type testPKI struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	ca, err := testpki.NewCA("ekka-mesh test CA")
	require.NoError(t, err)
	node, err := ca.Issue(testpki.Leaf{CommonName: "ekka-mesh test node", IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)}})
	require.NoError(t, err)
	f, err := ca.WriteFiles(dir, "node", node)
	require.NoError(t, err)
	return testPKI{caFile: f.CA, certFile: f.Cert, keyFile: f.Key, pool: ca.Pool()}
}

// inprocNode is runNode running in a goroutine of the test.
type inprocNode struct {
	node   *mesh.Node
	log    *testnet.SyncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startRunNode runs the run command in-process with the given flags and
// environment and waits until its node is up. The node is stopped at the
// end of the test unless stop was called.
func startRunNode(t *testing.T, env map[string]string, args ...string) *inprocNode {
	t.Helper()
	var stdout bytes.Buffer
	opts, code, done := parseRunArgs(args, &stdout, &stdout)
	require.False(t, done, "parseRunArgs(%q) ended the command with %d: %s", args, code, stdout.String())
	ctx, cancel := context.WithCancel(context.Background())
	p := &inprocNode{log: &testnet.SyncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	started := make(chan *mesh.Node, 1)
	go func() {
		p.done <- runNode(ctx, opts, p.log, runHooks{getenv: envFunc(env), started: func(n *mesh.Node) { started <- n }})
	}()
	select {
	case p.node = <-started:
	case code := <-p.done:
		cancel()
		t.Fatalf("run %q exited with %d before starting:\n%s", args, code, p.log.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("run %q did not start in 20s:\n%s", args, p.log.String())
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop cancels the node's context, as SIGTERM does, and returns the exit status.
func (p *inprocNode) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code // later calls see it too
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not stop in 30s:\n%s", p.log.String())
		return -1
	}
}

// ---- run: flags ----

func TestRunArgs(t *testing.T) {
	var out, errOut bytes.Buffer
	opts, code, done := parseRunArgs([]string{
		"--set", "cluster.name=a", "--base-port", "5000", "--config", "x.conf",
		"--cookie", "c", "--name", "n1@127.0.0.1", "--set", "node.name=n2@127.0.0.1", "--log-level", "debug",
	}, &out, &errOut)
	require.False(t, done, "exit %d: %s", code, errOut.String())
	assert.Equal(t, "x.conf", opts.configPath)
	assert.Equal(t, []string{"node.name=n1@127.0.0.1", "node.cookie=c", "node.base_port=5000", "log.level=debug", "cluster.name=a", "node.name=n2@127.0.0.1"}, opts.overrides,
		"flags apply as --name, --cookie, --base-port, --log-level, then each --set in order")

	opts, _, done = parseRunArgs([]string{"--log-format", "json", "--set", "log.level=warn"}, &out, &errOut)
	require.False(t, done, errOut.String())
	assert.Equal(t, []string{"log.format=json", "log.level=warn"}, opts.overrides)

	opts, _, done = parseRunArgs(nil, &out, &errOut)
	require.False(t, done)
	assert.Empty(t, opts.overrides, "without the flags, log.level and log.format come from the configuration")

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `ekka-mesh run: takes no arguments besides flags, got ["extra"]`},
		{[]string{"--nope"}, "ekka-mesh run: flag provided but not defined: --nope"},
		{[]string{"--name"}, "ekka-mesh run: flag needs an argument: --name"},
		{[]string{"--log-level", "loud"}, `ekka-mesh run: --log-level "loud": want debug, info, warn or error`},
		{[]string{"--log-level", "DEBUG"}, `ekka-mesh run: --log-level "DEBUG": want debug, info, warn or error`},
		{[]string{"--log-format", "xml"}, `ekka-mesh run: --log-format "xml": want text or json`},
	} {
		var out, errOut bytes.Buffer
		_, code, done := parseRunArgs(tt.args, &out, &errOut)
		assert.True(t, done, "%q", tt.args)
		assert.Equal(t, exitUsage, code, "%q", tt.args)
		assert.Contains(t, errOut.String(), tt.want, "%q", tt.args)
		assert.Empty(t, out.String(), "%q", tt.args)
	}

	code, stdout, stderr := run("help", "run")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stderr)
	for _, want := range []string{"Usage: ekka-mesh run [--config FILE]", "-set KEY=VALUE", "-base-port", "-cookie", "-name", "-log-level", "-log-format", "SIGTERM"} {
		assert.Contains(t, stdout, want)
	}
}

// ---- run: settings to mesh.Config ----

func TestMeshConfigMapsEveryKey(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	conf := filepath.Join(dir, "node.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`## every key a node uses
node.name = emqx7@127.0.0.2
node.cookie = "s3cret cookie"
node.base_port = 5000
node.bind = 127.0.0.3
node.tls.enable = on
node.tls.certfile = %s
node.tls.keyfile = %s
node.tls.cacertfile = %s
node.tls.verify = verify_peer
node.tls.fail_if_no_peer_cert = on
node.heartbeat_interval = 250ms
node.heartbeat_timeout = 2s
node.compression = off
cluster.name = prod
cluster.discovery = static
cluster.static.seeds = emqx1@10.0.0.1, emqx2@10.0.0.2
cluster.autoheal = 20s
cluster.autoclean = 1h
cluster.autocluster.interval = 3s
`, pki.certFile, pki.keyFile, pki.caFile)), 0o600))
	s, err := config.Load(conf, nil, nil)
	require.NoError(t, err)
	cfg, err := meshConfig(s)
	require.NoError(t, err)

	assert.Equal(t, "emqx7@127.0.0.2", cfg.Name)
	assert.Equal(t, "s3cret cookie", cfg.Cookie)
	assert.Equal(t, "prod", cfg.Cluster)
	assert.Equal(t, 5000, cfg.BasePort)
	assert.Equal(t, "127.0.0.3", cfg.Bind)
	assert.Equal(t, 250*time.Millisecond, cfg.HeartbeatInterval)
	assert.Equal(t, 2*time.Second, cfg.HeartbeatTimeout)
	assert.Equal(t, mesh.CompressionOff, cfg.Compression)
	assert.Equal(t, time.Hour, cfg.Autoclean)
	assert.Equal(t, 3*time.Second, cfg.AutoclusterInterval)
	st, ok := cfg.Discovery.(*static.Static)
	require.True(t, ok, "discovery is %T, want *static.Static", cfg.Discovery)
	assert.Equal(t, []string{"emqx1@10.0.0.1", "emqx2@10.0.0.2"}, st.Seeds())

	require.NotNil(t, cfg.TLS)
	require.Len(t, cfg.TLS.Certificates, 1)
	leaf, err := x509.ParseCertificate(cfg.TLS.Certificates[0].Certificate[0])
	require.NoError(t, err)
	assert.Equal(t, "ekka-mesh test node", leaf.Subject.CommonName)
	assert.Equal(t, tls.RequireAndVerifyClientCert, cfg.TLS.ClientAuth)
	assert.False(t, cfg.TLS.InsecureSkipVerify)
	require.NotNil(t, cfg.TLS.RootCAs)
	assert.True(t, cfg.TLS.RootCAs.Equal(pki.pool), "RootCAs is the CA of node.tls.cacertfile")
	assert.True(t, cfg.TLS.ClientCAs.Equal(pki.pool), "ClientCAs is the CA of node.tls.cacertfile")

	// The other TLS choices.
	for _, tt := range []struct {
		overrides []string
		auth      tls.ClientAuthType
		insecure  bool
	}{
		{[]string{"node.tls.fail_if_no_peer_cert=off"}, tls.VerifyClientCertIfGiven, false},
		{[]string{"node.tls.verify=verify_none"}, tls.RequireAnyClientCert, true},
		{[]string{"node.tls.verify=verify_none", "node.tls.fail_if_no_peer_cert=off"}, tls.RequestClientCert, true},
	} {
		s, err := config.Load(conf, tt.overrides, nil)
		require.NoError(t, err)
		cfg, err := meshConfig(s)
		require.NoError(t, err, "%q", tt.overrides)
		assert.Equal(t, tt.auth, cfg.TLS.ClientAuth, "%q", tt.overrides)
		assert.Equal(t, tt.insecure, cfg.TLS.InsecureSkipVerify, "%q", tt.overrides)
	}

	// Defaults: ekka@127.0.0.1, manual discovery, no TLS.
	s, err = config.Load("", []string{"node.cookie=c"}, nil)
	require.NoError(t, err)
	cfg, err = meshConfig(s)
	require.NoError(t, err)
	assert.Equal(t, "ekka@127.0.0.1", cfg.Name)
	assert.Equal(t, "ekka", cfg.Cluster)
	assert.Equal(t, portmap.DefaultBasePort, cfg.BasePort)
	assert.Equal(t, "", cfg.Bind)
	assert.Nil(t, cfg.Discovery, "manual discovery is no strategy")
	assert.Nil(t, cfg.TLS)
	assert.Equal(t, time.Second, cfg.HeartbeatInterval)
	assert.Equal(t, 5*time.Second, cfg.HeartbeatTimeout)
	assert.Equal(t, 5*time.Minute, cfg.Autoclean)
	s, err = config.Load("", []string{"node.cookie=c", "cluster.autoclean=off"}, nil)
	require.NoError(t, err)
	cfg, err = meshConfig(s)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), cfg.Autoclean)
}

func TestMeshConfigErrors(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello\n"), 0o600))
	missing := filepath.Join(dir, "missing.pem")
	tlsOn := []string{"node.cookie=c", "node.tls.enable=on", "node.tls.certfile=" + pki.certFile, "node.tls.keyfile=" + pki.keyFile}
	for _, tt := range []struct {
		overrides []string
		want      string
	}{
		{append(slices.Clone(tlsOn[:2]), "node.tls.certfile="+missing, "node.tls.keyfile="+pki.keyFile),
			"node.tls.certfile = " + missing + ", node.tls.keyfile = " + pki.keyFile + ": cannot load them as a PEM certificate and its private key: open " + missing + ": no such file or directory"},
		{append(slices.Clone(tlsOn[:2]), "node.tls.certfile="+pki.certFile, "node.tls.keyfile="+pki.certFile), "cannot load them as a PEM certificate and its private key"},
		{append(slices.Clone(tlsOn), "node.tls.cacertfile="+notPEM), "node.tls.cacertfile = " + notPEM + ": no PEM certificate in it"},
		{append(slices.Clone(tlsOn), "node.tls.cacertfile="+missing), "node.tls.cacertfile = " + missing + ": open " + missing + ": no such file or directory"},
		{[]string{"node.name=n6@127.0.0.1", "node.base_port=65530"}, "above 65535"},
	} {
		overrides := append([]string{"node.cookie=c"}, tt.overrides...)
		s, err := config.Load("", overrides, nil)
		require.NoError(t, err, "%q", tt.overrides)
		_, err = meshConfig(s)
		if assert.Error(t, err, "%q", tt.overrides) {
			assert.Contains(t, err.Error(), tt.want, "%q", tt.overrides)
		}
	}
}

// ---- run: the command ----

// runStatus runs the run command in-process to completion (it must fail
// before starting a node) and returns its exit status and stderr.
func runStatus(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts, code, done := parseRunArgs(args, &out, &errOut)
	if done {
		return code, errOut.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	environ := func() []string { return envList(env) }
	code = runNode(ctx, opts, &errOut, runHooks{getenv: envFunc(env), environ: environ, started: func(*mesh.Node) {
		t.Errorf("run %q started a node; want it to fail first", args)
		cancel()
	}})
	return code, errOut.String()
}

func TestRunConfigErrors(t *testing.T) {
	checkLeaks(t)
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	unknown := filepath.Join("testdata", "unknown-key.conf")
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want []string // lines or parts of stderr
	}{
		{env, []string{"--config", unknown}, []string{
			"ekka-mesh run: testdata/unknown-key.conf:4: unknown key cluster.static.seed: did you mean cluster.static.seeds?\n",
			"ekka-mesh run: testdata/unknown-key.conf:5: node.heartbeat_interval = 30: ",
		}},
		{env, []string{"--config", filepath.Join("testdata", "nosuch.conf")}, []string{"ekka-mesh run: config file: open testdata/nosuch.conf: no such file or directory"}},
		{env, []string{"--set", "node.heartbeat_interval=30"}, []string{`ekka-mesh run: override "node.heartbeat_interval=30": node.heartbeat_interval = 30: `}},
		{env, []string{"--set", "nokey"}, []string{`ekka-mesh run: override "nokey": want key=value`}},
		{env, []string{"--base-port", "x"}, []string{`ekka-mesh run: override "node.base_port=x": node.base_port = x: `}},
		{env, []string{"--name", "bad"}, []string{`node.name = bad`}},
		{env, []string{"--cookie", "s", "--set", "cluster.discovery=static"}, []string{"cluster.discovery = static needs cluster.static.seeds"}},
		{env, []string{"--cookie", "s", "--set", "node.tls.enable=on", "--set", "node.tls.certfile=/nonexistent/c.pem", "--set", "node.tls.keyfile=/nonexistent/c.key"},
			[]string{"ekka-mesh run: node.tls.certfile = /nonexistent/c.pem, node.tls.keyfile = /nonexistent/c.key: cannot load them"}},
		{map[string]string{"HOME": home, "EKKA_MESH_NODE__BASE_PORT": "abc"}, nil, []string{"ekka-mesh run: environment variable EKKA_MESH_NODE__BASE_PORT: node.base_port = abc: "}},
		{map[string]string{"HOME": home, "EKKA_MESH_NODE__BASEPORT": "4380"}, nil, []string{"ekka-mesh run: environment variable EKKA_MESH_NODE__BASEPORT: unknown key node.baseport: did you mean EKKA_MESH_NODE__BASE_PORT (node.base_port)?"}},
		{map[string]string{}, nil, []string{"ekka-mesh run: bad cookie file: no home directory to keep .ekka-mesh.cookie in; set node.cookie (or EKKA_MESH_NODE__COOKIE)"}},
	} {
		code, stderr := runStatus(t, tt.env, tt.args...)
		assert.Equal(t, exitUsage, code, "%q: stderr %s", tt.args, stderr)
		for _, want := range tt.want {
			assert.Contains(t, stderr, want, "%q", tt.args)
		}
	}
	// Every case failed before the cookie was needed, or had one: no
	// cookie file was created.
	_, err := os.Stat(filepath.Join(home, config.CookieFile))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "a failed run created the cookie file: %v", err)
}

func TestRunPortInUse(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	code, stderr := runStatus(t, map[string]string{"HOME": t.TempDir()},
		"--name", "busy@127.0.0.1", "--base-port", strconv.Itoa(port), "--cookie", "c")
	assert.Equal(t, exitFail, code, stderr)
	assert.Contains(t, stderr, "ekka-mesh run: mesh: node busy@127.0.0.1 cannot listen")
	assert.Contains(t, stderr, "address already in use")
}

// logLines returns the lines of a node's log whose msg is msg.
func logLines(log, msg string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, " msg="+msg+" ") || strings.HasSuffix(line, " msg="+msg) || strings.Contains(line, ` msg="`+msg+`"`) {
			out = append(out, line)
		}
	}
	return out
}

func TestRunCookieFile(t *testing.T) {
	checkLeaks(t)
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	base := testnet.FreeBase(t, "c1@127.0.0.1")
	args := []string{"--name", "c1@127.0.0.1", "--base-port", strconv.Itoa(base)}
	cookiePath := filepath.Join(home, config.CookieFile)

	// First start: no cookie anywhere, so the file is created, 0400.
	p := startRunNode(t, env, args...)
	info, err := os.Stat(cookiePath)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o400), info.Mode().Perm())
	data, err := os.ReadFile(cookiePath)
	require.NoError(t, err)
	cookie := string(data)
	assert.Regexp(t, `^[A-Z]{20}$`, cookie)
	created := logLines(p.log.String(), "created a new cookie file; every node of the cluster needs the same cookie")
	require.Len(t, created, 1, p.log.String())
	assert.Contains(t, created[0], "path="+cookiePath)
	// The node uses that cookie: ctl finds it in the same HOME.
	code, stdout, stderr := ctl(t, env, "--node", "c1@127.0.0.1", "--base-port", strconv.Itoa(base), "status", "--json")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"node":"c1@127.0.0.1"`)
	assert.Equal(t, exitOK, p.stop(t))

	// Second start: the file is read, not replaced, and no line says created.
	p = startRunNode(t, env, args...)
	assert.Empty(t, logLines(p.log.String(), "created a new cookie file; every node of the cluster needs the same cookie"), p.log.String())
	data, err = os.ReadFile(cookiePath)
	require.NoError(t, err)
	assert.Equal(t, cookie, string(data))
	code, _, stderr = ctl(t, env, "--node", "c1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", cookie, "ping", "c1@127.0.0.1")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, exitOK, p.stop(t))

	// A cookie from the environment: no file is created.
	home2 := t.TempDir()
	env2 := map[string]string{"HOME": home2, "EKKA_MESH_NODE__COOKIE": "from-env"}
	p = startRunNode(t, env2, args...)
	_, err = os.Stat(filepath.Join(home2, config.CookieFile))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "cookie file created although the environment had a cookie: %v", err)
	code, _, stderr = ctl(t, map[string]string{"HOME": home2}, "--node", "c1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", "from-env", "status")
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, exitOK, p.stop(t))
}

func TestRunLogsLifecycleAndEvents(t *testing.T) {
	checkLeaks(t)
	env := map[string]string{"HOME": t.TempDir()}
	base := testnet.FreeBase(t, "e1@127.0.0.1", "e2@127.0.0.2")
	b := strconv.Itoa(base)
	p1 := startRunNode(t, env, "--name", "e1@127.0.0.1", "--base-port", b, "--cookie", "k", "--set", "cluster.name=logs",
		"--set", "node.heartbeat_interval=200ms", "--set", "node.heartbeat_timeout=1s")
	p2 := startRunNode(t, env, "--name", "e2@127.0.0.2", "--base-port", b, "--cookie", "k", "--set", "cluster.name=logs",
		"--set", "node.heartbeat_interval=200ms", "--set", "node.heartbeat_timeout=1s",
		"--set", "cluster.discovery=static", "--set", "cluster.static.seeds=e1@127.0.0.1", "--set", "cluster.autocluster.interval=200ms")

	started := logLines(p1.log.String(), "started")
	require.Len(t, started, 1, p1.log.String())
	for _, want := range []string{"name=e1@127.0.0.1", "addr=127.0.0.1:" + strconv.Itoa(base+1), "guid=" + p1.node.GUID().String(), "cluster=logs", "discovery=manual"} {
		assert.Contains(t, started[0], want)
	}
	assert.Contains(t, logLines(p2.log.String(), "started")[0], "seeds=e1@127.0.0.1")
	assert.Contains(t, started[0], "autoheal=15s", "cluster.autoheal = on by default: autoheal runs with a 15s delay")
	assert.Empty(t, logLines(p1.log.String(), "autoheal could not start"), p1.log.String())

	testnet.Eventually(t, 20*time.Second, "e1 logs e2 up", func() string {
		if ups := logLines(p1.log.String(), "node-up"); len(ups) == 0 || !strings.Contains(ups[0], "member=e2@127.0.0.2 guid="+p2.node.GUID().String()) {
			return p1.log.String()
		}
		return ""
	})
	assert.Equal(t, exitOK, p2.stop(t))
	testnet.Eventually(t, 20*time.Second, "e1 logs e2 down", func() string {
		if len(logLines(p1.log.String(), "node-down")) == 0 {
			return p1.log.String()
		}
		return ""
	})
	assert.Contains(t, logLines(p1.log.String(), "node-down")[0], "member=e2@127.0.0.2")
	log2 := p2.log.String()
	assert.Len(t, logLines(log2, "stopping"), 1, log2)
	assert.Len(t, logLines(log2, "stopped"), 1, log2)
	assert.Less(t, strings.Index(log2, "msg=stopping"), strings.Index(log2, "msg=stopped"))
	assert.NotContains(t, log2, "level=ERROR")
	assert.Equal(t, exitOK, p1.stop(t))
	assert.Len(t, logLines(p1.log.String(), "stopped"), 1)
}

func TestRunTLS(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	env := map[string]string{"HOME": t.TempDir()}
	base := testnet.FreeBase(t, "s1@127.0.0.1", "s2@127.0.0.2")
	b := strconv.Itoa(base)
	conf := filepath.Join(dir, "tls.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`node.cookie = tls-cookie
node.base_port = %d
node.tls.enable = on
node.tls.certfile = %s
node.tls.keyfile = %s
node.tls.cacertfile = %s
node.tls.verify = verify_peer
node.tls.fail_if_no_peer_cert = on
cluster.discovery = static
cluster.static.seeds = s1@127.0.0.1, s2@127.0.0.2
cluster.autocluster.interval = 200ms
`, base, pki.certFile, pki.keyFile, pki.caFile)), 0o600))
	p1 := startRunNode(t, env, "--config", conf, "--name", "s1@127.0.0.1")
	startRunNode(t, env, "--config", conf, "--name", "s2@127.0.0.2")
	assert.Contains(t, logLines(p1.log.String(), "started")[0], "tls=verify_peer")
	testnet.Eventually(t, 20*time.Second, "s1 and s2 linked over TLS", func() string {
		if r := p1.node.Info().RunningNodes; !reflect.DeepEqual(r, []string{"s1@127.0.0.1", "s2@127.0.0.2"}) {
			return fmt.Sprintf("s1 runs %v", r)
		}
		return ""
	})
	// ctl takes the TLS settings from the same file.
	code, stdout, stderr := ctl(t, env, "--config", conf, "--node", "s2@127.0.0.2", "status")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Running nodes: s1@127.0.0.1, s2@127.0.0.2")
	// Without TLS, the node cannot be reached.
	code, _, stderr = ctl(t, env, "--cookie", "tls-cookie", "--base-port", b, "--timeout", "3s", "--node", "s2@127.0.0.2", "status")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh ctl: connect to s2@127.0.0.2: ")
}
