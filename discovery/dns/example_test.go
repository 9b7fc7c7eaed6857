package dns

import (
	"context"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery/dns/dnstest"
)

// The cluster's nodes are the A records of nodes.example.test, served here
// by a DNS server the example starts on 127.0.0.1; in production leave
// Server empty to use the system resolver, or name your DNS server.
func ExampleNew() {
	server, err := dnstest.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()
	if err := server.SetRecords(
		"nodes.example.test. 60 IN A 10.0.0.2",
		"nodes.example.test. 60 IN A 10.0.0.1",
	); err != nil {
		fmt.Println(err)
		return
	}

	d, err := New(Config{
		Name:   "emqx@10.0.0.1",      // this node: the discovered nodes are emqx@...
		Domain: "nodes.example.test", // cluster.dns.name
		Type:   TypeA,                // cluster.dns.type
		Server: server.Addr,          // cluster.dns.server
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
