package k8s

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// AddressType says how a discovered endpoint's host is written in its node
// name.
type AddressType string

// The address types.
const (
	// AddressIP writes the endpoint's IP: app@10.0.0.1.
	AddressIP AddressType = "ip"
	// AddressDNS writes the dashed IP, the namespace and the suffix:
	// app@10-0-0-1.<namespace>.<suffix>.
	AddressDNS AddressType = "dns"
	// AddressHostname writes the endpoint's hostname, the service, the
	// namespace and the suffix: app@<hostname>.<service>.<namespace>.<suffix>.
	AddressHostname AddressType = "hostname"
)

// The service-account files a pod gets, and the namespace used when none is
// configured or found.
const (
	DefaultTokenFile     = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	DefaultCACertFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
	DefaultNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
	DefaultNamespace     = "default"
)

// Defaults of Config's limits.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 16 << 20
)

// maxPages bounds how many continue pages of EndpointSlices one Discover
// follows.
const maxPages = 100

// Config configures the strategy. APIServer, ServiceName and AppName are
// required.
type Config struct {
	// APIServer is the API server's URL, http:// or https://, optionally
	// with a path prefix (an API proxy's).
	APIServer string
	// ServiceName is the service whose endpoints are the nodes.
	ServiceName string
	// Namespace is the service's namespace. Empty: the content of
	// NamespaceFile, or DefaultNamespace when that is empty or missing.
	Namespace string
	// AddressType is how a node's host is written (default AddressIP).
	AddressType AddressType
	// AppName is the short name of the discovered nodes.
	AppName string
	// Suffix ends dns and hostname addresses; empty means none (and then
	// no namespace or service either, as in ekka).
	Suffix string

	// TokenFile holds the bearer token, read before each request. Empty:
	// no token. A missing or empty file: no token, and a warning.
	TokenFile string
	// CACertFile holds the PEM CA certificates the API server's
	// certificate must chain to. Empty or missing (logged): the system
	// roots. Present but without a certificate: New fails.
	CACertFile string
	// NamespaceFile is read when Namespace is empty. Empty: not read.
	NamespaceFile string
	// InsecureSkipVerify accepts any API server certificate. Off by
	// default; only for testing.
	InsecureSkipVerify bool

	// Timeout bounds each request (default DefaultTimeout); the context
	// passed to Discover bounds it too.
	Timeout time.Duration
	// MaxResponseBytes bounds each response body (default
	// DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// Logger receives warnings (token file missing, fallback to Endpoints,
	// skipped addresses). Default: discard.
	Logger *slog.Logger
}

// K8s discovers the ready endpoints of a Kubernetes service.
type K8s struct {
	cfg       Config
	base      *url.URL
	namespace string
	client    *http.Client
	log       *slog.Logger

	mu     sync.Mutex
	warned map[string]bool // warnings already logged at warn level
}

var _ discovery.Strategy = (*K8s)(nil)

// New checks cfg, resolves the namespace, loads the CA certificates and
// returns the strategy. Errors name the field, its value and what was
// expected.
func New(cfg Config) (*K8s, error) {
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	cfg.AddressType = cmp.Or(cfg.AddressType, AddressIP)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	base, err := checkConfig(&cfg)
	if err != nil {
		return nil, fmt.Errorf("k8s discovery: %w", err)
	}
	k := &K8s{cfg: cfg, base: base, log: cfg.Logger, warned: map[string]bool{}}
	if k.namespace, err = k.resolveNamespace(); err != nil {
		return nil, fmt.Errorf("k8s discovery: %w", err)
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		// The autocluster loop asks every few seconds and stops once the
		// node is clustered: a kept-alive connection would only outlive
		// its use (and the strategy has no Close).
		DisableKeepAlives: true,
	}
	if base.Scheme == "https" {
		tc, err := k.tlsConfig()
		if err != nil {
			return nil, fmt.Errorf("k8s discovery: %w", err)
		}
		transport.TLSClientConfig = tc
	}
	k.client = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			// The API server does not redirect; following one would send
			// the token elsewhere.
			return http.ErrUseLastResponse
		},
	}
	return k, nil
}

