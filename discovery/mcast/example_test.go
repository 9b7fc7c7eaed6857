package mcast_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ekka-mesh/ekka-mesh/discovery/mcast"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// A node with multicast discovery: the mesh's autocluster loop discovers the
// other nodes of cluster "emqxcl" on 239.192.0.1:4369, joins them and
// registers this node (starts answering), and unregisters it on Stop. This
// example needs a network with multicast, so it is compiled, not run.
func Example() {
	cfg := mcast.DefaultConfig()
	cfg.Name, cfg.Cluster, cfg.Cookie = "emqx1@10.0.0.1", "emqxcl", "secret cookie"
	d, err := mcast.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	mc := mesh.DefaultConfig()
	mc.Name, mc.Cluster, mc.Cookie = cfg.Name, cfg.Cluster, cfg.Cookie
	mc.Discovery = d
	node, err := mesh.Start(context.Background(), mc)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Stop(context.Background())

	time.Sleep(10 * time.Second)
	fmt.Println(node.Info().RunningNodes)
	s := d.Stats()
	fmt.Printf("%d packets accepted, %d dropped\n", s.Accepted, s.Dropped())
}
