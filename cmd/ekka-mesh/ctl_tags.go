package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// tags prints the node's tags, or with set K=V ... replaces them
// (mesh.MethodTags); set alone clears them.
func (c *ctlRun) tags(args []string) int {
	req := mesh.TagsRequest{}
	if len(args) > 0 {
		if args[0] != "set" {
			fmt.Fprintf(c.stderr, "ekka-mesh ctl: tags %q: want no argument (print the tags) or set K=V ... (replace them)\n", args[0])
			return exitUsage
		}
		req.Action, req.Tags = "set", map[string]string{}
		for _, pair := range args[1:] {
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				fmt.Fprintf(c.stderr, "ekka-mesh ctl: tags set: %q has no '=', want K=V, such as role=db\n", pair)
				return exitUsage
			}
			if _, dup := req.Tags[k]; dup {
				fmt.Fprintf(c.stderr, "ekka-mesh ctl: tags set: %s is given twice, want each tag once\n", k)
				return exitUsage
			}
			req.Tags[k] = v
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return c.fail("tags of "+c.node, err)
	}
	raw, err := c.cl.Call(c.ctx, mesh.MethodTags, body)
	if err != nil {
		return c.fail("tags of "+c.node, err)
	}
	var rep mesh.TagsReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: tags of %s: the node sent an unreadable answer: %v\n", c.node, err)
		return exitFail
	}
	if c.json {
		return c.printJSON(rep)
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", rep.Node, orNoneTags(rep.Tags))
	return exitOK
}

// orNoneTags writes tags as ctl prints them: k=v pairs sorted by key,
// "(none)" when there are none.
func orNoneTags(tags map[string]string) string {
	if len(tags) == 0 {
		return "(none)"
	}
	return mesh.TagFilter(tags).String()
}

// taggedReply is one node's outcome of call --tags, for --json.
type taggedReply struct {
	Reply string `json:"reply,omitempty"`
	Error string `json:"error,omitempty"`
}

// callTagged is call --tags: the node's running members whose tags match
// (from its Info), each called through the node ($ekka.call) in name
// order. Each reply is printed after "NODE: " as call prints a reply; a
// failure goes to stderr and makes the exit status 1, and so does no
// match.
func (c *ctlRun) callTagged(args []string) int {
	method := args[0]
	var payload []byte
	if len(args) == 2 {
		payload = []byte(args[1])
	}
	_, info, code := c.info(c.ctx)
	if code != exitOK {
		return code
	}
	var nodes []string
	for _, m := range info.Members {
		if m.Status != mesh.StatusDown && c.tagFilter.Match(m.Tags) {
			nodes = append(nodes, m.Node)
		}
	}
	if len(nodes) == 0 {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: call --tags %s: no running member of %s's cluster has these tags (ctl members shows them)\n", c.tagFilter, c.node)
		return exitFail
	}
	results := make(map[string]taggedReply, len(nodes))
	code = exitOK
	for _, node := range nodes {
		reply, err := c.admin(mesh.MethodCall, mesh.AdminRequest{Node: node, Method: method, Payload: payload})
		if err != nil {
			code = exitFail
			results[node] = taggedReply{Error: c.reason(err)}
			if !c.json {
				fmt.Fprintf(c.stderr, "ekka-mesh ctl: call %s on %s via %s: %s\n", method, node, c.node, c.reason(err))
			}
			continue
		}
		results[node] = taggedReply{Reply: string(reply)}
		if c.json {
			continue
		}
		if _, err := fmt.Fprintf(c.stdout, "%s: ", node); err == nil {
			err = writeReply(c.stdout, reply, c.raw)
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "ekka-mesh ctl: writing the reply: %v\n", err)
			return exitFail
		}
	}
	if c.json {
		if jc := c.printJSON(results); jc != exitOK {
			return jc
		}
	}
	return code
}

// keySetting is a key's value in s as a SIGHUP compares it: for a family
// (node.tags.KEY), every key of it that s sets with its value.
func keySetting(s *config.Settings, k config.KeyInfo) string {
	if !k.Family {
		v, _ := s.Get(k.Key)
		return v
	}
	pairs := mesh.TagFilter{} // written as key=value pairs, sorted
	for _, key := range s.FamilyKeys(k.Key) {
		pairs[key], _ = s.Get(key)
	}
	return pairs.String()
}