func checkConfig(cfg *Config) (*url.URL, error) {
	if cfg.APIServer == "" {
		return nil, errors.New("APIServer is empty, want the API server's URL, such as https://kubernetes.default.svc:443")
	}
	base, err := url.Parse(cfg.APIServer)
	switch {
	case err != nil:
		return nil, fmt.Errorf("APIServer %q: %v", cfg.APIServer, err)
	case base.Scheme != "http" && base.Scheme != "https":
		return nil, fmt.Errorf("APIServer %q: want an http:// or https:// URL", cfg.APIServer)
	case base.Host == "":
		return nil, fmt.Errorf("APIServer %q: want a URL with a host", cfg.APIServer)
	case base.RawQuery != "" || base.Fragment != "" || base.User != nil:
		return nil, fmt.Errorf("APIServer %q: want a URL without user, query or fragment", cfg.APIServer)
	}
	if err := checkDNSLabel(cfg.ServiceName); err != nil {
		return nil, fmt.Errorf("ServiceName %q: %v", cfg.ServiceName, err)
	}
	if cfg.Namespace != "" {
		if err := checkDNSLabel(cfg.Namespace); err != nil {
			return nil, fmt.Errorf("Namespace %q: %v", cfg.Namespace, err)
		}
	}
	if _, err := portmap.Parse(cfg.AppName + "@h"); cfg.AppName == "" || strings.Contains(cfg.AppName, "@") || err != nil {
		return nil, fmt.Errorf("AppName %q: want a short node name of A-Z a-z 0-9 _ . -", cfg.AppName)
	}
	switch cfg.AddressType {
	case AddressIP, AddressDNS, AddressHostname:
	default:
		return nil, fmt.Errorf("AddressType %q: want %s, %s or %s", cfg.AddressType, AddressIP, AddressDNS, AddressHostname)
	}
	if cfg.Suffix != "" {
		if _, err := portmap.Parse("a@" + cfg.Suffix); err != nil || isIP(cfg.Suffix) {
			return nil, fmt.Errorf("Suffix %q: want a DNS name such as svc.cluster.local", cfg.Suffix)
		}
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("Timeout %v: want a positive duration (0: %v)", cfg.Timeout, DefaultTimeout)
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("MaxResponseBytes %d: want a positive size (0: %d)", cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	}
	return base, nil
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkDNSLabel checks an RFC 1123 label, as Kubernetes names services and
// namespaces.
func checkDNSLabel(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("want a DNS label of 1 to 63 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("want a DNS label (a-z 0-9 -), found %q at position %d", c, i+1)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return fmt.Errorf("want a DNS label that starts and ends with a letter or digit")
	}
	return nil
}

// resolveNamespace applies the namespace precedence: Namespace, then
// NamespaceFile, then DefaultNamespace.
func (k *K8s) resolveNamespace() (string, error) {
	if k.cfg.Namespace != "" {
		return k.cfg.Namespace, nil
	}
	if k.cfg.NamespaceFile == "" {
		return DefaultNamespace, nil
	}
	data, err := os.ReadFile(k.cfg.NamespaceFile)
	if err != nil {
		k.log.Warn("k8s discovery: cannot read the namespace file; using the default namespace",
			"file", k.cfg.NamespaceFile, "namespace", DefaultNamespace, "err", err)
		return DefaultNamespace, nil
	}
	ns := strings.TrimSpace(string(data))
	if ns == "" {
		k.log.Warn("k8s discovery: the namespace file is empty; using the default namespace",
			"file", k.cfg.NamespaceFile, "namespace", DefaultNamespace)
		return DefaultNamespace, nil
	}
	if err := checkDNSLabel(ns); err != nil {
		return "", fmt.Errorf("namespace file %s holds %q: %v", k.cfg.NamespaceFile, truncate(ns, 80), err)
	}
	return ns, nil
}

func (k *K8s) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if k.cfg.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
		k.log.Warn("k8s discovery: the API server's certificate is not verified (insecure_skip_verify)", "apiserver", k.cfg.APIServer)
		return tc, nil
	}
	if k.cfg.CACertFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(k.cfg.CACertFile)
	if errors.Is(err, fs.ErrNotExist) {
		k.log.Warn("k8s discovery: no CA file; verifying the API server's certificate against the system roots",
			"file", k.cfg.CACertFile)
		return tc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", k.cfg.CACertFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it, want one or more \"-----BEGIN CERTIFICATE-----\" blocks", k.cfg.CACertFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// Namespace returns the namespace the strategy looks in.
func (k *K8s) Namespace() string { return k.namespace }

// Discover returns the node names of the service's ready endpoints, sorted,
// without duplicates. It tries EndpointSlices first and the legacy
// Endpoints when those are not served or not allowed.
func (k *K8s) Discover(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("k8s discovery: %w", err)
	}
	token := k.token()
	addrs, err := k.sliceAddresses(ctx, token)
	var apiErr *APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusNotFound || apiErr.StatusCode == http.StatusForbidden) {
		var fallbackErr error
		addrs, fallbackErr = k.endpointsAddresses(ctx, token)
		if fallbackErr != nil {
			return nil, fmt.Errorf("k8s discovery: %w; then %w", err, fallbackErr)
		}
		if apiErr.StatusCode == http.StatusForbidden {
			k.warnOnce("slices forbidden", "k8s discovery: may not list EndpointSlices; using the legacy Endpoints (grant list on endpointslices.discovery.k8s.io to use them)",
				"err", err)
		} else {
			k.log.Debug("k8s discovery: EndpointSlices not served; used the legacy Endpoints", "err", err)
		}
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("k8s discovery: %w", err)
	}
	return k.names(addrs), nil
}

