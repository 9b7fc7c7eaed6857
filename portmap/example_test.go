package portmap_test

import (
	"errors"
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func ExampleParse() {
	n, err := portmap.Parse("emqx12@127.0.0.1")
	if err != nil {
		fmt.Println(err)
		return
	}
	port, _ := n.Port(portmap.DefaultBasePort)
	fmt.Println(n.Short, n.Host, n.HostIP() != nil, n.Offset(), port)

	_, err = portmap.Parse("emqx@")
	fmt.Println(errors.Is(err, portmap.ErrEmptyHost))
	fmt.Println(err)
	// Output:
	// emqx12 127.0.0.1 true 12 4382
	// true
	// node name "emqx@": empty host: nothing after the '@'; want a hostname or an IP address, such as emqx@127.0.0.1
}

func ExamplePort() {
	for _, name := range []string{"emqx@h", "emqx12@h", "emqx-12@h", "emqx007@h", "emqx1a@h", "n60000@h"} {
		port, _ := portmap.Port(name, 0) // 0: the default base port, 4370
		fmt.Println(name, port)
	}
	_, err := portmap.Port("n600@h", 65000)
	fmt.Println(err)
	// Output:
	// emqx@h 4370
	// emqx12@h 4382
	// emqx-12@h 4382
	// emqx007@h 4377
	// emqx1a@h 4370
	// n60000@h 4370
	// node name "n600@h": port out of range: base port 65000 + offset 600 = 65600 is above 65535
}

func ExampleShortPort() {
	port, _ := portmap.ShortPort("emqx12", portmap.DefaultBasePort) // what epmd's port_please asks
	fmt.Println(port)
	_, err := portmap.ShortPort("remsh1", portmap.DefaultBasePort)
	fmt.Println(errors.Is(err, portmap.ErrRemoteShell))
	// Output:
	// 4382
	// true
}
