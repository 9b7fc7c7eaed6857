package config_test

import (
	"fmt"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/config"
)

func ExampleLoad() {
	env := map[string]string{"EKKA_MESH_CLUSTER__NAME": "fromenv"}
	s, err := config.Load("testdata/ekka-mesh.conf", []string{"node.name=emqx2@127.0.0.1"}, func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	port, _ := s.Node.Name.Port(s.Node.BasePort)
	fmt.Println(s.Node.Name, port, s.Cluster.Name, s.Cluster.Discovery, s.Cluster.Static.Seeds)

	_, err = config.Load("", []string{"cluster.discovery=mdns"}, nil)
	fmt.Println(err)
	// Output:
	// emqx2@127.0.0.1 4372 fromenv static [emqx1@127.0.0.1 emqx2@127.0.0.1 emqx3@127.0.0.1]
	// override "cluster.discovery=mdns": cluster.discovery = mdns: want one of manual, static, mcast, dns, etcd, k8s, singleton
}

func ExampleParse() {
	entries, err := config.Parse(strings.NewReader("## the node\nnode.name = n1@10.0.0.1\nnode.cookie = \"two words\"\n"), "inline")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", entries["node.cookie"])
	// Output:
	// {Key:node.cookie Value:two words File:inline Line:3}
}
