package kubeapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery/etcd/etcdtest"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
)

// readyTimeout bounds the wait for /readyz after the process starts.
const readyTimeout = 90 * time.Second

// stopTimeout bounds the wait for the process to exit after SIGTERM, before
// it is killed.
const stopTimeout = 10 * time.Second

// Issuer is the service-account token issuer the server is started with.
const Issuer = "https://kubernetes.default.svc.cluster.local"

// Server is a running kube-apiserver.
type Server struct {
	// URL is the server's https URL on loopback, such as
	// https://127.0.0.1:40123.
	URL string
	// CAFile holds the PEM certificate of the CA that signed the
	// server's serving certificate; CAPEM is its content.
	CAFile string
	CAPEM  []byte
	// AdminToken is a bearer token of the group system:masters (may do
	// anything).
	AdminToken string
	// Version is the Kubernetes version it was built from.
	Version string

	client *http.Client
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
	log    *testnet.SyncBuffer

	mu        sync.Mutex
	resources map[string][]apiResource // group/version -> its resources
}

// Start builds or finds the kube-apiserver binary, starts an etcd and the
// server on free ports of 127.0.0.1, waits until /readyz answers ok and
// stops both when t ends. It skips t when the binary cannot be built for
// lack of network or tools.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, version := Binary(t)
	etcd := etcdtest.Start(t, etcdtest.Options{})

	dir := t.TempDir()
	token := randomHex(16)
	s := &Server{AdminToken: token, Version: version}
	ca, err := testpki.NewCA("kubeapi CA")
	if err != nil {
		t.Fatalf("kubeapi: CA: %v", err)
	}
	serving, err := ca.Issue(testpki.Leaf{
		CommonName: "kube-apiserver",
		DNSNames:   []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPs:        []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	if err != nil {
		t.Fatalf("kubeapi: serving certificate: %v", err)
	}
	files, err := ca.WriteFiles(dir, "serving", serving)
	if err != nil {
		t.Fatalf("kubeapi: %v", err)
	}
	s.CAFile, s.CAPEM = files.CA, ca.CertPEM
	saKey := filepath.Join(dir, "service-account-key.pem")
	saPub := filepath.Join(dir, "service-account.pub")
	tokens := filepath.Join(dir, "tokens.csv")
	if err := writeServiceAccountKey(saKey, saPub); err != nil {
		t.Fatalf("kubeapi: service-account key: %v", err)
	}
	// token,user,uid,"groups"
	if err := os.WriteFile(tokens, []byte(token+`,kubeapi-admin,kubeapi-admin,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatalf("kubeapi: %v", err)
	}
	certDir := filepath.Join(dir, "certs")

	s.client = &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}},
		Timeout:   30 * time.Second,
	}
	t.Cleanup(func() { s.stop() })
	// The port was free a moment before; if something took it meanwhile,
	// the server exits at once, and another port is tried.
	for attempt := 1; ; attempt++ {
		port := testnet.FreePort(t)
		s.URL = "https://127.0.0.1:" + strconv.Itoa(port)
		args := []string{
			"--etcd-servers=" + etcd.URL(),
			"--etcd-prefix=/kubeapi-" + randomHex(4),
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--tls-cert-file=" + files.Cert,
			"--tls-private-key-file=" + files.Key,
			"--cert-dir=" + certDir,
			"--token-auth-file=" + tokens,
			"--authorization-mode=RBAC",
			"--anonymous-auth=false",
			"--service-account-issuer=" + Issuer,
			"--service-account-key-file=" + saPub,
			"--service-account-signing-key-file=" + saKey,
			"--service-cluster-ip-range=10.96.0.0/16",
			// Only what the tests' objects need: namespaces that exist, a
			// service account's token volume in pods, and the Pod Security
			// Standards a namespace's labels ask for.
			"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity",
			"--disable-admission-plugins=" + strings.Join(disabledAdmission, ","),
			"--endpoint-reconciler-type=none",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			"--v=1",
		}
		s.exited, s.log = make(chan struct{}), &testnet.SyncBuffer{Limit: 4 << 20}
		s.cmd = exec.Command(bin, args...)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		// Its own process group, so that a kill reaches it all.
		s.cmd.SysProcAttr = procAttr()
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("kubeapi: starting %s: %v", bin, err)
		}
		go func(cmd *exec.Cmd, exited chan struct{}) {
			cmd.Wait()
			close(exited)
		}(s.cmd, s.exited)
		err := s.waitReady(t.Context())
		if err == nil {
			return s
		}
		if errors.Is(err, errExited) && strings.Contains(s.log.String(), "address already in use") && attempt < 3 {
			t.Logf("kubeapi: port %d was taken meanwhile; trying another", port)
			continue
		}
		t.Fatalf("kubeapi: %v\nkube-apiserver %s\n%s", err, strings.Join(args, " "), tail(s.log.String(), 60))
	}
}

// errExited is waitReady's error when the process exited while starting.
var errExited = errors.New("kube-apiserver exited while starting")

// disabledAdmission are the admission plugins kube-apiserver enables by
// default that these tests do not need.
var disabledAdmission = []string{
	"LimitRanger", "TaintNodesByCondition", "Priority", "DefaultTolerationSeconds",
	"DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "RuntimeClass",
	"CertificateApproval", "CertificateSigning", "ClusterTrustBundleAttest", "CertificateSubjectRestriction",
	"DefaultIngressClass", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook",
	"ResourceQuota",
}

// waitReady polls /readyz until it answers 200, the process exits or
// readyTimeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		code, body, err := s.Do(ctx, http.MethodGet, "/readyz", "", nil, s.AdminToken)
		if err == nil && code == http.StatusOK {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", code, tail(string(body), 10))
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w (%v)", errExited, s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after %v: /readyz: %s", time.Since(start).Round(time.Millisecond), last)
		case <-tick.C:
		}
	}
}

// stop ends the process: SIGTERM, then SIGKILL after stopTimeout.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return // never started
	}
	select {
	case <-s.exited:
		return
	default:
	}
	signalGroup(s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		signalGroup(s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.client.CloseIdleConnections()
}

// Log returns what the process wrote so far.
func (s *Server) Log() string { return s.log.String() }

// Do sends one request to path (with its query) with token as bearer (none
// when empty) and returns the status code and body.
func (s *Server) Do(ctx context.Context, method, path, contentType string, body []byte, token string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, r)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, data, err
}

// writeServiceAccountKey writes a new key that signs service-account
// tokens (private, to keyPath) and verifies them (public, to pubPath).
func writeServiceAccountKey(keyPath, pubPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
