package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/admin"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// adminClient is an HTTP client that keeps no connection open after a
// request (the leak check would see its goroutines).
func adminClient(tlsCfg *tls.Config) *http.Client {
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: tlsCfg},
	}
}

// adminGet GETs url and returns the status code and body.
func adminGet(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	require.NoError(t, err, "GET %s", url)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestAdminRun(t *testing.T) {
	checkLeaks(t)
	name := "adm1@127.0.0.1"
	port := testnet.FreePort(t)
	p := startRunNode(t, map[string]string{"HOME": t.TempDir()},
		"--name", name, "--base-port", strconv.Itoa(testnet.FreeBase(t, name)), "--cookie", "admin-run-cookie",
		"--set", fmt.Sprintf("node.admin.listen=127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)
	c := adminClient(nil)

	assert.Contains(t, p.log.String(), "admin endpoint listening")
	assert.Contains(t, p.log.String(), "url="+base)

	code, body := adminGet(t, c, base+"healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"node":"adm1@127.0.0.1","healthy":true,"reasons":[]}`, body)

	code, body = adminGet(t, c, base+"readyz")
	assert.Equal(t, http.StatusOK, code, body)
	var rd admin.Readiness
	require.NoError(t, json.Unmarshal([]byte(body), &rd))
	assert.True(t, rd.Ready)
	assert.Equal(t, 1, rd.MinMembers, "node.admin.ready_min_members defaults to 1")

	code, body = adminGet(t, c, base+"status")
	assert.Equal(t, http.StatusOK, code)
	raw, err := p.node.Call(t.Context(), name, mesh.MethodInfo, nil)
	require.NoError(t, err)
	assert.Equal(t, string(raw)+"\n", body, "the JSON of ctl status --json")

	code, body = adminGet(t, c, base+"metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.Contains(body, "\nekka_mesh_"), "no ekka_mesh_ metric in /metrics")
	assert.Contains(t, body, "\ngo_goroutines ")

	code, _ = adminGet(t, c, base+"debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "pprof is off by default")

	assert.Equal(t, exitOK, p.stop(t))
	_, err = c.Get(base + "healthz")
	assert.Error(t, err, "the endpoint stops with the node")
}

func TestAdminRunTLS(t *testing.T) {
	checkLeaks(t)
	pki := newTestPKI(t, t.TempDir())
	name := "adm2@127.0.0.1"
	port := testnet.FreePort(t)
	p := startRunNode(t, map[string]string{"HOME": t.TempDir()},
		"--name", name, "--base-port", strconv.Itoa(testnet.FreeBase(t, name)), "--cookie", "admin-tls-cookie",
		"--set", fmt.Sprintf("node.admin.listen=127.0.0.1:%d", port),
		"--set", "node.admin.pprof=on",
		"--set", "node.admin.tls.certfile="+pki.certFile,
		"--set", "node.admin.tls.keyfile="+pki.keyFile,
		"--set", "node.admin.tls.cacertfile="+pki.caFile)
	base := fmt.Sprintf("https://127.0.0.1:%d/", port)
	assert.Contains(t, p.log.String(), "url="+base)
	assert.Contains(t, p.log.String(), "client_certificates=true")

	cert, err := tls.LoadX509KeyPair(pki.certFile, pki.keyFile)
	require.NoError(t, err)
	withCert := adminClient(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{cert}})
	code, _ := adminGet(t, withCert, base+"healthz")
	assert.Equal(t, http.StatusOK, code)
	code, _ = adminGet(t, withCert, base+"debug/pprof/")
	assert.Equal(t, http.StatusOK, code, "node.admin.pprof = on")

	_, err = adminClient(&tls.Config{RootCAs: pki.pool}).Get(base + "healthz")
	assert.Error(t, err, "a client without a certificate is refused")
	code, body := adminGet(t, adminClient(nil), fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	assert.Equal(t, http.StatusBadRequest, code, "plain HTTP to the HTTPS endpoint")
	assert.NotContains(t, body, "healthy")
	assert.Equal(t, exitOK, p.stop(t))
}

func TestAdminRunConfigErrors(t *testing.T) {
	checkLeaks(t)
	pki := newTestPKI(t, t.TempDir())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	name := "adm3@127.0.0.1"
	common := []string{"--name", name, "--base-port", strconv.Itoa(testnet.FreeBase(t, name)), "--cookie", "c"}
	free := fmt.Sprintf("node.admin.listen=127.0.0.1:%d", testnet.FreePort(t))
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600))
	for _, tt := range []struct {
		args []string
		want string
	}{
		// node.admin.tls.* is refused before the node starts, as a bad
		// configuration (exit 2); a listen failure is a failure to start
		// (exit 1).
		{[]string{"--set", "node.admin.tls.certfile=" + pki.certFile},
			"ekka-mesh run: node.admin.tls.certfile is set but node.admin.tls.keyfile is not: set both for HTTPS, or neither\n"},
		{[]string{"--set", "node.admin.tls.keyfile=" + pki.keyFile},
			"ekka-mesh run: node.admin.tls.keyfile is set but node.admin.tls.certfile is not: set both for HTTPS, or neither\n"},
		{[]string{"--set", "node.admin.tls.cacertfile=" + pki.caFile},
			"ekka-mesh run: node.admin.tls.cacertfile is set but node.admin.tls.certfile and node.admin.tls.keyfile are not"},
		{[]string{"--set", "node.admin.tls.certfile=/nonexistent/a.pem", "--set", "node.admin.tls.keyfile=" + pki.keyFile},
			"ekka-mesh run: node.admin.tls.certfile = /nonexistent/a.pem, node.admin.tls.keyfile = " + pki.keyFile + ": cannot load them as a PEM certificate and its private key: open /nonexistent/a.pem: no such file or directory\n"},
		{[]string{"--set", "node.admin.tls.certfile=" + pki.certFile, "--set", "node.admin.tls.keyfile=" + pki.keyFile, "--set", "node.admin.tls.cacertfile=" + notPEM},
			"ekka-mesh run: node.admin.tls.cacertfile = " + notPEM + ": no PEM certificate in it, want one or more \"-----BEGIN CERTIFICATE-----\" blocks\n"},
		{[]string{"--set", "node.admin.listen=" + busy.Addr().String()},
			"ekka-mesh run: node.admin.listen = " + busy.Addr().String() + ": port already in use"},
		{[]string{"--set", "node.admin.listen=192.0.2.1:8370"},
			"ekka-mesh run: node.admin.listen = 192.0.2.1:8370: address not available: no interface of this host has that IP address\n"},
	} {
		args := append(slices.Clone(common), tt.args...)
		if !strings.Contains(strings.Join(tt.args, " "), "node.admin.listen=") {
			args = append(args, "--set", free)
		}
		code, stderr := runStatus(t, map[string]string{"HOME": t.TempDir()}, args...)
		want := exitUsage
		if strings.HasPrefix(tt.want, "ekka-mesh run: node.admin.listen") {
			want = exitFail
		}
		assert.Equal(t, want, code, "%q: %s", tt.args, stderr)
		assert.Contains(t, stderr, tt.want, "%q", tt.args)
	}
}

// findChromium returns the path of a Chromium or Chrome on PATH, or skips
// the test naming the package to install.
func findChromium(t *testing.T) string {
	t.Helper()
	if p, ok := lookChromium(); ok {
		return p
	}
	t.Skip("no chromium, chromium-browser or google-chrome on PATH: install Debian's chromium package (apt-get install chromium) to run the status page in a browser")
	return ""
}

// lookChromium finds a browser chromedp can drive on PATH.
func lookChromium() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// browserProcesses lists the processes still running with user-data-dir
// dir (the browser and its helpers), killing them when kill is set.
func browserProcesses(dir string, kill bool) []int {
	want := []byte("--user-data-dir=" + dir + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, want) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue // a zombie: gone, only not reaped yet
			}
		}
		pids = append(pids, pid)
		if kill {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return pids
}

// startBrowser starts a headless Chromium with a fresh profile and returns
// a chromedp context of one tab. The browser and every process it started
// are gone when the test ends.
func startBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // as root, Chromium refuses to start without it
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		allocCancel() // kills the browser and waits for it
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer wcancel()
		_, err := testnet.Poll(wctx, "the browser's processes to exit once it was closed", func() string {
			if left := browserProcesses(dir, true); len(left) > 0 {
				return fmt.Sprintf("still running: %v", left)
			}
			return ""
		})
		assert.NoError(t, err)
	})
	return ctx
}

