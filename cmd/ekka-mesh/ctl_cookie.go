package main

import (
	"encoding/json"
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// rotateCookie is ctl rotate-cookie NEW [--keep-previous]: the node's
// cookie becomes NEW (mesh.MethodRotateCookie). ctl itself connected with
// the cookie the node holds now.
func (c *ctlRun) rotateCookie(args []string) int {
	body, err := json.Marshal(mesh.RotateCookieRequest{Cookie: args[0], KeepPrevious: c.keepPrevious})
	if err != nil {
		return c.fail("rotate the cookie of "+c.node, err)
	}
	raw, err := c.cl.Call(c.ctx, mesh.MethodRotateCookie, body)
	if err != nil {
		return c.fail("rotate the cookie of "+c.node, err)
	}
	var rep mesh.RotateCookieReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: rotate the cookie of %s: the node sent an unreadable answer: %v\n", c.node, err)
		return exitFail
	}
	if c.json {
		return c.printJSON(rep)
	}
	fmt.Fprintf(c.stdout, "%s: cookie rotated; %d previous cookies still accepted\n", rep.Node, rep.Previous)
	return exitOK
}
