package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestSingletonNode runs a node with cluster.discovery = singleton next to
// an ordinary one: ctl join on the singleton fails naming the strategy,
// ctl join of the singleton from the other node fails with the singleton's
// refusal, and neither ends up with the other as a member. ctl itself
// connects to the singleton as to any node.
func TestSingletonNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	const s1, m2 = "s1@127.0.0.1", "m2@127.0.0.2"
	h := newHarness(t, buildBinary(t), "singleton-test-cookie", []string{s1, m2})
	common := []string{"--base-port", strconv.Itoa(h.base), "--cookie", h.cookie, "--set", "cluster.name=singletoncl"}
	h.run(t, s1, append([]string{"--name", s1, "--set", "cluster.discovery=singleton"}, common...)...)
	h.run(t, m2, append([]string{"--name", m2}, common...)...)
	const deadline = 30 * time.Second
	testnet.Eventually(t, deadline, "s1 running alone", h.view(t, []string{s1}, []string{s1}, []string{s1}, []string{}))
	testnet.Eventually(t, deadline, "m2 running alone", h.view(t, []string{m2}, []string{m2}, []string{m2}, []string{}))

	for _, tt := range []struct {
		name, on, target, why string
	}{
		{"join on the singleton", s1, m2, "singleton node: it never joins a cluster: " + s1 + " runs the singleton discovery strategy (cluster.discovery = singleton)"},
		{"join of the singleton", m2, s1, "node " + s1 + " is a singleton (discovery strategy singleton, cluster.discovery = singleton): it never joins a cluster and accepts no members"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := h.ctl(t, tt.on, "join", tt.target)
			assert.Equal(t, exitFail, code, stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, "ekka-mesh ctl: "+tt.on+" could not join "+tt.target+": ")
			assert.Contains(t, stderr, tt.why)
		})
	}

	// Neither took the other as a member, then or since.
	assert.Empty(t, h.view(t, []string{s1}, []string{s1}, []string{s1}, []string{})())
	assert.Empty(t, h.view(t, []string{m2}, []string{m2}, []string{m2}, []string{})())
}
