package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// members lists the node's members: node, status, version, GUID.
func (c *ctlRun) members(_ []string) int {
	_, info, code := c.info(c.ctx)
	if code != exitOK {
		return code
	}
	if c.json {
		return c.printJSON(info.Members)
	}
	printMembers(c.stdout, info.Members)
	return exitOK
}

// memberChange is one line of members --watch --json. Old is "" for a
// member that appeared, New is "" for one that was removed.
type memberChange struct {
	Time      time.Time `json:"time"`
	Node      string    `json:"node"`
	Old       string    `json:"old"`
	New       string    `json:"new"`
	GUID      string    `json:"guid,omitempty"`
	Version   string    `json:"version,omitempty"`
	Restarted bool      `json:"restarted,omitempty"`
}

// watchMembers polls the node's member table every --watch-interval and
// prints each change: first every member as it is (from "-"), then a line
// per status change, new member, removed member or restart (a new GUID).
// It ends with exit 0 when the command's context ends (SIGINT, SIGTERM)
// and exit 1 when the node stops answering.
func (c *ctlRun) watchMembers() int {
	var prev map[string]mesh.MemberInfo
	tick := time.NewTicker(c.watchEvery)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(c.parent, c.timeout)
		info, err := c.cl.Info(ctx)
		cancel()
		if c.parent.Err() != nil {
			return exitOK
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "ekka-mesh ctl: members --watch: lost %s: %s\n", c.node, c.reason(err))
			return exitFail
		}
		cur := make(map[string]mesh.MemberInfo, len(info.Members))
		for _, m := range info.Members {
			cur[m.Node] = m
		}
		if code := c.printChanges(time.Now(), prev, cur); code != exitOK {
			return code
		}
		prev = cur
		select {
		case <-c.parent.Done():
			return exitOK
		case <-tick.C:
		}
	}
}

// printChanges writes one line per difference between prev and cur, in
// node order.
func (c *ctlRun) printChanges(now time.Time, prev, cur map[string]mesh.MemberInfo) int {
	var changes []memberChange
	for node, m := range cur {
		old, known := prev[node]
		ch := memberChange{Time: now, Node: node, New: m.Status.String(), GUID: m.GUID.String(), Version: m.Version}
		switch {
		case !known:
		case old.GUID != m.GUID && !old.GUID.IsZero():
			ch.Old, ch.Restarted = old.Status.String(), true
		case old.Status != m.Status:
			ch.Old = old.Status.String()
		default:
			continue
		}
		changes = append(changes, ch)
	}
	for node, old := range prev {
		if _, ok := cur[node]; !ok {
			changes = append(changes, memberChange{Time: now, Node: node, Old: old.Status.String(), GUID: old.GUID.String(), Version: old.Version})
		}
	}
	slices.SortFunc(changes, func(a, b memberChange) int {
		if a.Node < b.Node {
			return -1
		}
		if a.Node > b.Node {
			return 1
		}
		return 0
	})
	for _, ch := range changes {
		if c.json {
			if code := c.printJSON(ch); code != exitOK {
				return code
			}
			continue
		}
		line := fmt.Sprintf("%s %s %s -> %s", ch.Time.Format("2006-01-02T15:04:05.000Z07:00"), ch.Node, orDash(ch.Old), orDash(ch.New))
		switch {
		case ch.New == "":
			line += " (removed)"
		case ch.Restarted:
			line += " (restarted, guid " + ch.GUID + ")"
		}
		if _, err := fmt.Fprintln(c.stdout, line); err != nil {
			fmt.Fprintf(c.stderr, "ekka-mesh ctl: members --watch: writing: %v\n", err)
			return exitFail
		}
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
