package k8s_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ekka-mesh/ekka-mesh/discovery/k8s"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s/k8stest"
)

// A pod of the emqx StatefulSet finds its peers behind the headless service
// emqx-headless. The fake API server stands in for kube-apiserver here; in
// a pod, APIServer is https://kubernetes.default.svc:443 and the files are
// the service account's (k8s.DefaultTokenFile and the others).
func ExampleNew() {
	api := k8stest.NewTLSServer("the-token")
	defer api.Close()
	api.SetEndpointSlices("emqx", k8stest.Fixture("endpointslices-emqx.json"))

	dir, err := os.MkdirTemp("", "serviceaccount")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "token"), []byte("the-token"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), api.CACertPEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "namespace"), []byte("emqx"), 0o600)

	d, err := k8s.New(k8s.Config{
		APIServer:     api.URL,
		ServiceName:   "emqx-headless",
		AppName:       "emqx",
		AddressType:   k8s.AddressHostname,
		Suffix:        "svc.cluster.local",
		TokenFile:     filepath.Join(dir, "token"),
		CACertFile:    filepath.Join(dir, "ca.crt"),
		NamespaceFile: filepath.Join(dir, "namespace"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	nodes, err := d.Discover(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range nodes {
		fmt.Println(n)
	}
	// Output:
	// emqx@emqx-0.emqx-headless.emqx.svc.cluster.local
	// emqx@emqx-1.emqx-headless.emqx.svc.cluster.local
	// emqx@emqx-3.emqx-headless.emqx.svc.cluster.local
	// emqx@emqx-5.emqx-headless.emqx.svc.cluster.local
}
