package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// APIError is an answer of the API server other than 200 OK. Message and
// Reason come from the Kubernetes Status object in the body, when there is
// one; Body holds the start of any other body.
type APIError struct {
	Method     string // GET
	URL        string
	StatusCode int    // such as 403
	Status     string // such as "403 Forbidden"
	Reason     string // the Status reason, such as "Forbidden"
	Message    string // the Status message
	Body       string // the start of the body when it is not a Status
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Method, e.URL, e.Status)
	switch {
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.Body != "":
		fmt.Fprintf(&b, ": body %q", e.Body)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " (reason %s)", e.Reason)
	}
	if e.StatusCode == http.StatusUnauthorized {
		b.WriteString("; check the service-account token file")
	}
	return b.String()
}

// status is the Kubernetes Status object of error answers.
type status struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}

// listMeta, objectMeta: the metadata fields this package reads.
type listMeta struct {
	Continue string `json:"continue"`
}

type objectMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// endpointSliceList is a discovery.k8s.io/v1 EndpointSliceList.
type endpointSliceList struct {
	Kind     string          `json:"kind"`
	Metadata listMeta        `json:"metadata"`
	Items    []endpointSlice `json:"items"`
}

type endpointSlice struct {
	Metadata    objectMeta      `json:"metadata"`
	AddressType string          `json:"addressType"` // IPv4, IPv6 or FQDN
	Endpoints   []sliceEndpoint `json:"endpoints"`
}

type sliceEndpoint struct {
	Addresses  []string `json:"addresses"`
	Conditions struct {
		// Ready: nil means ready (the API's documented semantics).
		Ready *bool `json:"ready"`
	} `json:"conditions"`
	Hostname string `json:"hostname"`
}

// endpoints is a core/v1 Endpoints object.
type endpoints struct {
	Kind    string `json:"kind"`
	Subsets []struct {
		Addresses []endpointAddress `json:"addresses"`
		// NotReadyAddresses are never used.
	} `json:"subsets"`
}

type endpointAddress struct {
	IP       string `json:"ip"`
	Hostname string `json:"hostname"`
}

// serviceLabel is the label that ties an EndpointSlice to its service.
const serviceLabel = "kubernetes.io/service-name"

func (k *K8s) slicesURL(cont string) *url.URL {
	u := k.base.JoinPath("apis", "discovery.k8s.io", "v1", "namespaces", k.namespace, "endpointslices")
	q := url.Values{"labelSelector": {serviceLabel + "=" + k.cfg.ServiceName}}
	if cont != "" {
		q.Set("continue", cont)
	}
	u.RawQuery = q.Encode()
	return u
}

func (k *K8s) endpointsURL() *url.URL {
	return k.base.JoinPath("api", "v1", "namespaces", k.namespace, "endpoints", k.cfg.ServiceName)
}

// sliceAddresses lists the service's EndpointSlices, every page, and
// returns the ready addresses. When the service has slices of both IP
// families (dual stack) only the IPv4 ones are used, so that each pod gives
// one name.
func (k *K8s) sliceAddresses(ctx context.Context, token string) ([]address, error) {
	var v4, v6 []address
	sawSlice := false
	cont := ""
	for page := 1; ; page++ {
		u := k.slicesURL(cont)
		var list endpointSliceList
		if err := k.get(ctx, u, token, &list); err != nil {
			return nil, err
		}
		if list.Kind != "" && list.Kind != "EndpointSliceList" {
			return nil, fmt.Errorf("GET %s: got a %s, want an EndpointSliceList", u, truncate(list.Kind, 80))
		}
		for _, s := range list.Items {
			if s.Metadata.Labels[serviceLabel] != k.cfg.ServiceName {
				continue // not ours, whatever the server's filtering did
			}
			sawSlice = true
			var dst *[]address
			switch s.AddressType {
			case "IPv4":
				dst = &v4
			case "IPv6":
				dst = &v6
			default: // FQDN slices name no pod IP
				k.log.Debug("k8s discovery: skipped an EndpointSlice that is not IPv4 or IPv6",
					"slice", s.Metadata.Name, "addressType", s.AddressType)
				continue
			}
			for _, ep := range s.Endpoints {
				if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
					continue
				}
				// The addresses of one endpoint are fungible; the API
				// tells clients to use the first.
				*dst = append(*dst, address{ip: ep.Addresses[0], hostname: ep.Hostname})
			}
		}
		if list.Metadata.Continue == "" {
			break
		}
		if page == maxPages {
			return nil, fmt.Errorf("GET %s: still more after %d pages of EndpointSlices, want at most %d", u, page, maxPages)
		}
		cont = list.Metadata.Continue
	}
	if !sawSlice {
		return nil, fmt.Errorf("GET %s: no EndpointSlice has the label %s=%s; want the service %s to exist in namespace %s, with a selector",
			k.slicesURL(""), serviceLabel, k.cfg.ServiceName, k.cfg.ServiceName, k.namespace)
	}
	if len(v4) > 0 {
		return v4, nil
	}
	return v6, nil
}

// endpointsAddresses reads the service's legacy Endpoints and returns the
// ready addresses.
func (k *K8s) endpointsAddresses(ctx context.Context, token string) ([]address, error) {
	u := k.endpointsURL()
	var ep endpoints
	if err := k.get(ctx, u, token, &ep); err != nil {
		return nil, err
	}
	if ep.Kind != "" && ep.Kind != "Endpoints" {
		return nil, fmt.Errorf("GET %s: got a %s, want an Endpoints", u, truncate(ep.Kind, 80))
	}
	var addrs []address
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			addrs = append(addrs, address{ip: a.IP, hostname: a.Hostname})
		}
	}
	return addrs, nil
}

// get asks for u and decodes the JSON answer into v. Any answer but 200 is
// an *APIError.
func (k *K8s) get(ctx context.Context, u *url.URL, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ekka-mesh k8s discovery")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError(u, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, k.cfg.MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", u, err)
	}
	if int64(len(body)) > k.cfg.MaxResponseBytes {
		return fmt.Errorf("GET %s: answer larger than %d bytes, want at most that (MaxResponseBytes)", u, k.cfg.MaxResponseBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: malformed JSON answer (%d bytes): %v", u, len(body), err)
	}
	return nil
}

// apiError reads the start of an error answer into an *APIError.
func apiError(u *url.URL, resp *http.Response) *APIError {
	e := &APIError{Method: http.MethodGet, URL: u.String(), StatusCode: resp.StatusCode, Status: resp.Status}
	if e.Status == "" {
		e.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var st status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		e.Message = truncate(st.Message, 1000)
		e.Reason = truncate(st.Reason, 100)
		return e
	}
	if text := strings.TrimSpace(string(body)); text != "" {
		e.Body = truncate(text, 200)
	}
	return e
}
