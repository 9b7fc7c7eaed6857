package dns

import (
	"context"
	"fmt"
	"time"
)

// The cluster's nodes are the A records of nodes.example.test, served here
// by a DNS server the example starts on 127.0.0.1; in production leave
// Server empty to use the system resolver, or name your DNS server.
func ExampleNew() {
	server, stop := exampleServer(
		"nodes.example.test. 60 IN A 10.0.0.2",
		"nodes.example.test. 60 IN A 10.0.0.1",
	)
	defer stop()

	d, err := New(Config{
		Name:   "emqx@10.0.0.1",      // this node: the discovered nodes are emqx@...
		Domain: "nodes.example.test", // cluster.dns.name
		Type:   TypeA,                // cluster.dns.type
		Server: server,               // cluster.dns.server
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodes, err := d.Discover(ctx)
	fmt.Println(nodes, err)
	// Output: [emqx@10.0.0.1 emqx@10.0.0.2] <nil>
}
