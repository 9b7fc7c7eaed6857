// Package kubeapi runs a real Kubernetes API server for tests: the
// kube-apiserver of Kubernetes itself, built from the Go module proxy, over
// an etcd embedded in the test process (discovery/etcd/etcdtest).
//
//	srv := kubeapi.Start(t) // https://127.0.0.1:<port>, ready
//	srv.MustApply(t, "", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ekka}\n")
//	token, err := srv.ServiceAccountToken(ctx, "ekka", "ekka-mesh", time.Hour)
//
// # The binary
//
// kube-apiserver is built from internal/kubetest, a Go module of its own
// (so that the main module does not depend on Kubernetes): it requires
// k8s.io/kubernetes and replaces each k8s.io staging module with its
// published release. The first test that needs it builds it, with
// GOFLAGS=-mod=mod under nice, into the user's cache directory
// (os.UserCacheDir()/ekka-mesh/kube-apiserver-<version>-<hash of
// internal/kubetest/go.mod and go.sum>), holding a file lock so that test
// binaries running side by side build it once; every later test, package
// and run uses the cached binary. Measured on two shared cores: a cold
// build 7 to 11 minutes (the modules, 540 MB, download in about 10 s); a
// start from the cached binary, etcd included, ready in about 3 s.
// KUBE_APISERVER_BINARY names a binary to use instead.
//
// When the go command is missing or the module proxy cannot be reached,
// the test is skipped with a message naming what is missing; any other
// build failure fails it.
//
// # The server
//
// Start runs kube-apiserver on a free port of 127.0.0.1 with TLS (a
// throwaway CA, Server.CAFile), a static token file holding one admin token
// (group system:masters), RBAC authorization, anonymous requests refused, a
// generated service-account signing key (so the TokenRequest API mints
// tokens that the server accepts) and only the NamespaceLifecycle,
// ServiceAccount and PodSecurity admission plugins. No controller runs: a
// Service gets no EndpointSlices and a StatefulSet no pods unless the test
// writes them.
// When the test ends the process is stopped (SIGTERM, then SIGKILL after
// 10 s) and etcd with it.
package kubeapi
