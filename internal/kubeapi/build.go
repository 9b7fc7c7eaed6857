package kubeapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// BinaryEnv names an environment variable that, when set, is the path of a
// kube-apiserver binary to use instead of building one. (Not EKKA_MESH_...:
// ekka-mesh reports such a variable that names no config key.)
const BinaryEnv = "KUBE_APISERVER_BINARY"

// buildTimeout bounds one build of kube-apiserver: a cold build on two cores
// downloads a few hundred modules and compiles a few thousand packages.
const buildTimeout = 30 * time.Minute

// binary is what one test binary found or built: the path, or why none.
var binary struct {
	once    sync.Once
	path    string
	version string
	skip    string // the reason to skip, when nothing could be had for lack of network or tools
	err     error
}

// Binary returns the path of a kube-apiserver binary and the Kubernetes
// version it was built from, building it on first use (see the package
// documentation). It skips t when the binary cannot be had for lack of the
// go command or of the Go module proxy, and fails t on any other error.
func Binary(t testing.TB) (path, version string) {
	t.Helper()
	binary.once.Do(func() {
		binary.path, binary.version, binary.skip, binary.err = findOrBuild(t)
	})
	switch {
	case binary.skip != "":
		t.Skip(binary.skip)
	case binary.err != nil:
		t.Fatal(binary.err)
	}
	return binary.path, binary.version
}

func findOrBuild(t testing.TB) (path, version, skip string, err error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", "", "", fmt.Errorf("kubeapi: %s=%s: %v", BinaryEnv, p, err)
		}
		return p, "(from " + BinaryEnv + ")", "", nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", "", "kubeapi: no kube-apiserver: the go command is not on PATH to build it (or set " + BinaryEnv + ")", nil
	}
	modDir, err := moduleDir(goBin)
	if err != nil {
		return "", "", "", err
	}
	version, sum, err := moduleKey(modDir)
	if err != nil {
		return "", "", "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		// No HOME: the system's temporary directory still serves one run.
		t.Logf("kubeapi: no user cache directory (%v); caching kube-apiserver under %s", err, os.TempDir())
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ekka-mesh")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", "", fmt.Errorf("kubeapi: cache directory: %v", err)
	}
	path = filepath.Join(dir, "kube-apiserver-"+version+"-"+sum)
	if usable(path) {
		return path, version, "", nil
	}
	// Another test binary of the same run (go test runs packages in
	// parallel) may be building it: wait for it, then look again.
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return "", "", "", fmt.Errorf("kubeapi: locking %s.lock: %v", path, err)
	}
	defer unlock()
	if usable(path) {
		return path, version, "", nil
	}
	start := time.Now()
	t.Logf("kubeapi: building kube-apiserver %s from %s into %s (once per machine; several minutes)", version, modDir, path)
	skip, err = build(goBin, modDir, version, path)
	if skip != "" || err != nil {
		return "", "", skip, err
	}
	t.Logf("kubeapi: built kube-apiserver %s in %v", version, time.Since(start).Round(time.Second))
	return path, version, "", nil
}

// usable reports whether path is an executable regular file.
func usable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 && fi.Size() > 0
}

// moduleDir finds internal/kubetest from the main module's go.mod, which
// the go command finds from the working directory (a test's is its package
// directory).
func moduleDir(goBin string) (string, error) {
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("kubeapi: go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("kubeapi: not inside the ekka-mesh module (go env GOMOD is empty); run the tests from the repository")
	}
	dir := filepath.Join(filepath.Dir(gomod), "internal", "kubetest")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("kubeapi: the kube-apiserver module: %v", err)
	}
	return dir, nil
}

var kubernetesRequire = regexp.MustCompile(`(?m)^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\S+)`)

// buildEnv and buildArgs are how kube-apiserver is built (the cache key
// covers them): static, and reporting its version as a release build does
// (without it, /version says v0.0.0-master).
var buildEnv = []string{"GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0"}

func buildArgs(version string) []string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	var ld []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld = append(ld, "-X "+pkg+".gitVersion="+version, "-X "+pkg+".gitMajor="+major, "-X "+pkg+".gitMinor="+minor,
			"-X "+pkg+".gitTreeState=clean")
	}
	return []string{"build", "-trimpath", "-ldflags=-s -w " + strings.Join(ld, " ")}
}

// moduleKey returns the Kubernetes version internal/kubetest requires and a
// short hash of its go.mod and go.sum and of how it is built, which name the
// binary in the cache.
func moduleKey(dir string) (version, sum string, err error) {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", "", fmt.Errorf("kubeapi: %v", err)
	}
	m := kubernetesRequire.FindSubmatch(mod)
	if m == nil {
		return "", "", fmt.Errorf("kubeapi: %s/go.mod requires no k8s.io/kubernetes version", dir)
	}
	gosum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", "", fmt.Errorf("kubeapi: %v", err)
	}
	h := sha256.New()
	h.Write(mod)
	h.Write(gosum)
	fmt.Fprintln(h, buildEnv, buildArgs(string(m[1])))
	return string(m[1]), hex.EncodeToString(h.Sum(nil))[:12], nil
}

// build runs go build in modDir and moves the result to path. It returns a
// reason to skip when the failure is the network's.
func build(goBin, modDir, version, path string) (skip string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	defer os.Remove(tmp)
	args := append([]string{goBin}, buildArgs(version)...)
	args = append(args, "-o", tmp, "k8s.io/kubernetes/cmd/kube-apiserver")
	if nice, err := exec.LookPath("nice"); err == nil {
		// The build loads every core for minutes; the tests beside it
		// keep theirs.
		args = append([]string{nice, "-n", "10"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), buildEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("kubeapi: building kube-apiserver took more than %v:\n%s", buildTimeout, tail(out.String(), 40))
		}
		if line := networkError(out.String()); line != "" {
			proxy, _ := exec.Command(goBin, "env", "GOPROXY").Output()
			return fmt.Sprintf("kubeapi: cannot build kube-apiserver: the Go module proxy (GOPROXY=%s) cannot be reached to download its modules: %s",
				strings.TrimSpace(string(proxy)), line), nil
		}
		return "", fmt.Errorf("kubeapi: go build k8s.io/kubernetes/cmd/kube-apiserver in %s: %v\n%s", modDir, err, tail(out.String(), 40))
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("kubeapi: %v", err)
	}
	return "", nil
}

// networkMarkers are what the go command prints when it cannot download a
// module.
var networkMarkers = []string{
	"dial tcp", "no such host", "i/o timeout", "connection refused", "network is unreachable",
	"TLS handshake timeout", "proxyconnect", "GOPROXY=off", "module lookup disabled",
	"connection reset by peer", "server misbehaving", "temporary failure in name resolution",
}

// networkError returns the first line of out that says a download failed,
// or "".
func networkError(out string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		lower := strings.ToLower(line)
		for _, m := range networkMarkers {
			if strings.Contains(lower, strings.ToLower(m)) {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
