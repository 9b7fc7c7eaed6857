// Package k8stest is a fake Kubernetes API server for tests of the k8s
// discovery strategy: it serves EndpointSlice lists and Endpoints objects
// (recorded ones from Fixture, or any given), checks the bearer token the
// way kube-apiserver does (401 and a Status without it), filters slices by
// the kubernetes.io/service-name label selector, and can pretend that
// EndpointSlices are not served (404) or not allowed (403).
//
// The fixtures are modelled on real kube-apiserver output:
//
//	endpointslices-emqx.json        namespace emqx: two slices of service emqx-headless
//	                                (ready, not ready, terminating, no ready condition)
//	                                and one of emqx-dashboard
//	endpoints-emqx-headless.json    the same service as legacy Endpoints, with
//	                                notReadyAddresses and two subsets
//	endpointslices-emqx-dual.json   namespace emqx: dual-stack service emqx-dual
//	endpointslices-local.json       namespace ekka: service ekka-mesh on
//	                                127.0.0.1, 127.0.0.2 and 127.0.0.3
package k8stest

import (
	"embed"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Fixture returns a recorded response from testdata; it panics when there
// is no such file (a bug in the test).
func Fixture(name string) []byte {
	data, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		panic(fmt.Sprintf("k8stest: no fixture %s: %v", name, err))
	}
	return data
}

// Server is a fake API server. Configure it before or while clients ask;
// every method is safe for concurrent use.
type Server struct {
	*httptest.Server
	// Token is the bearer token every request must carry; empty means no
	// check.
	Token string

	mu           sync.Mutex
	slices       map[string][]byte // namespace -> EndpointSliceList JSON
	endpoints    map[string][]byte // namespace/name -> Endpoints JSON
	slicesStatus int               // 0: served; 404 or 403: answered so
	requests     atomic.Int64
	unauthorized atomic.Int64
}

// NewTLSServer starts an HTTPS server (the test certificate of
// net/http/httptest, valid for 127.0.0.1; see CACertPEM) that wants token.
// Close it when done.
func NewTLSServer(token string) *Server {
	s := newServer(token)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Clients that refuse the certificate are what some tests are about.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	return s
}

// NewServer starts a plain HTTP server that wants token, as kubectl proxy
// would be.
func NewServer(token string) *Server {
	s := newServer(token)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func newServer(token string) *Server {
	return &Server{Token: token, slices: map[string][]byte{}, endpoints: map[string][]byte{}}
}

// CACertPEM returns the server certificate in PEM, for a CA file.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// SetEndpointSlices makes list (an EndpointSliceList, or anything at all to
// test bad answers) the namespace's slices. Requests are filtered by their
// label selector when list is a valid EndpointSliceList.
func (s *Server) SetEndpointSlices(namespace string, list []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slices[namespace] = list
}

// SetEndpoints makes obj the Endpoints namespace/name.
func (s *Server) SetEndpoints(namespace, name string, obj []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints[namespace+"/"+name] = obj
}

// SetSlicesStatus answers every EndpointSlice request with code: 404 as an
// API server without discovery.k8s.io/v1, 403 as RBAC forbidding the list;
// 0 serves them again.
func (s *Server) SetSlicesStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slicesStatus = code
}

// Requests returns how many requests arrived; Unauthorized how many of them
// were refused for their token.
func (s *Server) Requests() int64     { return s.requests.Load() }
func (s *Server) Unauthorized() int64 { return s.unauthorized.Load() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		s.unauthorized.Add(1)
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil)
		return
	}
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource", nil)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 6 && parts[0] == "apis" && parts[1] == "discovery.k8s.io" && parts[2] == "v1" && parts[3] == "namespaces" && parts[5] == "endpointslices":
		s.serveSlices(w, r, parts[4])
	case len(parts) == 6 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "endpoints":
		s.serveEndpoints(w, parts[3], parts[5])
	default:
		http.NotFound(w, r) // kube-apiserver's answer for a path it does not serve
	}
}

