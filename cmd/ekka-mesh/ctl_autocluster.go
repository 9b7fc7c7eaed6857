package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// autoclusterActions are the arguments of ctl autocluster (after ekka's
// enable_autocluster with autocluster/1, disable_autocluster, and
// autocluster_enabled), status when none is given.
var autoclusterActions = []string{"status", "on", "off", "now"}

// autocluster controls the node's autocluster loop through the built-in
// $ekka.autocluster: on starts the loop, off ends it (until the node
// restarts), now runs one pass and waits for it (exit 1 when it did not
// link the node to every node discovered), status reports.
func (c *ctlRun) autocluster(args []string) int {
	action := "status"
	if len(args) == 1 {
		action = args[0]
	}
	what := fmt.Sprintf("autocluster %s on %s", action, c.node)
	p, err := json.Marshal(mesh.AutoclusterRequest{Action: action})
	if err != nil {
		return c.fail(what, err)
	}
	raw, err := c.cl.Call(c.ctx, mesh.MethodAutocluster, p)
	if err != nil {
		why := c.reason(err)
		if strings.Contains(why, "no handler") {
			why += " (the node runs an ekka-mesh without runtime autocluster control)"
		}
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: %s\n", what, why)
		return exitFail
	}
	var rep mesh.AutoclusterReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: the node sent an unreadable answer: %v\n", what, err)
		return exitFail
	}
	passFailed := rep.Pass != nil && !rep.Pass.OK
	if c.json {
		fmt.Fprintf(c.stdout, "%s\n", strings.TrimSpace(string(raw)))
	} else {
		switch action {
		case "on":
			fmt.Fprintf(c.stdout, "%s: autocluster on: %s\n", c.node, autoclusterState(rep.AutoclusterStatus))
		case "off":
			fmt.Fprintf(c.stdout, "%s: autocluster off until the node restarts (a restart starts the loop of cluster.discovery again); the node keeps its members\n", c.node)
		case "now":
			if !passFailed {
				fmt.Fprintf(c.stdout, "%s: autocluster pass: %s\n", c.node, rep.Pass.Result)
			}
		default:
			fmt.Fprintf(c.stdout, "Autocluster: %s\nPasses:      %d\nLast pass:   %s\n", autoclusterState(rep.AutoclusterStatus), rep.Passes, lastPass(rep.AutoclusterStatus))
		}
	}
	if passFailed {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: the pass did not link the node to every node discovered: %s\n", what, rep.Pass.Result)
		return exitFail
	}
	return exitOK
}

// autoclusterState says in words whether the loop is on and runs.
func autoclusterState(st mesh.AutoclusterStatus) string {
	switch {
	case !st.Configured:
		return "none (cluster.discovery is manual or singleton: the node joins only when told to)"
	case !st.Enabled:
		return "off (turned off; ctl autocluster on starts it again)"
	case st.Running:
		return "on, the loop is running"
	}
	return "on, the loop is done (it linked the node to every node discovered)"
}

// lastPass says what the last pass found.
func lastPass(st mesh.AutoclusterStatus) string {
	switch {
	case st.Passes == 0:
		return "(none yet)"
	case st.LastOK:
		return "ok, " + st.LastResult
	}
	return "failed, " + st.LastResult
}
