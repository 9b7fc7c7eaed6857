package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/refclient"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestConformance runs the reference client (internal/refclient, written
// from wire/PROTOCOL.md alone, sharing no code with wire, conn, mesh or the
// smux library) against a real `ekka-mesh run` process. Whatever the spec
// says and the node does not do fails here: the port rule, the handshake on
// all three lanes with its proofs, the smux framing of the control lane,
// the built-in methods and their JSON, the documented rejections, the
// goodbye of a link left incomplete, and the orderly close both ways.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a node process")
	}
	const (
		node    = "conform007@127.0.0.1" // port: base + 7 (leading zeros do not count)
		cookie  = "conformance-cookie-0123456789abcdef"
		cluster = "conformance"
	)
	h := newHarness(t, buildBinary(t), cookie, []string{node})
	p := h.run(t, node, "--name", node, "--base-port", strconv.Itoa(h.base), "--cookie", cookie,
		"--set", "cluster.name="+cluster, "--set", "cluster.autoheal=off")
	testnet.Eventually(t, 30*time.Second, "the node started", func() string {
		if strings.Contains(p.log.String(), "msg=started") {
			return ""
		}
		return "no started line in its log yet"
	})

	// Section 10: the client finds the node's port from its name alone.
	addr, err := refclient.Addr(node, h.base)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("127.0.0.1:%d", h.base+7), addr)
	cfg := func(name string) refclient.Config {
		return refclient.Config{Addr: addr, Target: node, Name: name, Cookie: cookie}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// Section 2: a link whose lanes do not all arrive is dropped with a
	// goodbye. Opened first, as it takes twice the handshake step deadline
	// (10 s) to expire; checked at the end.
	half := cfg("half@127.0.0.1")
	half.Hidden = true
	halfLanes, err := refclient.DialLanes(ctx, half, refclient.LaneData)
	require.NoError(t, err, "the data lane alone handshakes")
	defer halfLanes[0].Close()
	halfStart := time.Now()
	require.NoError(t, halfLanes[0].WriteFrame(refclient.TypeCall, 1, (&refclient.Call{TimeoutMillis: 30000, Method: "$ekka.pong"}).Append(nil)))

	c, err := refclient.Dial(ctx, cfg("conformance@127.0.0.1")) // hidden, empty cluster
	require.NoError(t, err, "handshake on the control, data and large lanes")
	assert.Equal(t, node, c.Peer().Name)
	assert.Equal(t, cluster, c.Peer().Cluster, "a hidden client that sent no cluster learns it from Challenge")

	call := func(method string, payload string) ([]byte, error) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var p []byte
		if payload != "" {
			p = []byte(payload)
		}
		return c.Call(cctx, method, p)
	}
	remoteCode := func(err error) uint16 {
		var re *refclient.RemoteError
		if errors.As(err, &re) {
			return re.Code
		}
		return 0
	}

	t.Run("built-in methods", func(t *testing.T) {
		reply, err := call("$ekka.pong", "")
		require.NoError(t, err)
		assert.Equal(t, "pong", string(reply))

		// $ekka.info: the JSON object of section 11.1, with exactly its keys.
		reply, err = call("$ekka.info", "")
		require.NoError(t, err)
		var info map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(reply, &info), "info is a JSON object: %s", reply)
		assert.ElementsMatch(t, []string{"node", "cluster", "running_nodes", "stopped_nodes", "members", "partitions"}, keysOf(info), "info: %s", reply)
		var in struct {
			Node, Cluster string
			Running       []string `json:"running_nodes"`
			StoppedNodes  []string `json:"stopped_nodes"`
			Partitions    []string
			Members       []map[string]any
		}
		require.NoError(t, json.Unmarshal(reply, &in))
		assert.Equal(t, node, in.Node)
		assert.Equal(t, cluster, in.Cluster)
		assert.Equal(t, []string{node}, in.Running, "a hidden client is no member")
		assert.NotNil(t, in.StoppedNodes, "lists are [] when empty, never null")
		require.Len(t, in.Members, 1)
		m := in.Members[0]
		assert.Equal(t, node, m["node"])
		assert.Equal(t, "up", m["status"])
		g := c.Peer().GUID
		assert.Equal(t, fmt.Sprintf("%x-%x", g[:8], g[8:]), m["guid"], "the GUID's text form")

		reply, err = call("$ekka.ping", `{"node":"`+node+`"}`)
		require.NoError(t, err)
		var rtt map[string]json.Number
		require.NoError(t, json.Unmarshal(reply, &rtt), "ping reply: %s", reply)
		assert.Contains(t, rtt, "rtt_us", "ping reply: %s", reply)

		// $ekka.call relays a call; its payload is base64 in the JSON.
		reply, err = call("$ekka.call", `{"node":"`+node+`","method":"$ekka.pong","payload":"aWdub3JlZA=="}`)
		require.NoError(t, err)
		assert.Equal(t, "pong", string(reply))

		// A bad request is a handler error (21) that names what was wrong.
		_, err = call("$ekka.join", `{}`)
		assert.Equal(t, uint16(refclient.CodeHandlerError), remoteCode(err), "%v", err)
		assert.ErrorContains(t, err, `"node" is empty`)
		_, err = call("$ekka.force_leave", `not json`)
		assert.Equal(t, uint16(refclient.CodeHandlerError), remoteCode(err), "%v", err)
		assert.ErrorContains(t, err, "bad request")

		_, err = call("no.such.method", "")
		assert.Equal(t, uint16(refclient.CodeNoHandler), remoteCode(err), "%v", err)

		// The node is alone: $ekka.leave has nothing to do and says so with
		// its own code, and $ekka.status reports the node itself running
		// and a stranger not a member.
		_, err = call("$ekka.leave", "")
		assert.Equal(t, uint16(refclient.CodeNotInCluster), remoteCode(err), "%v", err)
		assert.ErrorContains(t, err, "not in a cluster")
		reply, err = call("$ekka.status", `{"node":"`+node+`"}`)
		require.NoError(t, err)
		var report map[string]any
		require.NoError(t, json.Unmarshal(reply, &report), "status reply: %s", reply)
		assert.Equal(t, "running", report["status"], "status reply: %s", reply)
		assert.Equal(t, "up", report["member_status"], "status reply: %s", reply)
		assert.Equal(t, node, report["seen_from"], "status reply: %s", reply)
		reply, err = call("$ekka.status", `{"node":"stranger@127.0.0.1"}`)
		require.NoError(t, err)
		assert.JSONEq(t, `{"node":"stranger@127.0.0.1","seen_from":"`+node+`","status":"not a member"}`, string(reply))
	})

	t.Run("every documented built-in method is served", func(t *testing.T) {
		documented := documentedMethods(t)
		require.NotEmpty(t, documented)
		for _, method := range documented {
			if method == "$ekka.leave" {
				continue // it would take the node out of its cluster; served: see mesh's tests
			}
			// A request that is not JSON: a method that takes none answers,
			// one that does refuses it, neither is "no such handler".
			_, err := call(method, "not json")
			assert.NotEqual(t, uint16(refclient.CodeNoHandler), remoteCode(err), "%s is documented but not served: %v", method, err)
		}
	})

	t.Run("orderly close by the client", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		require.NoError(t, c.Close(cctx, refclient.CodeShutdown, "conformance test done"),
			"after our goodbye the node closes every lane, cleanly")
	})

	t.Run("rejections", func(t *testing.T) {
		for _, r := range []struct {
			name   string
			change func(*refclient.Config)
			code   uint16
			reason string
		}{
			{"bad cookie", func(c *refclient.Config) { c.Cookie = "not-the-cookie" }, refclient.CodeBadCookie, "cookie"},
			{"wrong cluster", func(c *refclient.Config) { c.Cluster = "other" }, refclient.CodeWrongCluster, `"other"`},
			{"wrong node", func(c *refclient.Config) { c.Target = "other7@127.0.0.1" }, refclient.CodeWrongNode, "same base port"},
		} {
			t.Run(r.name, func(t *testing.T) {
				bad := cfg("rejected@127.0.0.1")
				bad.Hidden = true
				r.change(&bad)
				_, err := refclient.DialLanes(ctx, bad, refclient.LaneControl)
				var rej *refclient.RejectedError
				require.ErrorAs(t, err, &rej)
				assert.Equal(t, uint8(refclient.TypeReject), rej.Type)
				assert.Equal(t, r.code, rej.Code, "%v", err)
				assert.Contains(t, rej.Reason, r.reason)
			})
		}
	})

	t.Run("incomplete link gets a goodbye", func(t *testing.T) {
		f, err := halfLanes[0].ReadFrame(20 * time.Second)
		require.NoError(t, err, "want a goodbye, not a bare close")
		require.Equal(t, uint8(refclient.TypeGoodbye), f.Type, "the early call gets no reply: the link never completed")
		var g refclient.Reject
		require.NoError(t, g.Decode(f.Body))
		assert.Equal(t, uint16(refclient.CodeTimeout), g.Code)
		assert.Regexp(t, `opened the data lane\(s\) but not control and large within 10s`, g.Reason)
		assert.GreaterOrEqual(t, time.Since(halfStart), 9*time.Second, "dropped at twice the 5 s step deadline")
		_, err = halfLanes[0].ReadFrame(5 * time.Second)
		assert.Error(t, err, "the goodbye is the last frame")
	})

	t.Run("orderly close by the node", func(t *testing.T) {
		c2, err := refclient.Dial(ctx, cfg("conformance2@127.0.0.1"))
		require.NoError(t, err)
		reply, err := c2.Call(ctx, "$ekka.pong", nil)
		require.NoError(t, err)
		require.Equal(t, "pong", string(reply))
		assert.Equal(t, 0, p.term(t), "the node stops cleanly")
		require.NoError(t, c2.Wait(ctx), "every lane ends cleanly after the goodbye")
		// The control lane's goodbye comes first; those of the other lanes
		// are best effort (section 2): this client closes its end of the
		// control lane as soon as it reads the first, which may end the
		// link before they are written.
		goodbyes := c2.Goodbyes()
		require.NotEmpty(t, goodbyes, "a goodbye before the lanes end")
		lanes := map[uint8]bool{}
		for _, g := range goodbyes {
			assert.Equal(t, uint16(refclient.CodeShutdown), g.Code, "%v", &g)
			assert.Equal(t, "node "+node+" is stopping", g.Reason)
			lanes[g.Lane] = true
		}
		assert.True(t, lanes[refclient.LaneControl], "a goodbye on the control lane, inside the control stream: %v", goodbyes)
	})
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// documentedMethods returns the built-in methods PROTOCOL.md lists: the
// first cell of each row of its built-in methods table.
func documentedMethods(t *testing.T) []string {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join("..", "..", "wire", "PROTOCOL.md"))
	require.NoError(t, err)
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\$ekka\\.[a-z_]+)` \\|").FindAllStringSubmatch(string(spec), -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}
