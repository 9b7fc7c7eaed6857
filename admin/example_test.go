package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ekka-mesh/ekka-mesh/admin"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// A program mounts the admin endpoint under a prefix of its own server.
func ExampleHandler() {
	cfg := mesh.DefaultConfig()
	cfg.Name = "app1@127.0.0.1"
	cfg.Cookie = "a long random secret shared by every node"
	cfg.ListenAddr = "127.0.0.1:0"
	node, err := mesh.Start(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/ekka/", http.StripPrefix("/ekka", admin.Handler(admin.Options{Node: node})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/ekka/healthz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Print(res.StatusCode, " ", string(body))
	// Output: 200 {"node":"app1@127.0.0.1","healthy":true,"reasons":[]}
}
