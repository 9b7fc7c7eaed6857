package kubeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// Object is one manifest's object: its YAML or JSON text and what names it.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string // from the manifest; usually empty
	Name       string
	Text       []byte
}

func (o Object) String() string { return o.Kind + "/" + o.Name }

// SplitDocuments splits a YAML stream at its "---" lines and decodes each
// non-empty document.
func SplitDocuments(stream []byte) ([]Object, error) {
	var objs []Object
	var cur []string
	flush := func() error {
		doc := strings.Join(cur, "\n")
		cur = nil
		if strings.TrimSpace(stripComments(doc)) == "" {
			return nil
		}
		o, err := Decode([]byte(doc))
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	}
	for line := range strings.SplitSeq(string(stream), "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		cur = append(cur, line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return objs, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// Decode reads the identity of one YAML or JSON object.
func Decode(doc []byte) (Object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return Object{}, fmt.Errorf("kubeapi: not a YAML object: %v", err)
	}
	if head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
		return Object{}, fmt.Errorf("kubeapi: object without apiVersion, kind or metadata.name:\n%s", doc)
	}
	return Object{APIVersion: head.APIVersion, Kind: head.Kind, Namespace: head.Metadata.Namespace, Name: head.Metadata.Name, Text: doc}, nil
}

// StatusError is an answer other than 2xx, with the API's Status.
type StatusError struct {
	Method, Path string
	Code         int
	Reason       string // such as Forbidden, Invalid, BadRequest
	Message      string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Code, e.Reason, e.Message)
}

// Request sends body to path with token (the admin's when empty) and
// decodes a 2xx JSON answer into out (unless nil). Any other answer is a
// *StatusError.
func (s *Server) Request(ctx context.Context, method, path, contentType string, body []byte, token string, out any) error {
	if token == "" {
		token = s.AdminToken
	}
	code, data, err := s.Do(ctx, method, path, contentType, body, token)
	if err != nil {
		return fmt.Errorf("kubeapi: %s %s: %w", method, path, err)
	}
	if code < 200 || code > 299 {
		var st struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) != nil || st.Message == "" {
			st.Message = tail(string(data), 20)
		}
		return &StatusError{Method: method, Path: path, Code: code, Reason: st.Reason, Message: st.Message}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("kubeapi: %s %s: decoding the answer: %v", method, path, err)
		}
	}
	return nil
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun validates and admits the object without storing it
	// (dryRun=All).
	DryRun bool
	// Token is the bearer token; empty: the admin's.
	Token string
}

// Apply applies o in namespace ns (ignored for cluster-scoped kinds) the
// way `kubectl apply --server-side --validate=strict` does: a server-side
// apply patch of the manifest's own text, with fieldValidation=Strict, so
// an unknown or duplicated field is an error.
func (s *Server) Apply(ctx context.Context, ns string, o Object, opts ApplyOptions) error {
	if o.Namespace != "" {
		ns = o.Namespace
	}
	path, err := s.ObjectPath(ctx, o.APIVersion, o.Kind, ns, o.Name)
	if err != nil {
		return err
	}
	q := url.Values{"fieldManager": {"ekka-mesh-test"}, "fieldValidation": {"Strict"}, "force": {"true"}}
	if opts.DryRun {
		q.Set("dryRun", "All")
	}
	return s.Request(ctx, http.MethodPatch, path+"?"+q.Encode(), "application/apply-patch+yaml", o.Text, opts.Token, nil)
}

// Create creates o in namespace ns (ignored for cluster-scoped kinds) the
// way `kubectl create --validate=strict` does: a POST of the manifest's own
// text (YAML) with fieldValidation=Strict, so an unknown or duplicated
// field is a 400 naming it. (A server-side apply refuses an unknown field
// too, but as a 500.)
func (s *Server) Create(ctx context.Context, ns string, o Object, opts ApplyOptions) error {
	if o.Namespace != "" {
		ns = o.Namespace
	}
	path, err := s.ObjectPath(ctx, o.APIVersion, o.Kind, ns, "")
	if err != nil {
		return err
	}
	q := url.Values{"fieldManager": {"ekka-mesh-test"}, "fieldValidation": {"Strict"}}
	if opts.DryRun {
		q.Set("dryRun", "All")
	}
	return s.Request(ctx, http.MethodPost, path+"?"+q.Encode(), "application/yaml", o.Text, opts.Token, nil)
}