// pageMembers reads the members table of the status page: node=status,
// in page order.
const pageMembers = `Array.from(document.querySelectorAll('#members tr[data-node]')).map(r => r.dataset.node + '=' + r.dataset.status).join(' ')`

func TestAdminStatusPageBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs node processes and a browser")
	}
	chromium := findChromium(t)
	h := newHarness(t, buildBinary(t), "admin-browser-cookie", []string{n1, n2, n3})
	all := []string{n1, n2, n3}
	port := testnet.FreePort(t)
	procs := map[string]*nodeProc{
		n1: h.run(t, n1, "--config", filepath.Join("testdata", "cluster.conf"), "--name", n1,
			"--base-port", strconv.Itoa(h.base), "--cookie", h.cookie,
			"--set", fmt.Sprintf("node.admin.listen=127.0.0.1:%d", port),
			// n1 alone decides splits (the others run autoheal): it
			// suspends itself once it is left alone, which the page shows.
			// Two kills in a row within stable_after would be taken for
			// an unstable view: that rule is off here.
			"--set", "cluster.split_brain.strategy=keep-majority", "--set", "cluster.split_brain.stable_after=1s",
			"--set", "cluster.split_brain.down_all_when_unstable=off"),
		n2: h.start(t, n2),
		n3: h.start(t, n3),
	}
	testnet.Eventually(t, 30*time.Second, "every node running all three", h.view(t, all, all, all, []string{}))

	// A lock whose resource and owner are markup: the page must show them
	// as text. (Member names cannot carry markup: mesh refuses them.)
	const hostileResource = `<img src=x onerror="window.pwned=1">`
	const hostileOwner = `<b id="pwned">owner</b>`
	code, stdout, stderr := h.ctl(t, n1, "lock", "--type", "local", "--lease", "10m", "--owner", hostileOwner, hostileResource)
	require.Equal(t, exitOK, code, "ctl lock: %s%s", stdout, stderr)

	ctx := startBrowser(t, chromium)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	start := time.Now()
	_, err := chromedp.Run(ctx, chromedp.Navigate(url))
	require.NoError(t, err, "loading %s", url)

	// read evaluates expr in the page, polling until want accepts it.
	read := func(what, expr string, want func(string) bool) string {
		t.Helper()
		var got string
		testnet.Eventually(t, 60*time.Second, what, func() string {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			var err error
			if got, err = chromedp.Run(rctx, chromedp.Evaluate[string](expr)); err != nil {
				return "evaluating in the page: " + err.Error()
			}
			if !want(got) {
				return fmt.Sprintf("the page shows %q", got)
			}
			return ""
		})
		return got
	}
	allUp := fmt.Sprintf("%s=up %s=up %s=up", n1, n2, n3)
	read("three members up on the page", pageMembers, func(s string) bool { return s == allUp })
	t.Logf("the page showed three members up %v after loading", time.Since(start).Round(time.Millisecond))
	read("the page live over server-sent events", `document.getElementById('conn').dataset.state`, func(s string) bool { return s == "live" })
	assert.Equal(t, "3 of 3 up", read("the member count", `document.getElementById('member-count').textContent`, func(s string) bool { return s != "" }))
	read("links to n2 and n3", `Array.from(new Set(Array.from(document.querySelectorAll('#links tr[data-peer]')).map(r => r.dataset.peer))).join(' ')`,
		func(s string) bool { return s == n2+" "+n3 })

	lockRow := read("the hostile lock shown", `Array.from(document.querySelectorAll('#locks tr[data-resource]')).map(r => r.cells[0].textContent + '|' + r.cells[1].textContent).join('\n')`,
		func(s string) bool { return s != "" })
	assert.Equal(t, hostileResource+"|"+hostileOwner, lockRow, "resource and owner shown as text")
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`String(document.querySelectorAll('#locks img, #locks b, #pwned').length) + ' ' + String(window.pwned)`))
	require.NoError(t, err)
	assert.Equal(t, "0 undefined", injected, "markup from a lock became elements")

	procs[n3].kill9(t)
	killed := time.Now()
	read("n3 shown down after kill -9", pageMembers, func(s string) bool {
		return strings.Contains(s, n1+"=up") && strings.Contains(s, n2+"=up") &&
			(strings.Contains(s, n3+"=down") || !strings.Contains(s, n3+"="))
	})
	t.Logf("the page showed n3 down %v after kill -9", time.Since(killed).Round(time.Millisecond))
	read("the member count after the kill", `document.getElementById('member-count').textContent`, func(s string) bool { return strings.HasPrefix(s, "2 of ") })
	const splitBrain = `document.getElementById('split-brain').dataset.state + '|' + document.getElementById('split-brain').textContent`
	read("n1 serving with 2 of 3 up", splitBrain, func(s string) bool {
		return strings.HasPrefix(s, "serving|strategy: keep-majority") && strings.Contains(s, "this side has 2 of 3 members")
	})

	// Alone, n1 is a minority: keep-majority suspends it, and the page
	// says so and why, with the node not ready.
	procs[n2].kill9(t)
	shown := read("n1 suspended once alone", splitBrain, func(s string) bool { return strings.HasPrefix(s, "down|") })
	assert.Contains(t, shown, "not serving: keep-majority: this side has 1 of 3 members")
	assert.Contains(t, shown, "stopped 1 times")
	read("n1 not ready while suspended", `document.getElementById('ready').textContent`, func(s string) bool { return s == "not ready" })
}
