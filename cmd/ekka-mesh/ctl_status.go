package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// ctl's exit statuses for ekka's answers: status NODE's (running exits 0,
// stopped exitNotMet like --require-up: the node answered and what was
// asked is not met) and join's and leave's when there is nothing to do.
const (
	// exitAlreadyInCluster: join NODE2 found NODE2 in the node's cluster
	// already (ekka's {error, {already_in_cluster, Node}}).
	exitAlreadyInCluster = 4
	// exitNotInCluster: leave found the node alone, with no cluster to
	// leave (ekka's {error, node_not_in_cluster}).
	exitNotInCluster = 5
	// exitNotMember: status NODE found NODE not a member of the node's
	// cluster (ekka_cluster:status/1's false).
	exitNotMember = 6
)

// statusOf answers status NODE: NODE as the node sees it (ekka's
// ekka_cluster:status(Node)), from the built-in method $ekka.status. It
// exits 0 when NODE is running, exitNotMet when it is stopped and
// exitNotMember when it is not a member.
func (c *ctlRun) statusOf(target string) int {
	what := fmt.Sprintf("status of %s on %s", target, c.node)
	raw, err := c.admin(mesh.MethodStatus, mesh.AdminRequest{Node: target})
	if err != nil {
		if errors.Is(err, mesh.ErrNoHandler) {
			fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: the node does not serve %s (an older ekka-mesh); use status without NODE\n", what, mesh.MethodStatus)
			return exitFail
		}
		return c.fail(what, err)
	}
	var r mesh.NodeReport
	if err := json.Unmarshal(raw, &r); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: the node sent an unreadable answer: %v\n", what, err)
		return exitFail
	}
	if c.json {
		// The node's own encoding, as status prints it.
		fmt.Fprintf(c.stdout, "%s\n", strings.TrimSpace(string(raw)))
	} else {
		printReport(c.stdout, r)
	}
	switch r.Status {
	case mesh.NodeRunning:
		return exitOK
	case mesh.NodeStopped:
		return exitNotMet
	}
	return exitNotMember
}

// printReport writes a NodeReport: the verdict, then the member's entry.
func printReport(w io.Writer, r mesh.NodeReport) {
	fmt.Fprintf(w, "%s is %s, as seen from %s\n", r.Node, r.Status, r.SeenFrom)
	if r.Status == mesh.NodeNotMember {
		return
	}
	orNone := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(w, "Status:   %s since %s\n", r.MemberStatus, r.Since.Format(time.RFC3339))
	fmt.Fprintf(w, "GUID:     %s\n", r.GUID)
	fmt.Fprintf(w, "Version:  %s\n", orNone(r.Version))
	fmt.Fprintf(w, "Services: %s\n", orNone(strings.Join(r.Services, ", ")))
	if len(r.Tags) > 0 {
		fmt.Fprintf(w, "Tags:     %s\n", orNoneTags(r.Tags)) // ctl_tags.go
	}
	if r.Partitioned {
		fmt.Fprintf(w, "Partition: recorded on %s (autoheal heals it, or ctl join on the side that gives way)\n", r.SeenFrom)
	}
	if r.Suspended != "" {
		fmt.Fprintf(w, "Suspended: %s\n", r.Suspended)
	}
}
