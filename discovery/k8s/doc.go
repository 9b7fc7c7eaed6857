// Package k8s is the Kubernetes discovery strategy (after ekka's
// ekka_cluster_k8s): the cluster's nodes are the ready endpoints of a
// Kubernetes service, read from the API server with net/http alone (no
// client-go).
//
//	d, err := k8s.New(k8s.Config{
//		APIServer:     "https://kubernetes.default.svc:443",
//		ServiceName:   "emqx-headless",
//		AppName:       "emqx",
//		AddressType:   k8s.AddressIP,
//		TokenFile:     k8s.DefaultTokenFile,
//		CACertFile:    k8s.DefaultCACertFile,
//		NamespaceFile: k8s.DefaultNamespaceFile,
//	})
//
// # What is asked
//
// Discover lists the service's EndpointSlices (discovery.k8s.io/v1, label
// kubernetes.io/service-name=<service>):
//
//	GET <apiserver>/apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices?labelSelector=kubernetes.io/service-name=<service>
//
// and keeps the endpoints whose conditions.ready is true or absent (the API
// says an absent ready condition means ready; terminating endpoints are
// never ready). When the API server does not serve EndpointSlices (404, a
// cluster older than Kubernetes 1.21) or the service account may not list
// them (403, such as a Role written for ekka that grants only endpoints), it
// falls back to the legacy Endpoints object and keeps its subsets'
// addresses, never notReadyAddresses:
//
//	GET <apiserver>/api/v1/namespaces/<ns>/endpoints/<service>
//
// The service account needs get on endpoints, or list on endpointslices.
//
// # Node names
//
// Each ready address becomes a node name with ekka's rules, app being
// AppName:
//
//	ip        app@10.0.0.1
//	dns       app@10-0-0-1.<namespace>.<suffix>
//	hostname  app@<hostname>.<service>.<namespace>.<suffix>
//
// As in ekka, an empty Suffix drops what follows the address: dns gives
// app@10-0-0-1 and hostname gives app@<hostname>. Kubernetes names a pod
// 10-0-0-1.<namespace>.pod.cluster.local, so address type dns wants the
// suffix pod.cluster.local; a StatefulSet pod behind a headless service is
// <hostname>.<service>.<namespace>.svc.cluster.local, so address type
// hostname wants svc.cluster.local. (Old ekka releases wrote dns names as
// 10-0-0-1.<namespace>.pod.cluster.local whatever the suffix; today's ekka
// and this package take the suffix as given.) An IPv6 address written for
// dns has its colons replaced by dashes. An address without a hostname is
// skipped for address type hostname, and so is any result that is not a
// valid node name; both are logged.
//
// # Credentials and TLS
//
// The bearer token is read from TokenFile before each request, so a
// rotated service-account token is picked up; a missing or empty token file
// means no Authorization header and a logged warning, as in ekka. The API
// server's certificate is verified against CACertFile, or the system roots
// when CACertFile is empty or missing (logged); InsecureSkipVerify turns
// verification off. Plain http:// API servers (kubectl proxy) work too.
// Namespace, when empty, is read from NamespaceFile, and is "default" when
// that file is missing too.
//
// Responses are bounded in size (MaxResponseBytes), each request in time
// (Timeout, and the caller's context). Errors name the URL, the HTTP status
// and the API's own message (its Status object); a malformed response is an
// error, never a crash.
//
// Lock, Unlock, Register and Unregister do not apply (Kubernetes publishes
// the endpoints itself) and return errors wrapping discovery.ErrNotSupported,
// which the autocluster loop treats as success.
package k8s