// ServiceAccountToken mints a token for the service account ns/name
// through the TokenRequest API, valid for d.
func (s *Server) ServiceAccountToken(ctx context.Context, ns, name string, d time.Duration) (string, error) {
	req, _ := json.Marshal(map[string]any{
		"apiVersion": "authentication.k8s.io/v1",
		"kind":       "TokenRequest",
		"spec":       map[string]any{"expirationSeconds": int64(d / time.Second)},
	})
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	path := "/api/v1/namespaces/" + ns + "/serviceaccounts/" + name + "/token"
	if err := s.Request(ctx, http.MethodPost, path, "application/json", req, "", &tr); err != nil {
		return "", err
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("kubeapi: POST %s: no token in the answer", path)
	}
	return tr.Status.Token, nil
}

// apiResource is one entry of an APIResourceList.
type apiResource struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
}

// ObjectPath returns the REST path of an object (of its collection when
// name is empty), asking the server's discovery which resource serves kind
// in apiVersion.
func (s *Server) ObjectPath(ctx context.Context, apiVersion, kind, ns, name string) (string, error) {
	prefix := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		prefix = "/api/" + apiVersion
	}
	s.mu.Lock()
	list, ok := s.resources[apiVersion]
	s.mu.Unlock()
	if !ok {
		var rl struct {
			Resources []apiResource `json:"resources"`
		}
		if err := s.Request(ctx, http.MethodGet, prefix, "", nil, "", &rl); err != nil {
			return "", fmt.Errorf("kubeapi: the server does not serve %s: %w", apiVersion, err)
		}
		list = rl.Resources
		s.mu.Lock()
		if s.resources == nil {
			s.resources = map[string][]apiResource{}
		}
		s.resources[apiVersion] = list
		s.mu.Unlock()
	}
	for _, r := range list {
		if r.Kind != kind || strings.Contains(r.Name, "/") {
			continue
		}
		p := prefix + "/" + r.Name
		if r.Namespaced {
			if ns == "" {
				return "", fmt.Errorf("kubeapi: %s %s/%s is namespaced: want a namespace", apiVersion, kind, name)
			}
			p = prefix + "/namespaces/" + ns + "/" + r.Name
		}
		if name != "" {
			p += "/" + name
		}
		return p, nil
	}
	return "", fmt.Errorf("kubeapi: the server serves no kind %s in %s", kind, apiVersion)
}

// MustApply applies each YAML document of manifest (for objects the test
// itself writes) and fails t on the first error.
func (s *Server) MustApply(t testing.TB, ns string, manifest string) {
	t.Helper()
	objs, err := SplitDocuments([]byte(manifest))
	if err != nil {
		t.Fatalf("%v", err)
	}
	for _, o := range objs {
		if err := s.Apply(t.Context(), ns, o, ApplyOptions{}); err != nil {
			t.Fatalf("applying %s: %v", o, err)
		}
	}
}

// Delete deletes the object at path (from ObjectPath).
func (s *Server) Delete(ctx context.Context, path string) error {
	return s.Request(ctx, http.MethodDelete, path, "", nil, "", nil)
}

// WaitAllowed waits until the server's RBAC lets token do verb on resource
// (of API group group, "" for the core group) in namespace ns, asking
// SelfSubjectAccessReview every 50 ms: a new RoleBinding takes effect a
// moment after it is stored. It gives up when ctx ends or after 30 s.
func (s *Server) WaitAllowed(ctx context.Context, token, ns, verb, group, resource string) error {
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{"namespace": ns, "verb": verb, "group": group, "resource": resource}},
	})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var review struct {
			Status struct {
				Allowed bool   `json:"allowed"`
				Reason  string `json:"reason"`
			} `json:"status"`
		}
		if err := s.Request(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "application/json", body, token, &review); err != nil {
			return err
		}
		if review.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubeapi: the token may still not %s %s in namespace %s (%s): %w", verb, resource, ns, review.Status.Reason, ctx.Err())
		case <-tick.C:
		}
	}
}
