package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/discovery/k8s/k8stest"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// pagedTransport answers the first request with (status1, body1) and every
// later one (further pages of EndpointSlices, or the legacy Endpoints)
// with (status2, body2), counting the requests.
type pagedTransport struct {
	status1, status2 int
	body1, body2     []byte
	requests         atomic.Int64
}

func (p *pagedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := p.status2, p.body2
	if p.requests.Add(1) == 1 {
		status, body = p.status1, p.body1
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Body: io.NopCloser(bytes.NewReader(body)), Header: http.Header{}, Request: r,
	}, nil
}

// jsonStrings returns every string in a JSON document, keys and values.
func jsonStrings(b []byte) map[string]bool {
	out := map[string]bool{}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return out
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out[x] = true
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				out[k] = true
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// FuzzDiscoverPages runs Discover against an API server that gives one
// fuzzed answer to the first request and another to every later one, so
// that continue pages, the fallback to Endpoints after 403 or 404 and the
// page limit are all reached. Discover must stop within the page limit and
// return an error that says it comes from k8s discovery, or names that are
// sorted, unique, valid, carry the app's name, and are built from an
// address or hostname that one of the answers holds, as the address type
// says: nothing invented.
func FuzzDiscoverPages(f *testing.F) {
	slices2 := k8stest.Fixture("endpointslices-emqx.json")
	endpoints := k8stest.Fixture("endpoints-emqx-headless.json")
	f.Add(200, slices2, 200, slices2, uint8(0))
	f.Add(404, []byte(`{"kind":"Status","code":404}`), 200, endpoints, uint8(1))
	f.Add(403, []byte(`{"kind":"Status","message":"forbidden"}`), 200, endpoints, uint8(2))
	f.Add(200, k8stest.Fixture("endpointslices-emqx-dual.json"), 500, []byte("oops"), uint8(0))
	f.Add(200, []byte(`{"kind":"EndpointSliceList","metadata":{"continue":"x"},"items":[]}`),
		200, []byte(`{"metadata":{"continue":"y"},"items":[{"metadata":{"labels":{"kubernetes.io/service-name":"emqx-headless"}},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.9"],"hostname":"emqx-9"}]}]}`), uint8(1))
	f.Add(200, []byte(`{"items":[{"metadata":{"labels":{"kubernetes.io/service-name":"emqx-headless"}},"addressType":"IPv6","endpoints":[{"addresses":["fd00::1"],"conditions":{"ready":false}},{"addresses":["fd00::2"],"hostname":"h"}]}]}`),
		200, []byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, status1 int, body1 []byte, status2 int, body2 []byte, typIdx uint8) {
		fix := func(s int) int {
			if s < 100 || s > 599 {
				return 200
			}
			return s
		}
		typ := []AddressType{AddressIP, AddressDNS, AddressHostname}[typIdx%3]
		const app, svc, suffix = "emqx", "emqx-headless", "cluster.local"
		d, err := New(Config{APIServer: "http://apiserver", Namespace: "ns1", ServiceName: svc, AppName: app, AddressType: typ, Suffix: suffix})
		require.NoError(t, err)
		tr := &pagedTransport{status1: fix(status1), status2: fix(status2), body1: body1, body2: body2}
		d.client.Transport = tr
		names, err := d.Discover(context.Background())
		require.LessOrEqual(t, tr.requests.Load(), int64(maxPages+1), "Discover's requests: at most %d pages and one fallback", maxPages)
		if err != nil {
			require.Nil(t, names, "names with the error %v", err)
			require.True(t, strings.HasPrefix(err.Error(), "k8s discovery: "), "Discover: %v; want an error of k8s discovery", err)
			return
		}
		require.True(t, slices.IsSorted(names), "names %q: want them sorted", names)
		require.Len(t, slices.Compact(slices.Clone(names)), len(names), "names %q: want no duplicates", names)
		seen := jsonStrings(body1)
		for s := range jsonStrings(body2) {
			seen[s] = true
		}
		for _, n := range names {
			nm, err := portmap.Parse(n)
			require.NoError(t, err, "name %q: want a valid %s@host", n, app)
			require.Equal(t, app, nm.Short, "name %q: want a valid %s@host", n, app)
			from := false
			for s := range seen {
				switch typ {
				case AddressIP:
					from = nm.Host == s
				case AddressDNS:
					from = nm.Host == strings.NewReplacer(".", "-", ":", "-").Replace(s)+".ns1."+suffix
				case AddressHostname:
					from = nm.Host == s+"."+svc+".ns1."+suffix
				}
				if from {
					break
				}
			}
			require.True(t, from, "%s name %q is built from nothing the API server said", typ, n)
		}
	})
}