func (s *Server) serveSlices(w http.ResponseWriter, r *http.Request, namespace string) {
	s.mu.Lock()
	code, list := s.slicesStatus, s.slices[namespace]
	s.mu.Unlock()
	switch code {
	case 0:
	case http.StatusNotFound:
		http.NotFound(w, r) // the group discovery.k8s.io/v1 is not served at all
		return
	case http.StatusForbidden:
		writeStatus(w, code, "Forbidden", fmt.Sprintf(`endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:%s:emqx" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "%s"`, namespace, namespace),
			map[string]any{"group": "discovery.k8s.io", "kind": "endpointslices"})
		return
	default:
		writeStatus(w, code, http.StatusText(code), http.StatusText(code), nil)
		return
	}
	selector := r.URL.Query().Get("labelSelector")
	key, value, ok := strings.Cut(selector, "=")
	if selector != "" && (!ok || strings.ContainsAny(value, ",=!")) {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("unable to parse requirement: %q: only key=value is served by this fake", selector), nil)
		return
	}
	if list == nil {
		list = []byte(`{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"1"},"items":[]}`)
	}
	if selector != "" {
		list = filterItems(list, key, value)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(list)
}

// filterItems keeps the items whose label key is value; anything that is
// not a list is returned as it is.
func filterItems(list []byte, key, value string) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(list, &doc) != nil {
		return list
	}
	var items []json.RawMessage
	if json.Unmarshal(doc["items"], &items) != nil {
		return list
	}
	kept := []json.RawMessage{}
	for _, item := range items {
		var meta struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if json.Unmarshal(item, &meta) == nil {
			if v, ok := meta.Metadata.Labels[key]; ok && v == value {
				kept = append(kept, item)
			}
		}
	}
	doc["items"], _ = json.Marshal(kept)
	out, _ := json.Marshal(doc)
	return out
}

func (s *Server) serveEndpoints(w http.ResponseWriter, namespace, name string) {
	s.mu.Lock()
	obj := s.endpoints[namespace+"/"+name]
	s.mu.Unlock()
	if obj == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("endpoints %q not found", name),
			map[string]any{"name": name, "kind": "endpoints"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(obj)
}

// writeStatus answers with a Status object, as kube-apiserver does.
func writeStatus(w http.ResponseWriter, code int, reason, message string, details map[string]any) {
	st := map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	}
	if details != nil {
		st["details"] = details
	}
	body, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

// SliceList returns an EndpointSliceList JSON of one IPv4 slice of service
// in namespace with every ip ready, hostnames <service>-0, -1, ...; for
// tests with many nodes.
func SliceList(namespace, service string, ips ...string) []byte {
	type endpoint struct {
		Addresses  []string          `json:"addresses"`
		Conditions map[string]bool   `json:"conditions"`
		Hostname   string            `json:"hostname"`
		TargetRef  map[string]string `json:"targetRef"`
	}
	eps := make([]endpoint, len(ips))
	for i, ip := range ips {
		host := fmt.Sprintf("%s-%d", service, i)
		eps[i] = endpoint{
			Addresses:  []string{ip},
			Conditions: map[string]bool{"ready": true, "serving": true, "terminating": false},
			Hostname:   host,
			TargetRef:  map[string]string{"kind": "Pod", "namespace": namespace, "name": host},
		}
	}
	list := map[string]any{
		"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
		"metadata": map[string]any{"resourceVersion": "1"},
		"items": []any{map[string]any{
			"metadata": map[string]any{
				"name": service + "-abcde", "namespace": namespace,
				"labels": map[string]string{"kubernetes.io/service-name": service},
			},
			"addressType": "IPv4",
			"endpoints":   eps,
			"ports":       []any{map[string]any{"name": "ekka", "protocol": "TCP", "port": 4370}},
		}},
	}
	out, _ := json.Marshal(list)
	return out
}