// address is one ready endpoint address.
type address struct {
	ip       string
	hostname string
}

// names turns addresses into sorted, unique, valid node names.
func (k *K8s) names(addrs []address) []string {
	var names, skipped []string
	for _, a := range addrs {
		name, why := k.name(a)
		if why != "" {
			skipped = append(skipped, why)
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(skipped) > 0 {
		k.warnOnce("skipped "+strings.Join(skipped, "; "), "k8s discovery: skipped endpoint addresses",
			"service", k.cfg.ServiceName, "namespace", k.namespace, "address_type", string(k.cfg.AddressType),
			"skipped", strings.Join(skipped, "; "))
	}
	return names
}

// name builds the node name of a, or says why it cannot.
func (k *K8s) name(a address) (name, why string) {
	if k.cfg.AddressType != AddressHostname && !isIP(a.ip) {
		return "", fmt.Sprintf("%q is not an IP address", truncate(a.ip, 100))
	}
	var host string
	switch k.cfg.AddressType {
	case AddressIP:
		host = a.ip
	case AddressDNS:
		host = strings.NewReplacer(".", "-", ":", "-").Replace(a.ip)
		if k.cfg.Suffix != "" {
			host += "." + k.namespace + "." + k.cfg.Suffix
		}
	case AddressHostname:
		if a.hostname == "" {
			return "", fmt.Sprintf("%s has no hostname (set the pod's hostname and subdomain, as a StatefulSet does)", a.ip)
		}
		host = a.hostname
		if k.cfg.Suffix != "" {
			host += "." + k.cfg.ServiceName + "." + k.namespace + "." + k.cfg.Suffix
		}
	}
	name = k.cfg.AppName + "@" + host
	if _, err := portmap.Parse(name); err != nil {
		return "", fmt.Sprintf("%q is not a valid node name: %v", truncate(name, 300), err)
	}
	return name, ""
}

// token reads the bearer token; "" means none (logged).
func (k *K8s) token() string {
	if k.cfg.TokenFile == "" {
		return ""
	}
	data, err := os.ReadFile(k.cfg.TokenFile)
	if err != nil {
		k.warnOnce("token "+err.Error(), "k8s discovery: cannot read the token file; asking without an Authorization header",
			"file", k.cfg.TokenFile, "err", err)
		return ""
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		k.warnOnce("token empty", "k8s discovery: the token file is empty; asking without an Authorization header",
			"file", k.cfg.TokenFile)
		return ""
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		k.warnOnce("token control", "k8s discovery: the token file holds control characters; asking without an Authorization header",
			"file", k.cfg.TokenFile)
		return ""
	}
	return token
}

// warnOnce logs msg at warn level the first time key is seen, at debug
// level after that: the autocluster loop asks every few seconds.
func (k *K8s) warnOnce(key, msg string, args ...any) {
	k.mu.Lock()
	seen := k.warned[key]
	k.warned[key] = true
	k.mu.Unlock()
	if seen {
		k.log.Debug(msg, args...)
		return
	}
	k.log.Warn(msg, args...)
}

// Lock is not supported: Kubernetes publishes the endpoints itself.
func (k *K8s) Lock(context.Context) error { return discovery.NotSupported("k8s", "lock") }

// Unlock is not supported.
func (k *K8s) Unlock(context.Context) error { return discovery.NotSupported("k8s", "unlock") }

// Register is not supported: a pod's endpoint appears when it is ready.
func (k *K8s) Register(context.Context) error { return discovery.NotSupported("k8s", "register") }

// Unregister is not supported.
func (k *K8s) Unregister(context.Context) error { return discovery.NotSupported("k8s", "unregister") }

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
