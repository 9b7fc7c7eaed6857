package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/metrics"
)

// A library user registers the node's collector in a registry of their
// own and serves it from their own HTTP server: here a node alone, which
// calls itself once.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := mesh.Start(ctx, mesh.Config{
		Name:       "n1@127.0.0.1",
		Cookie:     "example-cookie-not-for-production",
		ListenAddr: "127.0.0.1:0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(context.Background())
	node.Handle("echo", func(_ context.Context, _ string, p []byte) ([]byte, error) { return p, nil })
	if _, err := node.Call(ctx, node.Name(), "echo", []byte("hi")); err != nil {
		fmt.Println(err)
		return
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(node)) // and metrics.WithLocker, metrics.WithAutoheal
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, want := range []string{"ekka_mesh_node_info", `ekka_mesh_members{status="up"}`, "ekka_mesh_links ", `ekka_mesh_call_duration_seconds_count{kind="call"}`} {
			if strings.HasPrefix(line, want) {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// ekka_mesh_call_duration_seconds_count{kind="call"} 1
	// ekka_mesh_links 0
	// ekka_mesh_members{status="up"} 1
	// ekka_mesh_node_info{cluster="ekka",node="n1@127.0.0.1"} 1
}
